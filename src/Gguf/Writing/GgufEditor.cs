using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Gguf.Format;
using Gguf.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gguf.Writing;

/// <summary>
/// Edits the metadata of an open <see cref="GgufFile"/> without touching its tensor data: set, replace or
/// remove any key with any value type (arrays and nested arrays included), then save. Replaced keys keep
/// their position, new keys are appended. Well-known keys keep their required types
/// (<see cref="GgufWellKnownKeys"/>). The default save is atomic: a new file is written next to the target
/// (the header, then the tensor data shared by reflink or copied by the kernel), flushed and renamed over
/// it, so a crash leaves either the old file or the new one. See docs/editing.md.
/// </summary>
/// <remarks>
/// Unchanged entries and tensor infos are copied byte for byte from the source; the tensor data is never
/// decoded. The source must stay open until the save returns. After an atomic save over the source's own
/// path the source keeps reading the old file (its descriptor outlives the rename); after an in-place save it
/// is stale and must be reopened.
/// </remarks>
public sealed partial class GgufEditor
{
    /// <summary>
    /// The key of the editor's padding entry (an array of zero bytes). The editor adds it to keep the data
    /// offset's remainder modulo the file system block size, so the tensor data can be shared by reflink,
    /// and to fill the gap an in-place save leaves when the header shrinks. It is managed by the editor:
    /// <see cref="Set"/> and <see cref="Remove"/> refuse it, and every save recomputes or drops it.
    /// </summary>
    public const string PaddingKey = "gguf_dotnet.padding";

    // Magic, version, tensor count and metadata count.
    private const int FixedHeaderBytes = 24;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly byte[] PaddingKeyUtf8 = Encoding.UTF8.GetBytes(PaddingKey);

    private readonly GgufFile _source;
    private readonly ILogger _logger;
    private readonly string _sourcePath;
    private readonly List<Item?> _items;
    private readonly Dictionary<string, int> _index;
    private bool _sourceStale;

    /// <summary>Starts an edit of <paramref name="source"/>; nothing changes until a save.</summary>
    public GgufEditor(GgufFile source, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _logger = logger ?? NullLogger.Instance;
        _sourcePath = Path.GetFullPath(source.Path);
        _items = new List<Item?>(source.Metadata.Count + 4);
        _index = new Dictionary<string, int>(source.Metadata.Count + 4, StringComparer.Ordinal);
        foreach (GgufMetadataEntry entry in source.Metadata)
        {
            _index[entry.Key] = _items.Count;
            _items.Add(new Item(entry.Key, entry, null));
        }
    }

    /// <summary>The file being edited.</summary>
    public GgufFile Source => _source;

    /// <summary>The keys the saved file will have, in order (the padding entry aside).</summary>
    public IReadOnlyList<string> Keys => _items.Where(i => i is not null && i.Key != PaddingKey).Select(i => i!.Key).ToList();

    /// <summary>Whether any key was set or removed.</summary>
    public bool HasChanges { get; private set; }

    /// <summary>Whether the saved file will have <paramref name="key"/>.</summary>
    public bool ContainsKey(string key) => key != PaddingKey && _index.ContainsKey(key);

    /// <summary>
    /// Sets <paramref name="key"/> to <paramref name="value"/>: an existing key is replaced where it stands
    /// (its type may change, unless the key is well-known), a new key is appended.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The key is empty, not valid UTF-8, contains NUL, is longer than 65535 bytes or is
    /// <see cref="PaddingKey"/>; the value breaks the key's rule (the message names the key and the
    /// required type); or the value exceeds the reader's limits (string length, element count, nesting).
    /// </exception>
    public GgufEditor Set(string key, GgufValue value)
    {
        ValidateKey(key);
        ArgumentNullException.ThrowIfNull(value);
        GgufWellKnownKeys.Validate(key, value);
        ValidateValue(key, value, depth: 0);
        if (_index.TryGetValue(key, out int position))
        {
            _items[position] = new Item(key, null, value);
        }
        else
        {
            _index[key] = _items.Count;
            _items.Add(new Item(key, null, value));
        }

        HasChanges = true;
        return this;
    }

    /// <summary>Removes <paramref name="key"/>; false when the key is not there.</summary>
    /// <exception cref="ArgumentException">The key is <see cref="PaddingKey"/>, which the editor manages.</exception>
    public bool Remove(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key == PaddingKey)
        {
            throw new ArgumentException($"'{PaddingKey}' is managed by the editor; save with AllowPadding = false to drop it", nameof(key));
        }

        if (!_index.Remove(key, out int position))
        {
            return false;
        }

