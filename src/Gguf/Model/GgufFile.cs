using System.Buffers;
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
    /// <summary>The first read of the head of a file.</summary>
    internal const int CopiedHeadFirstBytes = 16 * 1024;

    /// <summary>The largest header parsed from a copy rather than in place from the mapping.</summary>
    internal const int CopiedHeadMaxBytes = 1024 * 1024;

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
        options ??= GgufReaderOptions.Default;
        MappedFile mapping = MappedFile.Open(path, logger);
        try
        {
            return new GgufFile(mapping, ParseCopiedHead(mapping, options));
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    /// <summary>Parses an open file and takes ownership of it: disposing the result disposes <paramref name="file"/>.</summary>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF file; <paramref name="file"/> is left open.</exception>
    public static GgufFile Open(MappedFile file, GgufReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        return new GgufFile(file, ParseCopiedHead(file, options ?? GgufReaderOptions.Default));
    }

    /// <summary>
    /// Parses the header from a copy of the head of the file read through its descriptor (16 KiB, grown 4x at a
    /// time up to 1 MiB), and any header beyond that in place from the mapping. Touching fresh mapped pages costs
    /// a page fault per run of pages and a TLB flush at unmap; under virtualization that costs far more than
    /// copying the head of a small file (docs/benchmarks.md). Only the parse reads the copy: metadata decoded
    /// later, and tensor data, come from the mapping, which is created on first use.
    /// </summary>
    private static GgufHeader ParseCopiedHead(MappedFile mapping, GgufReaderOptions options)
    {
        using var head = new CopiedHead(mapping, Math.Min(mapping.Length, options.MaxHeaderBytes));
        ReadOnlySpan<byte> first = head.Extend(CopiedHeadFirstBytes);
        return GgufReader.Parse(first, mapping.Length, options, new MappedByteSource(mapping), canGrow: false, head);
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

    /// <summary>
    /// The head of a file as the parse reads it: a pooled copy filled on demand up to
    /// <see cref="CopiedHeadMaxBytes"/>, then the mapping itself. Offsets are the file's in both.
    /// </summary>
    private sealed class CopiedHead(MappedFile mapping, long headLimit) : GgufHeadExtender, IDisposable
    {
        private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(headLimit, CopiedHeadMaxBytes));
        private int _filled;
        private MappedFileLease? _lease;
        private bool _mapped;
        private long _window;

        public override ReadOnlySpan<byte> Extend(long needed)
        {
            if (!_mapped && needed <= CopiedHeadMaxBytes)
            {
                // Grow by 4x (16 KiB, 64 KiB, 256 KiB, 1 MiB): few reads, and little copied past the header.
                int wanted = (int)Math.Min(Math.Min(headLimit, CopiedHeadMaxBytes), Math.Max(needed, Math.Max(CopiedHeadFirstBytes, 4L * _filled)));
                while (_filled < wanted)
                {
                    int read = mapping.ReadAt(_filled, _buffer.AsSpan(_filled, wanted - _filled));
                    if (read == 0)
                    {
                        // The file shrank since it was mapped: the mapping's view of it decides.
                        break;
                    }

                    _filled += read;
                }

                if (_filled == headLimit || needed <= _filled)
                {
                    return _buffer.AsSpan(0, _filled);
                }
            }

            if (!_mapped)
            {
                _lease = mapping.Acquire();
                _mapped = true;
                _window = _filled;
            }

            // Past the copy the header is parsed in place, as from any mapping, one window at a time:
            // each window (doubling, so at most twice the header) is faulted in with one call instead
            // of a fault per few pages. The last window is the whole head, so limits fail as before.
            long end = Math.Min(headLimit, Math.Max(needed, 2 * _window));
            mapping.PopulateForRead(_window, end - _window);
            _window = end;
            return _lease!.GetSpan(0, (int)end);
        }

        public void Dispose()
        {
            _lease?.Dispose();
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}
