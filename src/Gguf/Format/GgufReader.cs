using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using Gguf.IO;

namespace Gguf.Format;

/// <summary>
/// Parses and validates GGUF headers. It does no I/O of its own beyond the stream overload: the input is
/// the head of a file (typically its mapping) plus the file's size. Every count read from the file is
/// checked against the bytes that remain before anything is sized from it, and every rule of llama.cpp's
/// <c>gguf_init_from_reader</c> is enforced, plus the gaps listed in docs/security.md.
/// </summary>
public static class GgufReader
{
    /// <summary>The magic bytes <c>GGUF</c>.</summary>
    public static ReadOnlySpan<byte> Magic => "GGUF"u8;

    /// <summary>The default alignment when <c>general.alignment</c> is absent.</summary>
    public const uint DefaultAlignment = 32;

    // Smallest encodings, used to bound counts by the bytes left: a KV is a key length (8), a
    // non-empty key (1), a type (4) and a value of at least 1 byte; a tensor info is a name length (8),
    // n_dims (4), a type (4) and an offset (8).
    private const int MinMetadataEntryBytes = 14;
    private const int MinTensorInfoBytes = 24;

    /// <summary>Parses a whole file held in memory.</summary>
    public static GgufHeader Read(ReadOnlyMemory<byte> file, GgufReaderOptions? options = null)
    {
        options ??= GgufReaderOptions.Default;

        // The head is capped as for a mapped file, so MaxHeaderBytes means the same on every entry point.
        ReadOnlySpan<byte> head = file.Span[..Math.Min(file.Length, options.MaxHeaderBytes)];
        return Parse(head, file.Length, options, new MemoryByteSource(file), canGrow: false);
    }

    /// <summary>
    /// Parses the header from a seekable stream positioned at the start of a GGUF file, reading only as
    /// much of it as the header needs. Tensor data is validated against the stream's length.
    /// </summary>
    public static GgufHeader Read(Stream stream, GgufReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek || !stream.CanRead)
        {
            throw new ArgumentException("the stream must be readable and seekable", nameof(stream));
        }

