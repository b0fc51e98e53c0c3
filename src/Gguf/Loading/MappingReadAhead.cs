using Gguf.Model;

namespace Gguf.Loading;

/// <summary>Brings the mapping's pages in ahead of the copies of an <see cref="LoadMode.Mmap"/> load.</summary>
internal sealed class MappingReadAhead(GgufFile file, ChunkPlan plan, long lookahead)
{
    /// <summary>Called by a reader before it copies <paramref name="chunk"/>.</summary>
    public void BeforeRead(in LoadChunk chunk)
    {
        long ahead = chunk.Number + lookahead;
        if (ahead < plan.TotalChunks)
        {
            LoadChunk next = plan.Locate(ahead);
            file.Mapping.Prefetch(next.FileOffset, next.Length);
        }
    }
}
