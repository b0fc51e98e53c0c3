using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Gguf.Format;

namespace Gguf.Quantization;

/// <summary>
/// Large outputs bypass the caches: a destination bigger than the last-level cache would only evict
/// useful data, and ordinary stores first read every line they write (read-for-ownership), doubling the
/// memory traffic. So for large decodes each kernel fills a small buffer that stays in L1, and the buffer
/// is copied out with non-temporal stores; the values are the same bits, only the way they reach memory
/// differs. Measured in docs/benchmarks.md (Dequantization).
/// </summary>
internal static class StreamingOutput
{
    /// <summary>Decodes at or above this many elements stream (16 MiB of floats: beyond typical L2 and most of an L3).</summary>
    public const long Threshold = 4L << 20;

    // 16 KB of floats: with the blocks being read, well inside a 32–48 KB L1.
    private const int ScratchElements = 4096;

    /// <summary>Whether a decode of <paramref name="elements"/> floats should stream on this CPU.</summary>
    public static bool Applies(long elements) => elements >= Threshold && Avx.IsSupported;

    /// <summary>Decodes whole blocks through an L1-sized buffer, writing the destination with non-temporal stores.</summary>
    public static unsafe void Decode(DequantKernel kernel, GgmlTypeInfo info, ReadOnlySpan<byte> source, Span<float> destination)
    {
        Span<float> scratch = stackalloc float[ScratchElements];
        int blocksPerPass = ScratchElements / info.BlockSize;
        int blocks = destination.Length / info.BlockSize;

        // The destination is pinned for the whole loop; every pass writes [written, written + count) within it.
        fixed (float* start = destination)
        {
            for (int block = 0; block < blocks; block += blocksPerPass)
            {
                int count = Math.Min(blocksPerPass, blocks - block);
                Span<float> values = scratch[..(count * info.BlockSize)];
                kernel(source.Slice(block * info.BytesPerBlock, count * info.BytesPerBlock), values);
                CopyNonTemporal(values, start + ((long)block * info.BlockSize));
            }
        }

        // Non-temporal stores are weakly ordered: fence them before anyone reads the destination.
        Sse.StoreFence();
    }

    /// <summary>Copies <paramref name="values"/> to <paramref name="target"/>: unaligned head and tail with ordinary stores, the aligned middle with streaming ones.</summary>
    private static unsafe void CopyNonTemporal(ReadOnlySpan<float> values, float* target)
    {
        int width = Avx512F.IsSupported ? 16 : 8;
        int i = 0;

        // Elements up to the first vector-aligned address of `target` (which is at least 4-byte aligned).
        int head = (int)(((nuint)(width * sizeof(float)) - ((nuint)target % (nuint)(width * sizeof(float)))) % (nuint)(width * sizeof(float)) / sizeof(float));
        for (; i < head && i < values.Length; i++)
        {
            target[i] = values[i];
        }

        ref float from = ref Unsafe.AsRef(in values[0]);
        if (Avx512F.IsSupported)
        {
            for (; i + 16 <= values.Length; i += 16)
            {
                // target + i is 64-byte aligned here: head aligned it and each step adds 64 bytes.
                Avx512F.StoreAlignedNonTemporal(target + i, Vector512.LoadUnsafe(ref from, (nuint)i));
            }
        }
        else
        {
            for (; i + 8 <= values.Length; i += 8)
            {
                // target + i is 32-byte aligned here: head aligned it and each step adds 32 bytes.
                Avx.StoreAlignedNonTemporal(target + i, Vector256.LoadUnsafe(ref from, (nuint)i));
            }
        }

        for (; i < values.Length; i++)
        {
            target[i] = values[i];
        }
    }
}
