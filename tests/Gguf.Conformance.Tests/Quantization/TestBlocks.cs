using System.Buffers.Binary;
using Gguf.LlamaCpp;
using Gguf.Testing;
using Gguf.Format;

namespace Gguf.Conformance.Quantization;

/// <summary>Block bytes for the comparisons: random, with every special scale pattern, and quantized by ggml itself.</summary>
internal static unsafe class TestBlocks
{
    /// <summary>fp16 scale patterns: zeros of both signs, subnormals, the normal extremes, infinities, quiet and signalling NaNs.</summary>
    public static readonly ushort[] SpecialHalves =
    [
        0x0000, 0x8000, 0x0001, 0x8001, 0x0200, 0x03FF, 0x83FF, 0x0400, 0x3C00, 0xBC00, 0x3555, 0x7BFF, 0xFBFF,
        0x7C00, 0xFC00, 0x7C01, 0x7D55, 0x7DFF, 0x7E00, 0x7E01, 0x7FFF, 0xFC01, 0xFE00, 0xFFFF,
    ];

    /// <summary>fp32 scale patterns (Q8_K's d).</summary>
    public static readonly uint[] SpecialSingles =
    [
        0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x3F800000, 0xBF800000, 0x7F7FFFFF,
        0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0x7FA00000, 0xFFC00001, 0xFFFFFFFF,
    ];

    /// <summary>Where each type keeps its fp16 scales (byte offsets within a block).</summary>
    public static int[] HalfScaleOffsets(GgmlType type) => type switch
    {
        GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 or GgmlType.Q1_0 or GgmlType.Q2_0 or GgmlType.IQ4_NL
            or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ3_XXS or GgmlType.IQ3_S
            or GgmlType.IQ1_S or GgmlType.IQ4_XS => [0],
        GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q8_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
        GgmlType.Q2_K => [80, 82],
        GgmlType.Q3_K => [108],
        GgmlType.Q6_K => [208],
        GgmlType.TQ1_0 => [52],
        GgmlType.TQ2_0 => [64],
        _ => [],
    };

    /// <summary>Random bytes, <paramref name="blocks"/> blocks of <paramref name="type"/>.</summary>
    public static byte[] Random(GgmlType type, int blocks, int seed)
    {
        var bytes = new byte[blocks * GgmlTypeInfo.Get(type).BytesPerBlock];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// Random blocks whose scale fields take every special pattern: each fp16 scale (every pattern in every
    /// field, paired with a normal and with a special other field), every E8M0 exponent, every UE4M3 code,
    /// every fp32 pattern; for F16 and BF16 every one of the 65,536 codes.
    /// </summary>
    public static byte[] SpecialScales(GgmlType type, int seed)
    {
        var rng = new Random(seed);
        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        switch (type)
        {
            case GgmlType.F16:
            case GgmlType.BF16:
            {
                var all = new byte[65536 * 2];
                for (int code = 0; code < 65536; code++)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(all.AsSpan(2 * code), (ushort)code);
                }

                return all;
            }

            case GgmlType.MXFP4:
            {
                byte[] blocks = Random(type, 256, seed);
                for (int e = 0; e < 256; e++)
                {
                    blocks[e * info.BytesPerBlock] = (byte)e;
                }

                return blocks;
            }

            case GgmlType.NVFP4:
            {
                byte[] blocks = Random(type, 64, seed);
                for (int code = 0; code < 256; code++)
                {
                    blocks[((code / 4) * info.BytesPerBlock) + (code % 4)] = (byte)code;
                }

                return blocks;
            }

            case GgmlType.Q8_K:
            {
                byte[] blocks = Random(type, SpecialSingles.Length, seed);
                for (int i = 0; i < SpecialSingles.Length; i++)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(blocks.AsSpan(i * info.BytesPerBlock), SpecialSingles[i]);
                }

                return blocks;
            }

            case GgmlType.IQ1_M:
            {
                // The fp16 super-block scale is spread over the top nibbles of the four 16-bit scale words.
                byte[] blocks = Random(type, SpecialHalves.Length, seed);
                for (int i = 0; i < SpecialHalves.Length; i++)
                {
                    Span<byte> scales = blocks.AsSpan((i * info.BytesPerBlock) + 48, 8);
                    for (int k = 0; k < 4; k++)
                    {
                        ushort word = BinaryPrimitives.ReadUInt16LittleEndian(scales[(2 * k)..]);
                        word = (ushort)((word & 0x0FFF) | (((SpecialHalves[i] >> (4 * k)) & 0xF) << 12));
                        BinaryPrimitives.WriteUInt16LittleEndian(scales[(2 * k)..], word);
                    }
                }

                return blocks;
            }
        }

        int[] offsets = HalfScaleOffsets(type);
        if (offsets.Length == 0)
        {
            return Random(type, 16, seed);
        }

        int n = SpecialHalves.Length;
        byte[] result = Random(type, n * 3, seed);
        for (int i = 0; i < n * 3; i++)
        {
            Span<byte> block = result.AsSpan(i * info.BytesPerBlock, info.BytesPerBlock);
            for (int f = 0; f < offsets.Length; f++)
            {
                // Rounds: pattern in field 0 with normal others; in field 1 with normal others; both special.
                int round = i / n, k = i % n;
                ushort normal = (ushort)(0x2000 + rng.Next(0x3000));
                ushort value = round switch
                {
                    0 => f == 0 ? SpecialHalves[k] : normal,
                    1 => f == 1 || offsets.Length == 1 ? SpecialHalves[k] : normal,
                    _ => SpecialHalves[((k * 7) + (f * 5)) % n],
                };
                BinaryPrimitives.WriteUInt16LittleEndian(block[offsets[f]..], value);
            }
        }

        return result;
    }

    /// <summary>The types this build's <c>ggml_quantize_chunk</c> handles (probed once: Q8_1, Q8_K and the plain integer types abort).</summary>
    public static bool GgmlCanQuantize(GgmlType type) =>
        type is not (GgmlType.Q8_1 or GgmlType.Q8_K or GgmlType.I8 or GgmlType.I16 or GgmlType.I32 or GgmlType.I64 or GgmlType.F64);

    /// <summary>
    /// ggml's own quantization of smooth random weights: 4 rows of 512 values with mixed magnitudes, an
    /// importance matrix of ones for the types that need one. The blocks are what real files hold.
    /// </summary>
    public static byte[] QuantizedByGgml(GgmlType type, int seed)
    {
        const int Rows = 4, PerRow = 512;
        var rng = new Random(seed);
        var values = new float[Rows * PerRow];
        for (int i = 0; i < values.Length; i++)
        {
            double gaussian = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            values[i] = (float)(gaussian * Math.Pow(10, rng.Next(-3, 1)) + (i % 97 == 0 ? 0.5 : 0));
        }

        var importance = Enumerable.Repeat(1f, PerRow).ToArray();
        var output = new byte[Rows * PerRow / GgmlTypeInfo.Get(type).BlockSize * GgmlTypeInfo.Get(type).BytesPerBlock];
        GgmlQuantNative.ggml_quantize_init((int)type);
        fixed (float* x = values)
        fixed (float* w = importance)
        fixed (byte* y = output)
        {
            nuint written = GgmlQuantNative.ggml_quantize_chunk((int)type, x, y, 0, Rows, PerRow, w);
            Assert.Equal((nuint)output.Length, written);
        }

        return output;
    }
}
