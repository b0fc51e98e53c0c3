using System.Diagnostics.CodeAnalysis;

namespace Gguf.Format;

/// <summary>
/// The parsed and validated header of a GGUF file: version, metadata, tensor infos and the layout of the
/// data section. Metadata values are decoded lazily from the bytes the header was parsed from.
/// </summary>
public sealed class GgufHeader
{
    private readonly Dictionary<string, int> _tensorsByName;

    internal GgufHeader(uint version, uint alignment, long headerEnd, long dataOffset, long fileSize, GgufMetadata metadata, List<GgufTensorInfo> tensors, Dictionary<string, int> tensorsByName, long dataSectionSize)
    {
        Version = version;
        Alignment = alignment;
        HeaderEnd = headerEnd;
        DataOffset = dataOffset;
        FileSize = fileSize;
        Metadata = metadata;
        Tensors = tensors;
        _tensorsByName = tensorsByName;
        DataSectionSize = dataSectionSize;
    }

    /// <summary>The format version (2 or 3).</summary>
    public uint Version { get; }

    /// <summary>The alignment of the data section and of each tensor (<c>general.alignment</c>, 32 when absent).</summary>
    public uint Alignment { get; }

    /// <summary>The offset just past the last tensor info.</summary>
    public long HeaderEnd { get; }

    /// <summary>
    /// The absolute offset of the data section: <see cref="HeaderEnd"/> rounded up to the alignment when
    /// the file has tensors, and <see cref="HeaderEnd"/> itself when it has none (as llama.cpp reports it).
    /// </summary>
    public long DataOffset { get; }

    /// <summary>The size of the file the header was validated against.</summary>
    public long FileSize { get; }

    /// <summary>The metadata, in file order.</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>The tensor infos, in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>The sum of the tensors' sizes, each padded to the alignment.</summary>
    public long DataSectionSize { get; }

    /// <summary>The sum of the tensors' sizes without padding.</summary>
    public long TotalTensorBytes => Tensors.Sum(t => t.ByteSize);

    /// <summary><c>general.architecture</c>, or null when absent.</summary>
    public string? Architecture => Metadata.TryGet(GgufKeys.Architecture, out GgufMetadataEntry? e) && e.Type == GgufValueType.String ? e.GetString() : null;

    /// <summary>Looks up a tensor by name.</summary>
    public bool TryGetTensor(string name, [NotNullWhen(true)] out GgufTensorInfo? tensor)
    {
        if (_tensorsByName.TryGetValue(name, out int index))
        {
            tensor = Tensors[index];
            return true;
        }

        tensor = null;
        return false;
    }
}
