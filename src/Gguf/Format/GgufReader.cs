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
public static partial class GgufReader
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

        // Capacities come from a count already bounded by the bytes present.
        var origin = new DataSectionOrigin();
        var tensors = new List<GgufTensorInfo>((int)tensorCount);
        var tensorsByName = new Dictionary<string, int>((int)tensorCount, StringComparer.Ordinal);
        for (int i = 0; i < (int)tensorCount; i++)
        {
            GgufTensorInfo tensor = ReadTensorInfo(ref cursor, options, i, origin);
            if (!tensorsByName.TryAdd(tensor.Name, i))
            {
                ThrowHelper.Format(GgufErrorCode.DuplicateTensorName, tensor.InfoOffset, $"duplicate tensor name (first is tensor {tensorsByName[tensor.Name]})", "tensor.name", tensorName: tensor.Name);
            }

            tensors.Add(tensor);
        }

        long headerEnd = cursor.Position;
        long dataOffset = headerEnd;
        long dataSectionSize = 0;
        if (tensors.Count > 0)
        {
            dataOffset = Align.Up(headerEnd, alignment);
            if (dataOffset > fileSize)
            {
                ThrowHelper.Format(GgufErrorCode.DataOffsetPastEnd, headerEnd, $"the data section would start at {dataOffset}, past the end of the {fileSize}-byte file", "data");
            }

            dataSectionSize = ValidateTensorData(tensors, dataOffset, alignment, fileSize, options);
        }

        // Every info's absolute offset follows from this one value, set before the header is handed out.
        origin.Offset = dataOffset;
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

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var builder = new StringBuilder(Math.Min(bytes.Length, 64));
        foreach (byte b in bytes[..Math.Min(bytes.Length, 64)])
        {
            builder.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        }

        return builder.ToString();
    }

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
