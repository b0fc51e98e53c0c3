using System.Runtime.InteropServices;
using Gguf.IO;

namespace Gguf.Loading;

/// <summary>
/// A buffer whose start is aligned for <c>O_DIRECT</c> reads: a pinned array (it never moves) with a window that
/// begins at the first aligned address in it. Owned by the GC; no native memory, no unsafe code.
/// </summary>
internal sealed class AlignedBuffer
{
    private readonly byte[] _array;
    private readonly int _start;

    /// <summary>Creates a buffer of <paramref name="length"/> bytes starting at a multiple of <paramref name="alignment"/>.</summary>
    public AlignedBuffer(int length, int alignment)
    {
        _array = GC.AllocateUninitializedArray<byte>(length + alignment, pinned: true);
        long address = Marshal.UnsafeAddrOfPinnedArrayElement(_array, 0);
        _start = (int)(Align.Up(address, alignment) - address);
        Length = length;
    }

    /// <summary>The usable length.</summary>
    public int Length { get; }

    /// <summary>The aligned bytes.</summary>
    public Span<byte> Span => _array.AsSpan(_start, Length);
}
