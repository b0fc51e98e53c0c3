namespace Gguf.Loading;

/// <summary>
/// How one reader thread of a load gets a chunk's bytes out of the file: one implementation per
/// <see cref="LoadMode"/>. Each reader thread has its own instance; shared state lives in the load.
/// </summary>
internal interface IChunkReader : IDisposable
{
    /// <summary>Fills <paramref name="target"/> (<c>chunk.Length</c> bytes) with the chunk's bytes from the file.</summary>
    void Read(in LoadChunk chunk, Span<byte> target);

    /// <summary>
    /// The chunk's bytes from the file once more, for verification of in-place writes: the source side of the
    /// comparison must not be the destination it checks. Valid until the next call on this reader.
    /// </summary>
    ReadOnlySpan<byte> ReadAgain(in LoadChunk chunk);

    /// <summary>Called once the chunk's bytes are in the destination (or enqueued there).</summary>
    void Consumed(in LoadChunk chunk);
}
