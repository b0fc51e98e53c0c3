using Gguf.IO;

namespace Gguf.Format;

/// <summary>Lazily decoded metadata read straight from the mapping, each access holding the mapping for the call only.</summary>
internal sealed class MappedByteSource(MappedFile file) : GgufByteSource
{
    public override TResult Read<TState, TResult>(long offset, int length, TState state, SpanReader<TState, TResult> reader) =>
        file.Read(offset, length, state, reader);

    public override void CopyTo(long offset, Span<byte> destination) => file.Read(offset, destination);
}