        _items[position] = null;
        HasChanges = true;
        return true;
    }

    private static void ValidateKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key == PaddingKey)
        {
            throw new ArgumentException($"'{PaddingKey}' is managed by the editor and cannot be set", nameof(key));
        }

        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(key);
        }
        catch (EncoderFallbackException)
        {
            throw new ArgumentException($"metadata key '{key}' is not valid UTF-16 (a lone surrogate)", nameof(key));
        }

        if (key.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("a metadata key must not contain NUL (llama.cpp compares keys as C strings)", nameof(key));
        }

        if (bytes > GgufReaderOptions.Default.MaxKeyBytes)
        {
            throw new ArgumentException($"metadata key is {bytes} bytes long, above the limit of {GgufReaderOptions.Default.MaxKeyBytes}", nameof(key));
        }
    }

    /// <summary>Checks a value against the limits the reader applies, so the saved file re-opens.</summary>
    private static void ValidateValue(string key, GgufValue value, int depth)
    {
        GgufReaderOptions limits = GgufReaderOptions.Default;
        if (value.Type == GgufValueType.String && value.Utf8!.LongLength > limits.MaxStringBytes)
        {
            throw new ArgumentException($"the value of '{key}' is a string of {value.Utf8.LongLength} bytes, above the limit of {limits.MaxStringBytes}", nameof(value));
        }

        if (value.Type != GgufValueType.Array)
        {
            return;
        }

        if (depth + 1 > limits.MaxArrayDepth)
        {
            throw new ArgumentException($"the value of '{key}' nests arrays deeper than the limit of {limits.MaxArrayDepth}", nameof(value));
        }

        if (value.Count > limits.MaxArrayElements)
        {
            throw new ArgumentException($"the value of '{key}' has {value.Count} elements, above the limit of {limits.MaxArrayElements}", nameof(value));
        }

        switch (value.Elements)
        {
            case byte[][] strings:
                foreach (byte[] s in strings)
                {
                    if (s.LongLength > limits.MaxStringBytes)
                    {
                        throw new ArgumentException($"an element of '{key}' is a string of {s.LongLength} bytes, above the limit of {limits.MaxStringBytes}", nameof(value));
                    }
                }

                break;
            case GgufValue[] nested:
                foreach (GgufValue inner in nested)
                {
                    ValidateValue(key, inner, depth + 1);
                }

                break;
        }
    }

    /// <summary>
    /// The parts of the new header that do not depend on padding: the metadata entries (the padding entry
    /// left out) and the tensor infos, with the tensors' new offsets when the alignment changes.
    /// </summary>
    private EncodedHeader Encode()
    {
        GgufHeader old = _source.Header;
        uint alignment = GgufReader.DefaultAlignment;
        var metadata = new ArrayBufferWriter<byte>(checked((int)Math.Min(int.MaxValue, Math.Max(256, old.HeaderEnd))));
        int count = 0;
        foreach (Item? item in _items)
        {
            if (item is null || item.Key == PaddingKey)
            {
                continue;
            }

            count++;
            if (item.Original is GgufMetadataEntry entry)
            {
                // Unchanged entries are copied as they are: exact bytes, no decoding.
                int length = checked((int)(entry.ValueOffset - entry.Offset) + entry.ValueLength);
                _source.Mapping.Read(entry.Offset, metadata.GetSpan(length)[..length]);
                metadata.Advance(length);
                if (entry.Key == GgufKeys.Alignment)
                {
                    alignment = entry.GetUInt32();
                }
            }
            else
            {
                GgufValue value = item.Value!;
                GgufWriter.WriteString(metadata, Encoding.UTF8.GetBytes(item.Key));
                GgufWriter.WriteUInt32(metadata, (uint)value.Type);
                GgufWriter.WriteValue(metadata, value);
                if (item.Key == GgufKeys.Alignment)
                {
                    alignment = (uint)value.Bits;
                }
            }
        }

        IReadOnlyList<GgufTensorInfo> tensors = old.Tensors;
        bool relaid = tensors.Count > 0 && alignment != old.Alignment;
        long[] offsets = tensors.Select(t => t.Offset).ToArray();
        long dataBytes = _source.FileSize - old.DataOffset;
        byte[] infos;
        if (tensors.Count == 0)
        {
            infos = [];
        }
        else
        {
            long start = tensors[0].InfoOffset;
            infos = new byte[checked((int)(old.HeaderEnd - start))];
            _source.Mapping.Read(start, infos);
            if (relaid)
            {
                // Each tensor at the new alignment, packed in file order as llama.cpp requires; only the
                // offset field, the last 8 bytes of each record, changes.
                long running = 0;
                for (int i = 0; i < tensors.Count; i++)
                {
                    long recordEnd = (i + 1 < tensors.Count ? tensors[i + 1].InfoOffset : old.HeaderEnd) - start;
                    offsets[i] = running;
                    BinaryPrimitives.WriteUInt64LittleEndian(infos.AsSpan((int)recordEnd - 8, 8), (ulong)running);
                    running = checked(running + AlignUp(tensors[i].ByteSize, alignment));
                }

                dataBytes = running;
            }
        }

        return new EncodedHeader(metadata.WrittenMemory, count, infos, alignment, relaid, offsets, dataBytes);
    }

    /// <summary>
    /// The complete header: fixed fields, metadata, the padding entry when <paramref name="paddingBytes"/>
    /// is not 0 (then at least <see cref="MinimumPaddingBytes"/>), and the tensor infos.
    /// </summary>
    private byte[] Assemble(EncodedHeader parts, long paddingBytes)
    {
        long length = parts.UnpaddedLength + paddingBytes;
        var header = new byte[checked((int)length)];
        Span<byte> span = header;
        "GGUF"u8.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], _source.Version);
        BinaryPrimitives.WriteUInt64LittleEndian(span[8..], (ulong)_source.Tensors.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(span[16..], (ulong)(parts.MetadataCount + (paddingBytes > 0 ? 1 : 0)));
        int position = FixedHeaderBytes;
        parts.Metadata.Span.CopyTo(span[position..]);
        position += parts.Metadata.Length;
        if (paddingBytes > 0)
        {
            // key length, key, ARRAY, UINT8, count, then count zero bytes (already zero).
            ReadOnlySpan<byte> key = PaddingKeyUtf8;
            BinaryPrimitives.WriteUInt64LittleEndian(span[position..], (ulong)key.Length);
            key.CopyTo(span[(position + 8)..]);
            position += 8 + key.Length;
            BinaryPrimitives.WriteUInt32LittleEndian(span[position..], (uint)GgufValueType.Array);
            BinaryPrimitives.WriteUInt32LittleEndian(span[(position + 4)..], (uint)GgufValueType.UInt8);
            BinaryPrimitives.WriteUInt64LittleEndian(span[(position + 8)..], (ulong)(paddingBytes - MinimumPaddingBytes));
            position += checked((int)paddingBytes) - (8 + key.Length);
        }

        parts.TensorInfos.CopyTo(span[position..]);
        return header;
    }

    /// <summary>The smallest padding entry: key length, key, type, element type and count, no elements.</summary>
    internal static int MinimumPaddingBytes => 8 + PaddingKeyUtf8.Length + 4 + 4 + 8;

    /// <summary>
    /// Parses the new header with our reader before anything is written: the result must re-open, and the
    /// data offset and every tensor's offset and size must be the ones the copy will produce.
    /// </summary>
    private void CheckHeader(byte[] header, EncodedHeader parts, long dataOffset, long fileSize)
    {
        IReadOnlyList<GgufTensorInfo> tensors = _source.Tensors;
        GgufReaderOptions options = GgufReaderOptions.Default with
        {
            RequirePackedTensors = parts.Relaid || IsPacked(_source.Header),
            AllowZeroDimensions = true,
            MaxArrayDepth = GgufReaderOptions.ArrayDepthCeiling,
        };
        GgufHeader parsed = GgufReader.Parse(header, fileSize, options, new MemoryByteSource(header), canGrow: false);
        bool same = parsed.DataOffset == dataOffset && parsed.Alignment == parts.Alignment && parsed.Tensors.Count == tensors.Count;
        for (int i = 0; same && i < tensors.Count; i++)
        {
            same = parsed.Tensors[i].Offset == parts.Offsets[i] && parsed.Tensors[i].ByteSize == tensors[i].ByteSize && parsed.Tensors[i].Name == tensors[i].Name;
        }

        if (!same)
        {
            throw new InvalidOperationException($"the new header of '{_sourcePath}' does not describe the planned layout (data offset {parsed.DataOffset}, planned {dataOffset}); nothing was written");
        }
    }

    private static bool IsPacked(GgufHeader header)
    {
        long running = 0;
        foreach (GgufTensorInfo tensor in header.Tensors)
        {
            if (tensor.Offset != running)
            {
                return false;
            }

            running += AlignUp(tensor.ByteSize, header.Alignment);
        }

        return true;
    }

    private static long AlignUp(long value, long alignment) => value + ((alignment - (value % alignment)) % alignment);

    private void ThrowIfStale()
    {
        if (_sourceStale)
        {
            throw new InvalidOperationException($"'{_sourcePath}' was rewritten in place; reopen it to edit again");
        }
    }

    /// <summary>One key of the result: the source's entry, copied as is, or a new value.</summary>
    private sealed record Item(string Key, GgufMetadataEntry? Original, GgufValue? Value);

    /// <summary>The header parts that do not depend on padding.</summary>
    private sealed record EncodedHeader(ReadOnlyMemory<byte> Metadata, int MetadataCount, byte[] TensorInfos, uint Alignment, bool Relaid, long[] Offsets, long DataBytes)
    {
        public long UnpaddedLength => FixedHeaderBytes + (long)Metadata.Length + TensorInfos.Length;
    }
}
