using System.Diagnostics.CodeAnalysis;
using Gguf.Format;
using Gguf.IO;
using Microsoft.Extensions.Logging;

namespace Gguf.Model;

/// <summary>
/// An open GGUF file: the mapping plus its validated header. Metadata is decoded lazily and tensor data
/// is read in place from the mapping.
/// </summary>
public sealed class GgufFile : IDisposable
{
    private GgufFile(MappedFile mapping, GgufHeader header)
    {
        Mapping = mapping;
        Header = header;
    }

    /// <summary>The mapping of the file.</summary>
    public MappedFile Mapping { get; }

    /// <summary>The parsed header.</summary>
    public GgufHeader Header { get; }

    /// <summary>The path the file was opened with.</summary>
    public string Path => Mapping.Path;

    /// <summary>The file's size in bytes.</summary>
    public long FileSize => Mapping.Length;

    /// <summary>The format version (2 or 3).</summary>
    public uint Version => Header.Version;

    /// <summary>The data alignment.</summary>
    public uint Alignment => Header.Alignment;

    /// <summary>The absolute offset of the data section.</summary>
    public long DataOffset => Header.DataOffset;

    /// <summary>The metadata in file order, with lookup by key.</summary>
    public GgufMetadata Metadata => Header.Metadata;

    /// <summary>The tensors in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors => Header.Tensors;

    /// <summary><c>general.architecture</c>, or null.</summary>
    public string? Architecture => Header.Architecture;

    /// <summary>Maps and parses a file.</summary>
    /// <exception cref="MappedFileException">The file cannot be opened or mapped.</exception>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF file.</exception>
    public static GgufFile Open(string path, GgufReaderOptions? options = null, ILogger? logger = null)
    {
        MappedFile mapping = MappedFile.Open(path, logger);
        try
        {
            return Open(mapping, options);
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    /// <summary>Parses an already mapped file and takes ownership of the mapping.</summary>
    public static GgufFile Open(MappedFile mapping, GgufReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        options ??= GgufReaderOptions.Default;
        GgufHeader header;
        using (MappedFileLease lease = mapping.Acquire())
        {
            // The header is parsed in place from the first bytes of the mapping: no copy, O(1) to map.
            int headLength = (int)Math.Min(mapping.Length, options.MaxHeaderBytes);
            header = GgufReader.Parse(lease.GetSpan(0, headLength), mapping.Length, options, new MappedByteSource(mapping), canGrow: false);
        }

        return new GgufFile(mapping, header);
    }

    /// <summary>Looks up a tensor by name.</summary>
    public bool TryGetTensor(string name, [NotNullWhen(true)] out GgufTensorInfo? tensor) => Header.TryGetTensor(name, out tensor);

    /// <summary>The tensor with the given name.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    public GgufTensorInfo GetTensor(string name) =>
        TryGetTensor(name, out GgufTensorInfo? tensor) ? tensor : throw new KeyNotFoundException($"tensor '{name}' is not in '{Path}'");

    /// <summary>Zero-copy access to a tensor's bytes; dispose the result when done.</summary>
    public GgufTensorData GetTensorData(GgufTensorInfo tensor)
    {
        CheckOwnTensor(tensor);
        return new GgufTensorData(Mapping, tensor);
    }

    /// <summary>Copies <c>destination.Length</c> bytes of a tensor, starting <paramref name="offset"/> bytes into it.</summary>
    public void CopyTensorData(GgufTensorInfo tensor, long offset, Span<byte> destination)
    {
        CheckOwnTensor(tensor);
        if (offset < 0 || offset > tensor.ByteSize || destination.Length > tensor.ByteSize - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{destination.Length}) is outside tensor '{tensor.Name}' of {tensor.ByteSize} bytes");
        }

        Mapping.Read(tensor.AbsoluteOffset + offset, destination);
    }

    /// <summary>Unmaps the file once no lease is held.</summary>
    public void Dispose() => Mapping.Dispose();

    private void CheckOwnTensor(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if ((uint)tensor.Index >= (uint)Tensors.Count || !ReferenceEquals(Tensors[tensor.Index], tensor))
        {
            throw new ArgumentException($"tensor '{tensor.Name}' does not belong to '{Path}'", nameof(tensor));
        }
    }
}