        options ??= GgufReaderOptions.Default;
        long fileSize = stream.Length - stream.Position;
        int limit = (int)Math.Min(Math.Min(fileSize, options.MaxHeaderBytes), Array.MaxLength);
        var buffer = new byte[Math.Min(limit, 64 * 1024)];
        int filled = ReadAtLeast(stream, buffer, 0);
        while (true)
        {
            if (filled < buffer.Length)
            {
                // The stream ended before its Length said: the file is what it gave, and cannot grow.
                fileSize = filled;
                limit = filled;
            }

            try
            {
                return Parse(buffer.AsSpan(0, filled), fileSize, options, new MemoryByteSource(buffer.AsMemory(0, filled)), canGrow: filled < limit);
            }
            catch (HeadExhaustedException)
            {
                // Double, never jump to what a field claims: a large header costs O(n) bytes read in total,
                // and a stream that lies about its length costs at most a few times the bytes it has.
                long wanted = Math.Min(limit, (long)buffer.Length * 2);
                Array.Resize(ref buffer, (int)wanted);
                filled = ReadAtLeast(stream, buffer, filled);
            }
        }
    }

    internal static GgufHeader Parse(ReadOnlySpan<byte> head, long fileSize, GgufReaderOptions options, GgufByteSource source, bool canGrow, GgufHeadExtender? extender = null)
    {
        var cursor = new GgufCursor(head, fileSize, canGrow, extender);

        // Magic is compared byte by byte, so it says nothing about endianness.
        ReadOnlySpan<byte> magic = cursor.ReadBytes(4, "magic");
        if (!magic.SequenceEqual(Magic))
        {
            ThrowHelper.Format(GgufErrorCode.BadMagic, 0, $"bad magic '{Printable(magic)}', expected 'GGUF'", "magic");
        }

        uint version = cursor.ReadUInt32("version");
        ValidateVersion(version);

        ulong tensorCount = cursor.ReadUInt64("tensor_count");
        ulong metadataCount = cursor.ReadUInt64("metadata_kv_count");
        if (tensorCount > (ulong)options.MaxTensorCount)
        {
            ThrowHelper.Format(GgufErrorCode.TensorCountOutOfRange, 8, $"tensor count {(long)tensorCount} must be in [0, {options.MaxTensorCount}]", "tensor_count");
        }

        if (metadataCount > (ulong)options.MaxMetadataCount)
        {
            ThrowHelper.Format(GgufErrorCode.MetadataCountOutOfRange, 16, $"metadata count {(long)metadataCount} must be in [0, {options.MaxMetadataCount}]", "metadata_kv_count");
        }

        long minimumBytes = ((long)metadataCount * MinMetadataEntryBytes) + ((long)tensorCount * MinTensorInfoBytes);
        if (minimumBytes > cursor.FileRemaining)
        {
            // Blame the metadata count when it alone cannot fit, else the tensor count.
            bool metadataAlone = (long)metadataCount * MinMetadataEntryBytes > cursor.FileRemaining;
            ThrowHelper.Format(
                GgufErrorCode.CountExceedsFile,
                metadataAlone ? 16 : 8,
                $"{tensorCount} tensors and {metadataCount} metadata entries need at least {minimumBytes} bytes, but only {cursor.FileRemaining} remain",
                metadataAlone ? "metadata_kv_count" : "tensor_count");
        }

        // Capacities come from counts already bounded by the bytes present.
        var entries = new List<GgufMetadataEntry>((int)metadataCount);
        var byKey = new Dictionary<string, int>((int)metadataCount, StringComparer.Ordinal);
        uint alignment = DefaultAlignment;
        for (long i = 0; i < (long)metadataCount; i++)
        {
            GgufMetadataEntry entry = ReadEntry(ref cursor, options, source);
            if (!byKey.TryAdd(entry.Key, entries.Count))
            {
                ThrowHelper.Format(GgufErrorCode.DuplicateKey, entry.Offset, $"duplicate key (first at offset {entries[byKey[entry.Key]].Offset})", "key", entry.Key);
            }

            if (entry.Key == GgufKeys.Alignment)
            {
                alignment = ValidateAlignment(entry, options);
            }

            entries.Add(entry);
        }

        // A record is larger than the smallest tensor info, so the list grows as infos are read rather than
        // being sized from the count (which is only bounded by the bytes left).
        var records = new List<TensorRecord>((int)Math.Min(tensorCount, 4096));
        var tensorsByName = new Dictionary<string, int>((int)tensorCount, StringComparer.Ordinal);
        for (int i = 0; i < (int)tensorCount; i++)
        {
            TensorRecord record = ReadTensorInfo(ref cursor, options);
            if (!tensorsByName.TryAdd(record.Name, i))
            {
                ThrowHelper.Format(GgufErrorCode.DuplicateTensorName, record.InfoOffset, $"duplicate tensor name (first is tensor {tensorsByName[record.Name]})", "tensor.name", tensorName: record.Name);
            }

            records.Add(record);
        }

        long headerEnd = cursor.Position;
        long dataOffset = headerEnd;
        long dataSectionSize = 0;
        if (records.Count > 0)
        {
            dataOffset = Align.Up(headerEnd, alignment);
            if (dataOffset > fileSize)
            {
                ThrowHelper.Format(GgufErrorCode.DataOffsetPastEnd, headerEnd, $"the data section would start at {dataOffset}, past the end of the {fileSize}-byte file", "data");
            }

            dataSectionSize = ValidateTensorData(records, dataOffset, alignment, fileSize, options);
        }

        // The infos are built once every offset is known, so they are immutable from the start.
        var tensors = new GgufTensorInfo[records.Count];
        for (int i = 0; i < tensors.Length; i++)
        {
            TensorRecord r = records[i];
            tensors[i] = new GgufTensorInfo(i, r.Name, r.Dimensions, r.TypeInfo, r.Offset, dataOffset + r.Offset, r.ByteSize, r.ElementCount, r.InfoOffset);
        }

        var metadata = new GgufMetadata(entries, byKey);
        return new GgufHeader(version, alignment, headerEnd, dataOffset, fileSize, metadata, tensors, tensorsByName, dataSectionSize);
    }

    private static void ValidateVersion(uint version)
    {
        const string supported = "supported versions are 2 and 3";
        if (version is 2 or 3)
        {
            return;
        }

        if (version != 0 && (version & 0xFFFF) == 0)
        {
            // A big-endian 3 reads as 0x03000000 on a little-endian host (llama.cpp #13943).
            ThrowHelper.Format(GgufErrorCode.BigEndianFile, 4, $"version reads as {version} (0x{version:X8}): this is a big-endian file, and only little-endian files are supported", "version");
        }

        string description = version == 1
            ? $"GGUF version 1 is no longer supported; {supported}"
            : $"GGUF version {version} is not supported; {supported}";
        ThrowHelper.Format(GgufErrorCode.UnsupportedVersion, 4, description, "version");
    }

    private static uint ValidateAlignment(GgufMetadataEntry entry, GgufReaderOptions options)
    {
        if (entry.Type != GgufValueType.UInt32)
        {
            ThrowHelper.Format(GgufErrorCode.AlignmentWrongType, entry.ValueOffset, $"must be of type uint32 but is {GgufValueTypes.Name(entry.Type)}", "value", entry.Key);
        }

        uint alignment = entry.GetUInt32();
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        {
            ThrowHelper.Format(GgufErrorCode.AlignmentNotPowerOfTwo, entry.ValueOffset, $"alignment {alignment} is not a power of 2", "value", entry.Key);
        }

        if (alignment > options.MaxAlignment)
        {
            ThrowHelper.Format(GgufErrorCode.AlignmentTooLarge, entry.ValueOffset, $"alignment {alignment} is above the limit of {options.MaxAlignment}", "value", entry.Key);
        }

        return alignment;
    }

    private static GgufMetadataEntry ReadEntry(ref GgufCursor cursor, GgufReaderOptions options, GgufByteSource source)
    {
        long entryOffset = cursor.Position;
        string key = ReadName(ref cursor, options, options.MaxKeyBytes, isKey: true, tensorName: null);

        long typeOffset = cursor.Position;
        int typeId = cursor.ReadInt32("value_type", key);
        if (!GgufValueTypes.IsDefined(typeId))
        {
            ThrowHelper.Format(GgufErrorCode.InvalidValueType, typeOffset, $"invalid value type {typeId}", "value_type", key);
        }

        var type = (GgufValueType)typeId;
        long valueOffset = cursor.Position;
        ulong bits = 0;
        GgufArray? array = null;
        switch (type)
        {
            case GgufValueType.String:
                SkipString(ref cursor, options, key);
                break;
            case GgufValueType.Array:
                array = ReadArray(ref cursor, options, source, key, depth: 1);
                break;
            default:
                int size = GgufValueTypes.FixedSize(type);
                ReadOnlySpan<byte> raw = cursor.ReadBytes(size, "value", key);
                bits = GgufMetadataEntry.DecodeScalar(type, raw);
                if (type == GgufValueType.Bool && bits > 1)
                {
                    ThrowHelper.Format(GgufErrorCode.InvalidBool, valueOffset, $"bool value is {bits}, not 0 or 1", "value", key);
                }

                break;
        }

        return new GgufMetadataEntry(source, key, type, entryOffset, valueOffset, cursor.Position - (int)valueOffset, bits, array);
    }

    private static GgufArray ReadArray(ref GgufCursor cursor, GgufReaderOptions options, GgufByteSource source, string key, int depth)
    {
        long typeOffset = cursor.Position;
        int elementTypeId = cursor.ReadInt32("array.element_type", key);
        if (!GgufValueTypes.IsDefined(elementTypeId))
        {
            ThrowHelper.Format(GgufErrorCode.InvalidValueType, typeOffset, $"invalid array element type {elementTypeId}", "array.element_type", key);
        }

        var elementType = (GgufValueType)elementTypeId;
        if (elementType == GgufValueType.Array && depth >= options.MaxArrayDepth)
        {
            ThrowHelper.Format(GgufErrorCode.ArrayNestingTooDeep, typeOffset, $"arrays are nested deeper than the limit of {options.MaxArrayDepth}", "array.element_type", key);
        }

        long countOffset = cursor.Position;
        ulong count = cursor.ReadUInt64("array.count", key);
        if (count > (ulong)options.MaxArrayElements)
        {
            ThrowHelper.Format(GgufErrorCode.ArrayTooLong, countOffset, $"array has {count} elements, above the limit of {options.MaxArrayElements}", "array.count", key);
        }

        int dataStart = cursor.Position;
        int fixedSize = GgufValueTypes.FixedSize(elementType);

        // Strings need at least their 8-byte length; nested arrays their 12-byte type and count.
        int minimumElementBytes = fixedSize != 0 ? fixedSize : elementType == GgufValueType.String ? 8 : 12;
        if (!GgmlTypeInfo.TryMultiply((long)count, minimumElementBytes, out long minimumBytes) || minimumBytes > cursor.FileRemaining)
        {
            ThrowHelper.Format(GgufErrorCode.ArrayPastEnd, countOffset, $"{count} elements of {GgufValueTypes.Name(elementType)} need at least {(decimal)count * minimumElementBytes} bytes, but only {cursor.FileRemaining} remain", "array.count", key);
        }

        if (fixedSize != 0)
        {
            // Checked as a long first: elements of more than 2 GiB must not become a negative int length.
            cursor.Need(minimumBytes, "array.data", key);
            ReadOnlySpan<byte> elements = cursor.ReadBytes((int)minimumBytes, "array.data", key);
            if (elementType == GgufValueType.Bool)
            {
                int bad = elements.IndexOfAnyExcept((byte)0, (byte)1);
                if (bad >= 0)
                {
                    ThrowHelper.Format(GgufErrorCode.InvalidBool, dataStart + bad, $"bool element {bad} is {elements[bad]}, not 0 or 1", "array.data", key);
                }
            }
        }
        else if (elementType == GgufValueType.String)
        {
            // The fast walk stops at the first element it cannot vouch for; the checked path takes
            // over from there and reports any error exactly as it would have.
            for (ulong i = cursor.SkipStrings(count, (ulong)options.MaxStringBytes); i < count; i++)
            {
                SkipString(ref cursor, options, key);
            }
        }
        else
        {
            for (ulong i = 0; i < count; i++)
            {
                ReadArray(ref cursor, options, source, key, depth + 1);
            }
        }

        return new GgufArray(source, key, elementType, (long)count, depth, dataStart, cursor.Position - dataStart);
    }

    private static void SkipString(ref GgufCursor cursor, GgufReaderOptions options, string key)
    {
        long lengthOffset = cursor.Position;
        ulong length = cursor.ReadUInt64("string.length", key);
        CheckStringLength(ref cursor, options, length, lengthOffset, key, null);
        cursor.Skip((long)length, "string.data", key);
    }

    private static void CheckStringLength(ref GgufCursor cursor, GgufReaderOptions options, ulong length, long lengthOffset, string? key, string? tensorName)
    {
        if (length > (ulong)options.MaxStringBytes)
        {
            ThrowHelper.Format(GgufErrorCode.StringTooLong, lengthOffset, $"string length {length} exceeds the limit of {options.MaxStringBytes}", "string.length", key, tensorName);
        }

        if (length > (ulong)cursor.FileRemaining)
        {
            ThrowHelper.Format(GgufErrorCode.StringPastEnd, lengthOffset, $"string length {length} exceeds the {cursor.FileRemaining} bytes remaining", "string.length", key, tensorName);
        }
    }

    /// <summary>Reads a key or tensor name: bounded, non-empty for keys, valid UTF-8 without NUL.</summary>
    private static string ReadName(ref GgufCursor cursor, GgufReaderOptions options, int maxBytes, bool isKey, string? tensorName)
    {
        long lengthOffset = cursor.Position;
        string field = isKey ? "key" : "tensor.name";
        ulong length = cursor.ReadUInt64(field + ".length");
        CheckStringLength(ref cursor, options, length, lengthOffset, null, tensorName);
        if (isKey && length == 0)
        {
            ThrowHelper.Format(GgufErrorCode.EmptyKey, lengthOffset, "key is empty", field);
        }

        if (length > (ulong)maxBytes)
        {
            ThrowHelper.Format(
                isKey ? GgufErrorCode.KeyTooLong : GgufErrorCode.TensorNameTooLong,
                lengthOffset,
                $"{(isKey ? "key" : "tensor name")} is {length} bytes long, above the limit of {maxBytes}",
                field);
        }

        ReadOnlySpan<byte> bytes = cursor.ReadBytes((int)length, field);

        // Names are nearly always ASCII: bytes 1-127 are valid UTF-8 without NUL, checked in one pass.
        if (!bytes.ContainsAnyExceptInRange((byte)1, (byte)0x7F))
        {
            return Encoding.ASCII.GetString(bytes);
        }

        if (bytes.Contains((byte)0) || !Utf8.IsValid(bytes))
        {
            // llama.cpp compares names with strcmp, so "a\0x" and "a\0y" would collide there (reference G4).
            ThrowHelper.Format(GgufErrorCode.InvalidName, lengthOffset, $"{(isKey ? "key" : "tensor name")} '{Printable(bytes)}' is not valid UTF-8 or contains a NUL byte", field);
        }

        return Encoding.UTF8.GetString(bytes);
    }

    private static TensorRecord ReadTensorInfo(ref GgufCursor cursor, GgufReaderOptions options)
    {
        long infoOffset = cursor.Position;
        string name = ReadName(ref cursor, options, options.MaxTensorNameBytes, isKey: false, tensorName: null);

        long dimsOffset = cursor.Position;
        uint dimensionCount = cursor.ReadUInt32("tensor.n_dims", tensorName: name);
        if (dimensionCount > (uint)options.MaxDimensions)
        {
            ThrowHelper.Format(GgufErrorCode.TooManyDimensions, dimsOffset, $"{dimensionCount} dimensions, above the limit of {options.MaxDimensions}", "tensor.n_dims", tensorName: name);
        }

        var dimensions = new long[dimensionCount];
        long elementCount = 1;
        for (int d = 0; d < dimensions.Length; d++)
        {
            long dimensionOffset = cursor.Position;
            long ne = cursor.ReadInt64("tensor.ne", tensorName: name);
            if (ne < 0)
            {
                ThrowHelper.Format(GgufErrorCode.NegativeDimension, dimensionOffset, $"dimension {d} is {ne}", "tensor.ne", tensorName: name);
            }

            if (ne == 0 && !options.AllowZeroDimensions)
            {
                ThrowHelper.Format(GgufErrorCode.ZeroDimension, dimensionOffset, $"dimension {d} is 0", "tensor.ne", tensorName: name);
            }

            // llama.cpp requires the element count to stay below INT64_MAX.
            if (!GgmlTypeInfo.TryMultiply(elementCount, ne, out elementCount) || elementCount == long.MaxValue)
            {
                ThrowHelper.Format(GgufErrorCode.ElementCountOverflow, dimensionOffset, $"the element count overflows at dimension {d} ({ne})", "tensor.ne", tensorName: name);
            }

            dimensions[d] = ne;
        }

        long typeOffset = cursor.Position;
        int typeId = cursor.ReadInt32("tensor.type", tensorName: name);
        if (!GgmlTypeInfo.TryGet(typeId, out GgmlTypeInfo typeInfo))
        {
            if (GgmlTypeInfo.IsRemoved(typeId))
            {
                ThrowHelper.Format(GgufErrorCode.RemovedTensorType, typeOffset, $"ggml type {typeId} was removed from ggml", "tensor.type", tensorName: name);
            }

            ThrowHelper.Format(GgufErrorCode.InvalidTensorType, typeOffset, $"invalid ggml type {typeId}; types are 0 to {GgmlTypeInfo.TypeIdCount - 1}", "tensor.type", tensorName: name);
        }

        long ne0 = dimensions.Length > 0 ? dimensions[0] : 1;
        if (ne0 % typeInfo.BlockSize != 0)
        {
            // Point at ne[0] itself; a scalar (n_dims 0) has no ne[0], so point at n_dims.
            ThrowHelper.Format(GgufErrorCode.NotBlockMultiple, dimensions.Length > 0 ? dimsOffset + 4 : dimsOffset, $"{ne0} elements per row is not a multiple of the {typeInfo.Name} block size {typeInfo.BlockSize}", "tensor.ne", tensorName: name);
        }

        if (!typeInfo.TryGetByteSize(dimensions, out long byteSize))
        {
            ThrowHelper.Format(GgufErrorCode.TensorSizeOverflow, dimsOffset, $"the size in bytes of shape [{string.Join(", ", dimensions)}] of {typeInfo.Name} does not fit in 63 bits", "tensor.ne", tensorName: name);
        }

        long offsetOffset = cursor.Position;
        ulong offset = cursor.ReadUInt64("tensor.offset", tensorName: name);
        if (offset > long.MaxValue)
        {
            ThrowHelper.Format(GgufErrorCode.TensorDataPastEnd, offsetOffset, $"offset {offset} is past any file", "tensor.offset", tensorName: name);
        }

        return new TensorRecord(name, dimensions, typeInfo, (long)offset, byteSize, elementCount, infoOffset);
    }

    /// <summary>Checks alignment, packing, bounds and overlap of the tensor data; returns the data section's size.</summary>
    private static long ValidateTensorData(List<TensorRecord> tensors, long dataOffset, uint alignment, long fileSize, GgufReaderOptions options)
    {
        // The alignment is a validated power of two and offsets and sizes are not negative, so masks
        // stand in for the remainders (a 64-bit division per use otherwise).
        long mask = alignment - 1L;
        long running = 0;
        foreach (TensorRecord tensor in tensors)
        {
            // The offset field's position is only needed for an error, so it is computed there.
            if ((tensor.Offset & mask) != 0)
            {
                ThrowHelper.Format(GgufErrorCode.TensorOffsetMisaligned, OffsetFieldPosition(tensor), $"offset {tensor.Offset} is not a multiple of the alignment {alignment}", "tensor.offset", tensorName: tensor.Name);
            }

            if (options.RequirePackedTensors && tensor.Offset != running)
            {
                ThrowHelper.Format(GgufErrorCode.TensorOffsetNotPacked, OffsetFieldPosition(tensor), $"offset {tensor.Offset} is not the packed offset {running}", "tensor.offset", tensorName: tensor.Name);
            }

            // Padding is computed with checked arithmetic: GGML_PAD can wrap to 0 (reference gap G2).
            long padded = tensor.ByteSize + (-tensor.ByteSize & mask);
            if (padded < 0)
            {
                // Same field as the unpadded size overflow: the shape, which starts at n_dims.
                ThrowHelper.Format(GgufErrorCode.TensorSizeOverflow, DimensionsFieldPosition(tensor), $"size {tensor.ByteSize} padded to {alignment} overflows", "tensor.ne", tensorName: tensor.Name);
            }

            long start = dataOffset + tensor.Offset;
            if (start < 0 || start > fileSize || tensor.ByteSize > fileSize - start)
            {
                ThrowHelper.Format(GgufErrorCode.TensorDataPastEnd, OffsetFieldPosition(tensor), $"data [{(decimal)dataOffset + tensor.Offset}, {(decimal)dataOffset + tensor.Offset + tensor.ByteSize}) is not within the {fileSize}-byte file", "tensor.offset", tensorName: tensor.Name);
            }

            long next = running + padded;
            if (next < 0)
            {
                ThrowHelper.Format(GgufErrorCode.RunningSizeOverflow, OffsetFieldPosition(tensor), $"the data section size overflows when adding {padded} bytes to {running}", "tensor.offset", tensorName: tensor.Name);
            }

            running = next;
        }

        if (!options.RequirePackedTensors)
        {
            CheckOverlaps(tensors);
        }

        return running;
    }

    private static void CheckOverlaps(List<TensorRecord> tensors)
    {
        // A zero-byte tensor occupies no bytes, so it overlaps nothing wherever it points.
        int[] byOffset = [.. Enumerable.Range(0, tensors.Count).Where(i => tensors[i].ByteSize > 0)];
        Array.Sort(byOffset, (a, b) => tensors[a].Offset != tensors[b].Offset ? tensors[a].Offset.CompareTo(tensors[b].Offset) : a.CompareTo(b));
        for (int i = 1; i < byOffset.Length; i++)
        {
            TensorRecord previous = tensors[byOffset[i - 1]];
            TensorRecord current = tensors[byOffset[i]];
            if (current.Offset < previous.Offset + previous.ByteSize)
            {
                ThrowHelper.Format(GgufErrorCode.TensorOverlap, OffsetFieldPosition(current), $"data overlaps tensor '{previous.Name}'", "tensor.offset", tensorName: current.Name);
            }
        }
    }

    /// <summary>The n_dims field follows the name.</summary>
    private static long DimensionsFieldPosition(in TensorRecord tensor) =>
        tensor.InfoOffset + 8 + Encoding.UTF8.GetByteCount(tensor.Name);

    /// <summary>The offset field is the last 8 bytes of a tensor info.</summary>
    private static long OffsetFieldPosition(in TensorRecord tensor) =>
        tensor.InfoOffset + 8 + Encoding.UTF8.GetByteCount(tensor.Name) + 4 + (8L * tensor.Dimensions.Length) + 4;

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var builder = new StringBuilder(Math.Min(bytes.Length, 64));
        foreach (byte b in bytes[..Math.Min(bytes.Length, 64)])
        {
            builder.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        }

        return builder.ToString();
    }

    /// <summary>A tensor info as read, before the data section's offset is known.</summary>
    private readonly record struct TensorRecord(string Name, long[] Dimensions, GgmlTypeInfo TypeInfo, long Offset, long ByteSize, long ElementCount, long InfoOffset);

    private static int ReadAtLeast(Stream stream, byte[] buffer, int filled)
    {
        while (filled < buffer.Length)
        {
            int read = stream.Read(buffer, filled, buffer.Length - filled);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }
}
