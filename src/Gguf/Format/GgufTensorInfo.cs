
namespace Gguf.Format;

/// <summary>A tensor's description from the header: name, shape, type and where its bytes are.</summary>
public sealed class GgufTensorInfo
{
    private readonly long[] _dimensions;

    private readonly DataSectionOrigin _origin;

    internal GgufTensorInfo(int index, string name, long[] dimensions, GgmlTypeInfo typeInfo, long offset, DataSectionOrigin origin, long byteSize, long elementCount, long infoOffset)
    {
        _origin = origin;
        Index = index;
        Name = name;
        _dimensions = dimensions;
        TypeInfo = typeInfo;
        Offset = offset;
        ByteSize = byteSize;
        ElementCount = elementCount;
        InfoOffset = infoOffset;
    }

    /// <summary>The position of the tensor in the file's tensor list.</summary>
    public int Index { get; }

    /// <summary>The tensor's name.</summary>
    public string Name { get; }

    /// <summary>The dimensions as stored, first (fastest-varying) dimension first.</summary>
    public IReadOnlyList<long> Dimensions => _dimensions;

    /// <summary>The ggml type.</summary>
    public GgmlType Type => TypeInfo.Type;

    /// <summary>Block size and bytes per block of the type.</summary>
    public GgmlTypeInfo TypeInfo { get; }

    /// <summary>The offset of the data relative to the start of the data section.</summary>
    public long Offset { get; }

    /// <summary>The absolute file offset of the data: the data section's offset plus <see cref="Offset"/>.</summary>
    public long AbsoluteOffset => _origin.Offset + Offset;

    /// <summary>The size of the data in bytes.</summary>
    public long ByteSize { get; }

    /// <summary>The number of elements.</summary>
    public long ElementCount { get; }

    /// <summary>The absolute offset of this tensor's info record in the header.</summary>
    public long InfoOffset { get; }

    /// <summary>The offset of the type field in the header (the n_dims field, then 8 bytes per dimension, follow the name).</summary>
    internal long TypeFieldOffset => InfoOffset + 8 + System.Text.Encoding.UTF8.GetByteCount(Name) + 4 + (8L * _dimensions.Length);

    /// <summary>The dimensions as a span.</summary>
    public ReadOnlySpan<long> DimensionsSpan => _dimensions;

    /// <inheritdoc />
    public override string ToString() => $"{Name} {TypeInfo.Name} [{string.Join(", ", _dimensions)}]";
}

/// <summary>
/// Where a file's data section starts. The reader learns it only after the last tensor info, so the infos share
/// this one value, set once before the header is handed out, instead of each being patched.
/// </summary>
internal sealed class DataSectionOrigin
{
    /// <summary>The absolute offset of the data section.</summary>
    public long Offset { get; set; }
}
