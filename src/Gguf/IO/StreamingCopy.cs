using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gguf.IO;

/// <summary>
/// Copies with non-temporal (streaming) stores: the written lines go to memory without being read into the cache
/// first and without evicting what is there. The loader writes each destination byte once and does not read it
/// back soon, so a cached store only costs a read-for-ownership and an eviction per line; on the 2 vCPU EPYC
/// used for docs/benchmarks-load.md, streaming stores copied from a warm mapping into warm memory at 15–19 GB/s
/// against 6–9 GB/s for <c>memcpy</c>. Where the instructions are missing (not x86) or the copy is short, it is
/// a plain <see cref="Span{T}.CopyTo(Span{T})"/>.
/// </summary>
internal static unsafe class StreamingCopy
{
    /// <summary>Below this many bytes the fence and the alignment head cost more than the stores save.</summary>
    internal const int Threshold = 16 << 10;

    /// <summary>Whether this processor has the streaming stores <see cref="Copy"/> uses.</summary>
    public static bool IsSupported => Avx.IsSupported || Sse2.IsSupported;

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
            nuint length = (nuint)source.Length;
            int width = Avx.IsSupported ? 32 : 16;

            // Streaming stores need an aligned address: copy the head up to the next boundary the ordinary way.
            nuint head = (nuint)((width - (int)((nuint)to & (nuint)(width - 1))) & (width - 1));
            source[..(int)head].CopyTo(destination);
            nuint at = head;
            nuint bodyEnd = head + ((length - head) & ~(nuint)(4 * width - 1));
            if (Avx.IsSupported)
            {
                for (; at < bodyEnd; at += 128)
                {
                    Vector256<byte> a = Vector256.Load(from + at);
                    Vector256<byte> b = Vector256.Load(from + at + 32);
                    Vector256<byte> c = Vector256.Load(from + at + 64);
                    Vector256<byte> d = Vector256.Load(from + at + 96);
                    Avx.StoreAlignedNonTemporal(to + at, a);
                    Avx.StoreAlignedNonTemporal(to + at + 32, b);
                    Avx.StoreAlignedNonTemporal(to + at + 64, c);
                    Avx.StoreAlignedNonTemporal(to + at + 96, d);
                }
            }
            else
            {
                for (; at < bodyEnd; at += 64)
                {
                    Vector128<byte> a = Vector128.Load(from + at);
                    Vector128<byte> b = Vector128.Load(from + at + 16);
                    Vector128<byte> c = Vector128.Load(from + at + 32);
                    Vector128<byte> d = Vector128.Load(from + at + 48);
                    Sse2.StoreAlignedNonTemporal(to + at, a);
                    Sse2.StoreAlignedNonTemporal(to + at + 16, b);
                    Sse2.StoreAlignedNonTemporal(to + at + 32, c);
                    Sse2.StoreAlignedNonTemporal(to + at + 48, d);
                }
            }

            // Streaming stores are weakly ordered: fence them, so that whoever is told the chunk is done (the
            // verifier, another thread, a DMA engine reading staging memory) sees every byte.
            Sse.StoreFence();
            source[(int)at..].CopyTo(destination[(int)at..]);
        }
    }
}
