using Gguf.Format;
using Gguf.IO;

namespace Gguf.Model;

/// <summary>Lazily decoded metadata read straight from the mapping, each access under its own lease.</summary>
internal sealed class MappedByteSource(MappedFile file) : GgufByteSource
{
    public override TResult Read<TState, TResult>(long offset, int length, TState state, SpanReader<TState, TResult> reader)
    {
        using MappedFileLease lease = file.Acquire();
        return reader(lease.GetSpan(offset, length), state);
    }

    public override void CopyTo(long offset, Span<byte> destination) => file.Read(offset, destination);
}
