using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gguf.IO;

/// <summary>
/// Copies with non-temporal (streaming) stores: the written lines go to memory without being read into the cache
/// first and without evicting what is there. The loader writes each destination byte once and does not read it
/// back soon, so a cached store only costs a read-for-ownership and an eviction per line; on the 2 vCPU EPYC
/// used for docs/benchmarks-load.md, streaming stores copied from a warm mapping into warm memory at 15–19 GB/s
/// against 6–9 GB/s for <c>memcpy</c>. Where the instructions are missing (not x64) or the copy is short, it is
/// a plain <see cref="Span{T}.CopyTo(Span{T})"/>.
/// </summary>
internal static unsafe class StreamingCopy
{
    /// <summary>Below this many bytes the fence and the alignment head cost more than the stores save.</summary>
    internal const int Threshold = 16 << 10;

    // 16-byte stores: the processor combines them into whole 64-byte lines, and 32-byte (AVX) stores measured
    // no faster (12–17 GB/s both, same probe), so one SSE2 loop serves every x64 processor.
    private const int Width = 16;

    /// <summary>Whether this processor has the streaming stores <see cref="Copy(ReadOnlySpan{byte}, Span{byte})"/> uses.</summary>
    public static bool IsSupported => Sse2.IsSupported;

    /// <summary>
    /// Copies <paramref name="source"/> to the start of <paramref name="destination"/>: with streaming stores when
    /// <paramref name="streaming"/> is true, else a plain <see cref="ReadOnlySpan{T}.CopyTo(Span{T})"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="source"/>.</exception>
    public static void Copy(ReadOnlySpan<byte> source, Span<byte> destination, bool streaming)
    {
        if (streaming)
        {
            Copy(source, destination);
        }
        else
        {
            source.CopyTo(destination);
        }
    }

    /// <summary>
    /// Copies <paramref name="source"/> to the start of <paramref name="destination"/> (which must not overlap it),
    /// like <see cref="ReadOnlySpan{T}.CopyTo(Span{T})"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="source"/>.</exception>
    public static void Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("the destination is shorter than the source", nameof(destination));
        }

        if (source.Length < Threshold || !IsSupported)
        {
            source.CopyTo(destination);
            return;
        }

        fixed (byte* from = source)
        fixed (byte* to = destination)
        {
            // Streaming stores need an aligned address: copy the head up to the next boundary the ordinary way.
            int head = (Width - (int)((nuint)to & (Width - 1))) & (Width - 1);
            source[..head].CopyTo(destination);
            nuint at = (nuint)head;
            nuint bodyEnd = at + ((nuint)(source.Length - head) & ~(nuint)(4 * Width - 1));
            for (; at < bodyEnd; at += 4 * Width)
            {
                Vector128<byte> a = Vector128.Load(from + at);
                Vector128<byte> b = Vector128.Load(from + at + Width);
                Vector128<byte> c = Vector128.Load(from + at + (2 * Width));
                Vector128<byte> d = Vector128.Load(from + at + (3 * Width));
                Sse2.StoreAlignedNonTemporal(to + at, a);
                Sse2.StoreAlignedNonTemporal(to + at + Width, b);
                Sse2.StoreAlignedNonTemporal(to + at + (2 * Width), c);
                Sse2.StoreAlignedNonTemporal(to + at + (3 * Width), d);
            }

            // Streaming stores are weakly ordered: fence them, so that whoever is told the chunk is done (the
            // verifier, another thread) sees every byte.
            Sse.StoreFence();
            source[(int)at..].CopyTo(destination[(int)at..]);
        }
    }
}
