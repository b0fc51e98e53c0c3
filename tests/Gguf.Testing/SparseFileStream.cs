namespace Gguf.Testing;

/// <summary>
/// A write-only stream over a new file that turns writes of all-zero buffers into seeks, so the file gets
/// holes instead of zeros: multi-GiB test models cost no disk and no time. <see cref="Flush"/> sets the
/// file's length, so a trailing hole counts (<see cref="Writing.GgufWriter"/> flushes at the end).
/// </summary>
public sealed class SparseFileStream(FileStream inner) : Stream
{
    private long _position;

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => _position;

    /// <inheritdoc />
    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length > 0 && !buffer.ContainsAnyExcept((byte)0))
        {
            inner.Seek(buffer.Length, SeekOrigin.Current);
        }
        else
        {
            inner.Write(buffer);
        }

        _position += buffer.Length;
    }

    /// <inheritdoc />
    public override void Flush()
    {
        inner.SetLength(_position);
        inner.Flush();
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();
}
