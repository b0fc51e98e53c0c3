using Gguf.IO;
using Gguf.Model;
using Microsoft.Win32.SafeHandles;

namespace Gguf.Loading;

/// <summary>
/// <see cref="LoadMode.Direct"/>: <c>O_DIRECT</c> reads past the page cache, through a second descriptor of the same
/// open file, into an aligned buffer of this reader; the chunk's bytes are then copied out of it. A chunk's
/// unaligned head and tail are covered by reading the whole aligned blocks around it. Like
/// <see cref="LoadMode.Read"/>, a truncated file is a short read and a clean exception.
/// </summary>
internal sealed class DirectChunkReader : IChunkReader
{
    /// <summary>The alignment of offsets, lengths and buffer addresses: the page size covers every logical block size in use.</summary>
    internal const int Alignment = 4096;

    private readonly GgufFile _file;
    private readonly SafeFileHandle _direct;
    private readonly AlignedBuffer _buffer;
    private readonly bool _streamingStores;

    /// <param name="file">The file.</param>
    /// <param name="direct">An <c>O_DIRECT</c> descriptor of it.</param>
    /// <param name="chunkSize">The largest chunk.</param>
    /// <param name="streamingStores">Whether chunks are copied out of the buffer with streaming stores (<see cref="StreamingCopy"/>).</param>
    public DirectChunkReader(GgufFile file, SafeFileHandle direct, int chunkSize, bool streamingStores)
    {
        _file = file;
        _direct = direct;
        _streamingStores = streamingStores;

        // A chunk of chunkSize bytes at any offset lies inside chunkSize rounded up plus one block.
        _buffer = new AlignedBuffer((int)Math.Min(int.MaxValue - (2 * Alignment), Align.Up(chunkSize, Alignment) + Alignment), Alignment);
    }

    public void Read(in LoadChunk chunk, Span<byte> target) => StreamingCopy.Copy(ReadAligned(chunk), target, _streamingStores);

    public ReadOnlySpan<byte> ReadAgain(in LoadChunk chunk) => ReadAligned(chunk);

    public void Consumed(in LoadChunk chunk)
    {
    }

    public void Dispose()
    {
    }

    private ReadOnlySpan<byte> ReadAligned(in LoadChunk chunk)
    {
        long start = chunk.FileOffset & ~(long)(Alignment - 1);
        long end = chunk.FileOffset + chunk.Length;
        int span = (int)(Align.Up(end, Alignment) - start);
        Span<byte> buffer = _buffer.Span[..span];
        int done = 0;
        while (start + done < end)
        {
            // Offsets stay aligned: only the read that reaches the end of the file comes back short.
            int read = RandomAccess.Read(_direct, buffer[done..], start + done);
            if (read <= 0)
            {
                int got = (int)Math.Max(0, start + done - chunk.FileOffset);
                throw PreadChunkReader.ShortRead(_file, chunk, chunk.FileOffset, got, chunk.Length);
            }

            done += read;
        }

        return buffer.Slice((int)(chunk.FileOffset - start), chunk.Length);
    }
}
