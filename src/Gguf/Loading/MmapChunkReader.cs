using Gguf.IO;
using Gguf.Model;

namespace Gguf.Loading;

/// <summary>
/// <see cref="LoadMode.Mmap"/>: copies from the file's mapping under the load's lease, re-checking the file's
/// size every <see cref="SizeCheckInterval"/> bytes (a truncated mapping is SIGBUS), with pages mapped in
/// ahead of the copy (<see cref="ReadAheadWorker"/>) and released behind it. The copy uses streaming stores
/// (<see cref="StreamingCopy"/>) unless <paramref name="streamingStores"/> is false.
/// </summary>
internal sealed class MmapChunkReader(GgufFile file, MappedFileLease lease, ReadAheadWorker? readAhead, bool releaseConsumed, bool streamingStores) : IChunkReader
{
    /// <summary>The file's size is re-checked after every this many bytes a reader copies (see docs/loading.md).</summary>
    internal const long SizeCheckInterval = 64L << 20;

    // Consumed pages are released in runs of at least this many bytes: one madvise (and TLB flush) per run, not per chunk.
    private const long ReleaseBatch = 8L << 20;

    private long _sinceSizeCheck;
    private long _pendingStart;
    private long _pendingEnd;

    public void Read(in LoadChunk chunk, Span<byte> target)
    {
        if ((_sinceSizeCheck += chunk.Length) >= SizeCheckInterval)
        {
            file.Mapping.EnsureUnchanged();
            _sinceSizeCheck = 0;
        }

        if (readAhead is null)
        {
            // Without the helper, fault-around maps the pages in as the copy touches them; ask the kernel to read ahead.
            file.Mapping.Prefetch(chunk.FileOffset, chunk.Length);
        }

        StreamingCopy.Copy(lease.GetSpan(chunk.FileOffset, chunk.Length), target, streamingStores);
    }

    public ReadOnlySpan<byte> ReadAgain(in LoadChunk chunk) => lease.GetSpan(chunk.FileOffset, chunk.Length);

    public void Consumed(in LoadChunk chunk)
    {
        if (!releaseConsumed)
        {
            return;
        }

        if (chunk.FileOffset != _pendingEnd)
        {
            ReleasePending();
            _pendingStart = chunk.FileOffset;
        }

        _pendingEnd = chunk.FileOffset + chunk.Length;
        if (_pendingEnd - _pendingStart >= ReleaseBatch)
        {
            ReleasePending();
        }
    }

    public void Dispose()
    {
        if (!file.Mapping.IsDisposed)
        {
            ReleasePending();
        }
    }

    private void ReleasePending()
    {
        if (_pendingEnd > _pendingStart)
        {
            _ = file.Mapping.Release(_pendingStart, _pendingEnd - _pendingStart);
        }

        _pendingStart = _pendingEnd;
    }
}
