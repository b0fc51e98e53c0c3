using Gguf.IO;
using Gguf.Model;

namespace Gguf.Loading;

/// <summary>
/// <see cref="LoadMode.Mmap"/>: copies from the file's mapping under the load's lease, re-checking the file's
/// size every <see cref="SizeCheckInterval"/> bytes (a truncated mapping is SIGBUS), with pages brought in
/// ahead of the copy and released behind it.
/// </summary>
internal sealed class MmapChunkReader(GgufFile file, MappedFileLease lease, MappingReadAhead readAhead, bool releaseConsumed) : IChunkReader
{
    /// <summary>The file's size is re-checked after every this many bytes a reader copies (see docs/loading.md).</summary>
    internal const long SizeCheckInterval = 64L << 20;

    private long _sinceSizeCheck;

    public void Read(in LoadChunk chunk, Span<byte> target)
    {
        if ((_sinceSizeCheck += chunk.Length) >= SizeCheckInterval)
        {
            file.Mapping.EnsureUnchanged();
            _sinceSizeCheck = 0;
        }

        readAhead.BeforeRead(chunk);
        lease.GetSpan(chunk.FileOffset, chunk.Length).CopyTo(target);
    }

    public ReadOnlySpan<byte> ReadAgain(in LoadChunk chunk) => lease.GetSpan(chunk.FileOffset, chunk.Length);

    public void Consumed(in LoadChunk chunk)
    {
        if (releaseConsumed)
        {
            _ = file.Mapping.Release(chunk.FileOffset, chunk.Length);
        }
    }

    public void Dispose()
    {
    }
}
