using Gguf.IO;

namespace Gguf.Format;

/// <summary>
/// Where lazily decoded metadata comes from: the mapping of an open file (each access under a lease)
/// or a managed copy of a header read from a stream.
/// </summary>
internal abstract class GgufByteSource
{
    /// <summary>Calls <paramref name="reader"/> with the bytes at absolute file offset <paramref name="offset"/>.</summary>
    public abstract TResult Read<TState, TResult>(long offset, int length, TState state, SpanReader<TState, TResult> reader);

    /// <summary>Copies the bytes at absolute file offset <paramref name="offset"/> into <paramref name="destination"/>.</summary>
    public abstract void CopyTo(long offset, Span<byte> destination);
}

/// <summary>A byte source over managed memory that starts at file offset 0.</summary>
internal sealed class MemoryByteSource(ReadOnlyMemory<byte> memory) : GgufByteSource
{
    public override TResult Read<TState, TResult>(long offset, int length, TState state, SpanReader<TState, TResult> reader)
    {
        if ((ulong)offset > (ulong)memory.Length || (ulong)length > (ulong)(memory.Length - offset))
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }

        return reader(memory.Span.Slice((int)offset, length), state);
    }

    public override void CopyTo(long offset, Span<byte> destination)
    {
        if ((ulong)offset > (ulong)memory.Length || (ulong)destination.Length > (ulong)(memory.Length - offset))
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }

        memory.Span.Slice((int)offset, destination.Length).CopyTo(destination);
    }
}
