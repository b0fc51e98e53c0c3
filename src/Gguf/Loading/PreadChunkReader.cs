using Gguf.IO;
using Gguf.Model;

namespace Gguf.Loading;

/// <summary>
/// <see cref="LoadMode.Read"/>: positional reads (<c>pread</c>) through the descriptor the file was opened with,
/// never the mapping, so a file truncated during the load is a short read and a clean exception, not SIGBUS.
/// </summary>
internal sealed class PreadChunkReader(GgufFile file) : IChunkReader
{
    private byte[]? _scratch;

    public void Read(in LoadChunk chunk, Span<byte> target) => ReadExactly(file, chunk, chunk.FileOffset, target);

    public ReadOnlySpan<byte> ReadAgain(in LoadChunk chunk)
    {
        // A second read into a scratch buffer keeps read mode off the mapping.
        _scratch ??= GC.AllocateUninitializedArray<byte>(chunk.Length);
        if (_scratch.Length < chunk.Length)
        {
            _scratch = GC.AllocateUninitializedArray<byte>(chunk.Length);
        }

        Span<byte> target = _scratch.AsSpan(0, chunk.Length);
        Read(chunk, target);
        return target;
    }

    public void Consumed(in LoadChunk chunk)
    {
    }

    public void Dispose()
    {
    }

    /// <summary>Reads exactly <c>target.Length</c> bytes at <paramref name="fileOffset"/>; a short read names the tensor.</summary>
    /// <exception cref="MappedFileException">The file ended early: it changed after it was opened.</exception>
    internal static void ReadExactly(GgufFile file, in LoadChunk chunk, long fileOffset, Span<byte> target)
    {
        int done = 0;
        while (done < target.Length)
        {
            // Through the descriptor the file was opened with: the same file, never the path again.
            int read = file.Mapping.ReadAt(fileOffset + done, target[done..]);
            if (read <= 0)
            {
                throw ShortRead(file, chunk, fileOffset, done, target.Length);
            }

            done += read;
        }
    }

    internal static MappedFileException ShortRead(GgufFile file, in LoadChunk chunk, long fileOffset, int done, int wanted)
    {
        long now = RandomAccess.GetLength(file.Mapping.FileHandle);
        return new MappedFileException(MappedFileError.FileChanged, file.Path,
            $"unexpected end of file reading tensor '{chunk.Tensor.Name}': got {done} of {wanted} bytes at offset {fileOffset} (the file is {now} bytes now, {file.FileSize} when opened)");
    }
}
