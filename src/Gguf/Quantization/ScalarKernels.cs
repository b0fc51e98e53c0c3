using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Gguf.Quantization;

/// <summary>
/// The reference kernels: one loop per type, block by block, in the order and with the float operations
/// of ggml's <c>to_float</c> (ggml-quants.c): the same products and sums, each rounded to float in the
/// same order, no fused multiply-add. The SIMD kernels must give the same bits; tests run both.
/// Each takes whole blocks: <c>source.Length</c> is a multiple of the block's bytes and
/// <c>destination.Length</c> the matching number of elements (checked by <see cref="DequantKernels"/>).
/// </summary>
internal static class ScalarKernels
{
    private static float Half(ReadOnlySpan<byte> bytes, int offset) => ScaleFormats.HalfToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[offset..]));

    /// <summary>
    /// product + offset, where a NaN product wins over a NaN offset: ggml's x86 code returns the first
    /// operand's NaN, and a commutative add may be emitted with its operands either way round.
    /// </summary>
    private static float PlusOffset(float product, float offset) => float.IsNaN(product) ? product : product + offset;

    // ---- plain element types (ggml has to_float only for F16 and BF16; the others are C casts)

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F32(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(4 * i)..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F16(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = Half(source, 2 * i);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BF16(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = ScaleFormats.BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(source[(2 * i)..]));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void I8(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (sbyte)source[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void I16(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = BinaryPrimitives.ReadInt16LittleEndian(source[(2 * i)..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void I32(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = BinaryPrimitives.ReadInt32LittleEndian(source[(4 * i)..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void I64(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = BinaryPrimitives.ReadInt64LittleEndian(source[(8 * i)..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F64(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(source[(8 * i)..]);
        }
    }

    // ---- blocks of 32..128 with one scale

    /// <summary>Q4_0: fp16 d, 16 bytes of nibbles; low nibbles are elements 0–15, high ones 16–31; x = (q − 8)·d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 32; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 18, 18);
            Span<float> y = destination.Slice(b * 32, 32);
            float d = Half(block, 0);
            for (int j = 0; j < 16; j++)
            {
                y[j] = ((block[2 + j] & 0xF) - 8) * d;
                y[j + 16] = ((block[2 + j] >> 4) - 8) * d;
            }
        }
    }

    /// <summary>Q4_1: fp16 d and m, 16 bytes of nibbles; x = q·d + m (a NaN product wins over a NaN m).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_1(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 32; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 20, 20);
            Span<float> y = destination.Slice(b * 32, 32);
            float d = Half(block, 0);
            float m = Half(block, 2);
            for (int j = 0; j < 16; j++)
            {
                y[j] = PlusOffset((block[4 + j] & 0xF) * d, m);
                y[j + 16] = PlusOffset((block[4 + j] >> 4) * d, m);
            }
        }
    }

    /// <summary>Q5_0: fp16 d, 32 high bits, 16 bytes of nibbles; x = (q − 16)·d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q5_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 32; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 22, 22);
            Span<float> y = destination.Slice(b * 32, 32);
            float d = Half(block, 0);
            uint high = BinaryPrimitives.ReadUInt32LittleEndian(block[2..]);
            for (int j = 0; j < 16; j++)
            {
                int low = (int)(((high >> j) << 4) & 0x10);
                int upper = (int)((high >> (j + 12)) & 0x10);
                y[j] = (((block[6 + j] & 0xF) | low) - 16) * d;
                y[j + 16] = (((block[6 + j] >> 4) | upper) - 16) * d;
            }
        }
    }

    /// <summary>Q5_1: fp16 d and m, 32 high bits, 16 bytes of nibbles; x = q·d + m.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q5_1(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 32; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 24, 24);
            Span<float> y = destination.Slice(b * 32, 32);
            float d = Half(block, 0);
            float m = Half(block, 2);
            uint high = BinaryPrimitives.ReadUInt32LittleEndian(block[4..]);
            for (int j = 0; j < 16; j++)
            {
                int low = (int)(((high >> j) << 4) & 0x10);
                int upper = (int)((high >> (j + 12)) & 0x10);
                y[j] = PlusOffset(((block[8 + j] & 0xF) | low) * d, m);
                y[j + 16] = PlusOffset(((block[8 + j] >> 4) | upper) * d, m);
            }
        }
    }

    /// <summary>Q8_0: fp16 d, 32 signed bytes; x = q·d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_0(ReadOnlySpan<byte> source, Span<float> destination) => Int8Blocks(source, destination, 34, 2);

    /// <summary>
    /// Q8_1: fp16 d, fp16 s (d·Σq, a dot-product helper), 32 signed bytes. ggml has no <c>to_float</c> for
    /// it; by its block definition x = q·d, and s plays no part.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_1(ReadOnlySpan<byte> source, Span<float> destination) => Int8Blocks(source, destination, 36, 4);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Int8Blocks(ReadOnlySpan<byte> source, Span<float> destination, int blockBytes, int quantsAt)
    {
        for (int b = 0; b < destination.Length / 32; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * blockBytes, blockBytes);
            Span<float> y = destination.Slice(b * 32, 32);
            float d = Half(block, 0);
            for (int j = 0; j < 32; j++)
            {
                y[j] = (sbyte)block[quantsAt + j] * d;
            }
        }
    }

    /// <summary>Q1_0: fp16 d, 128 sign bits (element j is bit j%8 of byte j/8); x = bit ? d : −d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q1_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 128; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 18, 18);
            Span<float> y = destination.Slice(b * 128, 128);
            int d = BitConverter.SingleToInt32Bits(Half(block, 0));
            for (int j = 0; j < 128; j++)
            {
                // d, or −d (the sign bit flipped, as ggml negates) where the bit is clear; no branch on random bits.
                int clear = ~(block[2 + (j >> 3)] >> (j & 7)) & 1;
                y[j] = BitConverter.Int32BitsToSingle(d ^ (clear << 31));
            }
        }
    }

    /// <summary>Q2_0: fp16 d, 64 two-bit codes (element j is bits 2·(j%4) of byte j/4); x = (q − 1)·d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q2_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 64; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 18, 18);
            Span<float> y = destination.Slice(b * 64, 64);
            float d = Half(block, 0);
            for (int j = 0; j < 64; j++)
            {
                int q = (block[2 + (j >> 2)] >> ((j & 3) * 2)) & 3;
                y[j] = (q - 1) * d;
            }
        }
    }

    /// <summary>MXFP4: an E8M0 exponent, 16 bytes of FP4 (E2M1) codes; x = table[code]·2^(e−128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MXFP4(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<sbyte> values = QuantTables.Mxfp4Values;
        for (int b = 0; b < destination.Length / 32; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 17, 17);
            Span<float> y = destination.Slice(b * 32, 32);
            float d = ScaleFormats.E8M0ToSingleHalf(block[0]);
            for (int j = 0; j < 16; j++)
            {
                y[j] = values[block[1 + j] & 0xF] * d;
                y[j + 16] = values[block[1 + j] >> 4] * d;
            }
        }
    }

    /// <summary>NVFP4: four UE4M3 scales, then 4 sub-blocks of 16 FP4 codes (8 bytes each, low nibbles first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NVFP4(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<sbyte> values = QuantTables.Mxfp4Values;
        for (int b = 0; b < destination.Length / 64; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 36, 36);
            for (int s = 0; s < 4; s++)
            {
                float d = ScaleFormats.Ue4m3ToSingleHalf(block[s]);
                Span<float> y = destination.Slice((b * 64) + (s * 16), 16);
                for (int j = 0; j < 8; j++)
                {
                    byte q = block[4 + (s * 8) + j];
                    y[j] = values[q & 0xF] * d;
                    y[j + 8] = values[q >> 4] * d;
                }
            }
        }
    }

    /// <summary>IQ4_NL: fp16 d, 16 bytes of codes into a non-linear table; x = d·table[code].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ4_NL(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<sbyte> values = QuantTables.Iq4NlValues;
        for (int b = 0; b < destination.Length / 32; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 18, 18);
            Span<float> y = destination.Slice(b * 32, 32);
            float d = Half(block, 0);
            for (int j = 0; j < 16; j++)
            {
                y[j] = d * values[block[2 + j] & 0xF];
                y[j + 16] = d * values[block[2 + j] >> 4];
            }
        }
    }

    // ---- k-quants: super-blocks of 256

    /// <summary>Q2_K: 16 scale/min nibble pairs, 64 bytes of 2-bit codes, fp16 d and dmin; x = d·sc·q − dmin·m.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q2_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 84, 84);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 80);
            float min = Half(block, 82);
            int output = 0;
            int scale = 0;
            for (int half = 0; half < 2; half++)
            {
                ReadOnlySpan<byte> q = block.Slice(16 + (half * 32), 32);
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int group = 0; group < 2; group++)
                    {
                        byte sc = block[scale++];
                        float dl = d * (sc & 0xF);
                        float ml = min * (sc >> 4);
                        for (int l = 0; l < 16; l++)
                        {
                            y[output++] = (dl * ((q[(group * 16) + l] >> shift) & 3)) - ml;
                        }
                    }
                }
            }
        }
    }

    /// <summary>The 16 six-bit scales of Q3_K (12 bytes: low nibbles, then 2-bit high parts), each minus 32.</summary>
    private static void Q3KScales(ReadOnlySpan<byte> packed, Span<int> scales)
    {
        for (int j = 0; j < 16; j++)
        {
            int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
            int high = (packed[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
            scales[j] = (low | (high << 4)) - 32;
        }
    }

    /// <summary>Q3_K: 32 bytes of high bits, 64 bytes of 2-bit codes, 12 bytes of scales, fp16 d; x = d·(sc−32)·(q − 4·!h).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q3_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        Span<int> scales = stackalloc int[16];
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 110, 110);
            Span<float> y = destination.Slice(b * 256, 256);
            float dAll = Half(block, 108);
            Q3KScales(block.Slice(96, 12), scales);
            ReadOnlySpan<byte> hmask = block[..32];
            int output = 0;
            int scale = 0;
            int bit = 0;
            for (int half = 0; half < 2; half++)
            {
                ReadOnlySpan<byte> q = block.Slice(32 + (half * 32), 32);
                for (int shift = 0; shift < 8; shift += 2, bit++)
                {
                    for (int group = 0; group < 2; group++)
                    {
                        float dl = dAll * scales[scale++];
                        for (int l = (group * 16); l < (group * 16) + 16; l++)
                        {
                            // code − 4 where the high bit is clear, without a branch on random bits
                            int value = ((q[l] >> shift) & 3) - ((~(hmask[l] >> bit) & 1) << 2);
                            y[output++] = dl * value;
                        }
                    }
                }
            }
        }
    }

    /// <summary>The j-th 6-bit scale and min of Q4_K/Q5_K from their 12 packed bytes.</summary>
    private static (int Scale, int Min) ScaleMinK4(int j, ReadOnlySpan<byte> q) =>
        j < 4
            ? (q[j] & 63, q[j + 4] & 63)
            : ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4));

    /// <summary>Q4_K: fp16 d and dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles; x = d·sc·q − dmin·m.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 144, 144);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 0);
            float min = Half(block, 2);
            ReadOnlySpan<byte> scales = block.Slice(4, 12);
            for (int j = 0; j < 4; j++)
            {
                var (sc1, m1) = ScaleMinK4(2 * j, scales);
                var (sc2, m2) = ScaleMinK4((2 * j) + 1, scales);
                float d1 = d * sc1, min1 = min * m1, d2 = d * sc2, min2 = min * m2;
                ReadOnlySpan<byte> q = block.Slice(16 + (j * 32), 32);
                Span<float> out64 = y.Slice(j * 64, 64);
                for (int l = 0; l < 32; l++)
                {
                    out64[l] = (d1 * (q[l] & 0xF)) - min1;
                    out64[l + 32] = (d2 * (q[l] >> 4)) - min2;
                }
            }
        }
    }

    /// <summary>Q5_K: as Q4_K plus 32 bytes of fifth bits (bit 2j and 2j+1 for the j-th 64 elements).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q5_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 176, 176);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 0);
            float min = Half(block, 2);
            ReadOnlySpan<byte> scales = block.Slice(4, 12);
            ReadOnlySpan<byte> qh = block.Slice(16, 32);
            for (int j = 0; j < 4; j++)
            {
                var (sc1, m1) = ScaleMinK4(2 * j, scales);
                var (sc2, m2) = ScaleMinK4((2 * j) + 1, scales);
                float d1 = d * sc1, min1 = min * m1, d2 = d * sc2, min2 = min * m2;
                ReadOnlySpan<byte> ql = block.Slice(48 + (j * 32), 32);
                Span<float> out64 = y.Slice(j * 64, 64);
                for (int l = 0; l < 32; l++)
                {
                    int h1 = ((qh[l] >> (2 * j)) & 1) << 4;
                    int h2 = ((qh[l] >> ((2 * j) + 1)) & 1) << 4;
                    out64[l] = (d1 * ((ql[l] & 0xF) + h1)) - min1;
                    out64[l + 32] = (d2 * ((ql[l] >> 4) + h2)) - min2;
                }
            }
        }
    }

    /// <summary>Q6_K: 128 bytes of low nibbles, 64 of high 2-bit parts, 16 signed scales, fp16 d; x = d·sc·(q − 32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q6_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 210, 210);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 208);
            for (int half = 0; half < 2; half++)
            {
                ReadOnlySpan<byte> ql = block.Slice(half * 64, 64);
                ReadOnlySpan<byte> qh = block.Slice(128 + (half * 32), 32);
                ReadOnlySpan<byte> sc = block.Slice(192 + (half * 8), 8);
                Span<float> out128 = y.Slice(half * 128, 128);
                for (int l = 0; l < 32; l++)
                {
                    int s = l / 16;
                    int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    out128[l] = d * (sbyte)sc[s] * q1;
                    out128[l + 32] = d * (sbyte)sc[s + 2] * q2;
                    out128[l + 64] = d * (sbyte)sc[s + 4] * q3;
                    out128[l + 96] = d * (sbyte)sc[s + 6] * q4;
                }
            }
        }
    }

    /// <summary>
    /// Q8_K: an fp32 d, 256 signed bytes, 16 int16 group sums (a dot-product helper). ggml's traits have no
    /// <c>to_float</c> for it; this follows its block definition, as ggml's exported
    /// <c>dequantize_row_q8_K</c> does: x = d·q.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 292, 292);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = BinaryPrimitives.ReadSingleLittleEndian(block);
            for (int j = 0; j < 256; j++)
            {
                y[j] = d * (sbyte)block[4 + j];
            }
        }
    }

    /// <summary>IQ4_XS: fp16 d, 16 bits of high scale parts, 4 bytes of low parts, 128 bytes of codes; x = d·(ls−32)·table[code].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ4_XS(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<sbyte> values = QuantTables.Iq4NlValues;
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 136, 136);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 0);
            int scalesHigh = BinaryPrimitives.ReadUInt16LittleEndian(block[2..]);
            for (int ib = 0; ib < 8; ib++)
            {
                int ls = ((block[4 + (ib / 2)] >> (4 * (ib % 2))) & 0xF) | (((scalesHigh >> (2 * ib)) & 3) << 4);
                float dl = d * (ls - 32);
                ReadOnlySpan<byte> qs = block.Slice(8 + (ib * 16), 16);
                for (int j = 0; j < 16; j++)
                {
                    y[(ib * 32) + j] = dl * values[qs[j] & 0xF];
                    y[(ib * 32) + j + 16] = dl * values[qs[j] >> 4];
                }
            }
        }
    }

    // ---- ternary

    /// <summary>
    /// TQ1_0: 48 bytes of five base-3 digits each, 4 bytes of four digits each, fp16 d; digit n of byte q is
    /// ((q·3ⁿ mod 256)·3) >> 8; x = (digit − 1)·d.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TQ1_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<byte> powers = [1, 3, 9, 27, 81, 243];
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 54, 54);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 52);
            int output = 0;
            foreach (var (start, width) in (ReadOnlySpan<(int, int)>)[(0, 32), (32, 16)])
            {
                for (int n = 0; n < 5; n++)
                {
                    for (int m = 0; m < width; m++)
                    {
                        y[output++] = (Trit(block[start + m], powers[n]) - 1) * d;
                    }
                }
            }

            for (int n = 0; n < 4; n++)
            {
                for (int j = 0; j < 4; j++)
                {
                    y[output++] = (Trit(block[48 + j], powers[n]) - 1) * d;
                }
            }
        }
    }

    private static int Trit(byte packed, byte power) => ((byte)(packed * power) * 3) >> 8;

    /// <summary>TQ2_0: 64 bytes of 2-bit codes (4 per byte, 32-byte groups), fp16 d; x = (q − 1)·d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TQ2_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 66, 66);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 64);
            int output = 0;
            for (int j = 0; j < 64; j += 32)
            {
                for (int l = 0; l < 4; l++)
                {
                    for (int m = 0; m < 32; m++)
                    {
                        y[output++] = (((block[j + m] >> (2 * l)) & 3) - 1) * d;
                    }
                }
            }
        }
    }

    // ---- i-quants: grids of 8 (or 4) magnitudes, signs with an implied parity bit

    /// <summary>Eight grid magnitudes times <paramref name="scale"/>, negated where the sign byte's bit is set.</summary>
    private static void GridTimes(ReadOnlySpan<byte> grid, int entry, int width, float scale, int signs, Span<float> y)
    {
        for (int j = 0; j < width; j++)
        {
            // Negation is a flip of the sign bit (as in ggml's compiled code), done without a branch.
            int value = BitConverter.SingleToInt32Bits(scale * grid[(entry * width) + j]);
            y[j] = BitConverter.Int32BitsToSingle(value ^ (((signs >> j) & 1) << 31));
        }
    }

    /// <summary>IQ2_XXS: fp16 d, then per 32 elements 4 grid bytes and a 32-bit word of 4×7 sign bits and a 4-bit scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ2_XXS(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<byte> grid = QuantTables.Iq2XxsGrid;
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 66, 66);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 0);
            for (int ib = 0; ib < 8; ib++)
            {
                ReadOnlySpan<byte> indices = block.Slice(2 + (8 * ib), 4);
                uint signsAndScale = BinaryPrimitives.ReadUInt32LittleEndian(block[(6 + (8 * ib))..]);
                float db = d * (0.5f + (signsAndScale >> 28)) * 0.25f;
                for (int l = 0; l < 4; l++)
                {
                    int signs = QuantTables.SignsFromIndex((int)((signsAndScale >> (7 * l)) & 127));
                    GridTimes(grid, indices[l], 8, db, signs, y.Slice((ib * 32) + (l * 8), 8));
                }
            }
        }
    }

    /// <summary>IQ2_XS: fp16 d, 32 words of 9-bit grid index and 7 sign bits, 8 bytes of two 4-bit scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ2_XS(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<byte> grid = QuantTables.Iq2XsGrid;
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 74, 74);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 0);
            for (int ib = 0; ib < 8; ib++)
            {
                byte scales = block[66 + ib];
                float db0 = d * (0.5f + (scales & 0xF)) * 0.25f;
                float db1 = d * (0.5f + (scales >> 4)) * 0.25f;
                for (int l = 0; l < 4; l++)
                {
                    int word = BinaryPrimitives.ReadUInt16LittleEndian(block[(2 + (2 * ((4 * ib) + l)))..]);
                    int signs = QuantTables.SignsFromIndex(word >> 9);
                    GridTimes(grid, word & 511, 8, l < 2 ? db0 : db1, signs, y.Slice((ib * 32) + (l * 8), 8));
                }
            }
        }
    }

    /// <summary>IQ2_S: fp16 d, 32 grid bytes, 32 sign bytes, 8 bytes of 2-bit index extensions, 8 scale bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ2_S(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<byte> grid = QuantTables.Iq2SGrid;
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 82, 82);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 0);
            for (int ib = 0; ib < 8; ib++)
            {
                byte scales = block[74 + ib];
                float db0 = d * (0.5f + (scales & 0xF)) * 0.25f;
                float db1 = d * (0.5f + (scales >> 4)) * 0.25f;
                int high = block[66 + ib];
                for (int l = 0; l < 4; l++)
                {
                    int index = block[2 + (4 * ib) + l] | ((high << (8 - (2 * l))) & 0x300);
                    int signs = block[34 + (4 * ib) + l];
                    GridTimes(grid, index, 8, l < 2 ? db0 : db1, signs, y.Slice((ib * 32) + (l * 8), 8));
                }
            }
        }
    }

    /// <summary>IQ3_XXS: fp16 d, 64 grid bytes (4-wide grid), then per 32 elements a word of 4×7 sign bits and a 4-bit scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ3_XXS(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<byte> grid = QuantTables.Iq3XxsGrid;
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 98, 98);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 0);
            for (int ib = 0; ib < 8; ib++)
            {
                uint signsAndScale = BinaryPrimitives.ReadUInt32LittleEndian(block[(66 + (4 * ib))..]);
                float db = d * (0.5f + (signsAndScale >> 28)) * 0.5f;
                for (int l = 0; l < 4; l++)
                {
                    int signs = QuantTables.SignsFromIndex((int)((signsAndScale >> (7 * l)) & 127));
                    Span<float> out8 = y.Slice((ib * 32) + (l * 8), 8);
                    GridTimes(grid, block[2 + (8 * ib) + (2 * l)], 4, db, signs, out8);
                    GridTimes(grid, block[2 + (8 * ib) + (2 * l) + 1], 4, db, signs >> 4, out8[4..]);
                }
            }
        }
    }

    /// <summary>IQ3_S: fp16 d, 64 grid bytes, 8 bytes of ninth index bits, 32 sign bytes, 4 bytes of two 4-bit scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ3_S(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<byte> grid = QuantTables.Iq3SGrid;
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 110, 110);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 0);
            for (int ib = 0; ib < 8; ib++)
            {
                byte scales = block[106 + (ib / 2)];
                float db = d * (1 + (2 * ((ib & 1) == 0 ? scales & 0xF : scales >> 4)));
                int high = block[66 + ib];
                for (int l = 0; l < 4; l++)
                {
                    int index1 = block[2 + (8 * ib) + (2 * l)] | ((high << (8 - (2 * l))) & 256);
                    int index2 = block[2 + (8 * ib) + (2 * l) + 1] | ((high << (7 - (2 * l))) & 256);
                    int signs = block[74 + (4 * ib) + l];
                    Span<float> out8 = y.Slice((ib * 32) + (l * 8), 8);
                    GridTimes(grid, index1, 4, db, signs, out8);
                    GridTimes(grid, index2, 4, db, signs >> 4, out8[4..]);
                }
            }
        }
    }

    /// <summary>IQ1_S: fp16 d, 32 grid bytes, 8 words of 4×3 index bits, a 3-bit scale and a delta sign; x = dl·(grid ± 1/8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ1_S(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<sbyte> grid = QuantTables.Iq1SGrid;
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 50, 50);
            Span<float> y = destination.Slice(b * 256, 256);
            float d = Half(block, 0);
            for (int ib = 0; ib < 8; ib++)
            {
                int qh = BinaryPrimitives.ReadUInt16LittleEndian(block[(34 + (2 * ib))..]);
                float dl = d * ((2 * ((qh >> 12) & 7)) + 1);
                float delta = (qh & 0x8000) != 0 ? -0.125f : 0.125f;
                for (int l = 0; l < 4; l++)
                {
                    int index = block[2 + (4 * ib) + l] | (((qh >> (3 * l)) & 7) << 8);
                    for (int j = 0; j < 8; j++)
                    {
                        y[(ib * 32) + (l * 8) + j] = dl * (grid[(index * 8) + j] + delta);
                    }
                }
            }
        }
    }

    /// <summary>
    /// IQ1_M: 32 grid bytes, 16 bytes of 2×(3 index bits + delta sign), 8 bytes holding eight pairs of 3-bit
    /// scales and, in their top nibbles, the fp16 super-block scale.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ1_M(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<sbyte> grid = QuantTables.Iq1SGrid;
        Span<int> sc = stackalloc int[4];
        for (int b = 0; b < destination.Length / 256; b++)
        {
            ReadOnlySpan<byte> block = source.Slice(b * 56, 56);
            Span<float> y = destination.Slice(b * 256, 256);
            for (int k = 0; k < 4; k++)
            {
                sc[k] = BinaryPrimitives.ReadUInt16LittleEndian(block[(48 + (2 * k))..]);
            }

            int scaleBits = (sc[0] >> 12) | ((sc[1] >> 8) & 0x00F0) | ((sc[2] >> 4) & 0x0F00) | (sc[3] & 0xF000);
            float d = ScaleFormats.HalfToSingle((ushort)scaleBits);
            for (int ib = 0; ib < 8; ib++)
            {
                int shift = 6 * (ib % 2);
                float dl1 = d * ((2 * ((sc[ib / 2] >> shift) & 7)) + 1);
                float dl2 = d * ((2 * ((sc[ib / 2] >> (shift + 3)) & 7)) + 1);
                int qh0 = block[32 + (2 * ib)];
                int qh1 = block[32 + (2 * ib) + 1];
                ReadOnlySpan<byte> qs = block.Slice(4 * ib, 4);
                Span<float> out32 = y.Slice(ib * 32, 32);
                Iq1MGroup(grid, qs[0] | ((qh0 << 8) & 0x700), (qh0 & 0x08) != 0, dl1, out32[..8]);
                Iq1MGroup(grid, qs[1] | ((qh0 << 4) & 0x700), (qh0 & 0x80) != 0, dl1, out32.Slice(8, 8));
                Iq1MGroup(grid, qs[2] | ((qh1 << 8) & 0x700), (qh1 & 0x08) != 0, dl2, out32.Slice(16, 8));
                Iq1MGroup(grid, qs[3] | ((qh1 << 4) & 0x700), (qh1 & 0x80) != 0, dl2, out32.Slice(24, 8));
            }
        }
    }

    private static void Iq1MGroup(ReadOnlySpan<sbyte> grid, int index, bool negativeDelta, float dl, Span<float> y)
    {
        float delta = negativeDelta ? -0.125f : 0.125f;
        for (int j = 0; j < 8; j++)
        {
            y[j] = dl * (grid[(index * 8) + j] + delta);
        }
    }
}
