using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Gguf.Quantization;

/// <summary>
/// The small float formats ggml stores scales and values in, decoded to the exact bits ggml's
/// <c>libggml-base</c> produces (tested against it for every one of the 65,536 / 256 codes).
/// </summary>
internal static class ScaleFormats
{
    /// <summary>2⁻¹¹² (bits 0x07800000): rebases a half's exponent (bias 15) onto a single's (bias 127). A constant, so no static-initialization check sits in the kernels' loops.</summary>
    internal const float HalfExponentRebase = 1.9259299443872359e-34f;

    /// <summary>
    /// IEEE half to single as ggml's portable converter computes it: normal values by an exact rescale,
    /// subnormal ones as <c>(0.5 + m·2⁻²⁴) − 0.5</c>. Both steps are exact; the rescale is a float
    /// multiply, so a signalling NaN comes out quiet (bit 22 set), as on ggml's x86 build.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfToSingle(ushort half)
    {
        uint magnitude = half & 0x7FFFu;
        uint sign = (uint)(half & 0x8000) << 16;
        uint bits;
        if (magnitude < 0x0400)
        {
            bits = BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle(magnitude | 0x3F000000u) - 0.5f);
        }
        else
        {
            bits = BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle((magnitude << 13) + 0x70000000u) * HalfExponentRebase);
        }

        return BitConverter.UInt32BitsToSingle(bits | sign);
    }

    /// <summary>Eight halves (zero-extended into 32-bit lanes) to singles, the same arithmetic as <see cref="HalfToSingle(ushort)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HalfToSingle(Vector256<uint> halves)
    {
        Vector256<uint> magnitude = halves & Vector256.Create(0x7FFFu);
        Vector256<uint> sign = (halves & Vector256.Create(0x8000u)) << 16;
        Vector256<float> normal = Vector256.Multiply(
            ((magnitude << 13) + Vector256.Create(0x70000000u)).AsSingle(),
            Vector256.Create(HalfExponentRebase));
        Vector256<float> subnormal = Vector256.Subtract((magnitude | Vector256.Create(0x3F000000u)).AsSingle(), Vector256.Create(0.5f));
        Vector256<uint> isSubnormal = Vector256.LessThan(magnitude, Vector256.Create(0x0400u));
        return (Vector256.ConditionalSelect(isSubnormal, subnormal.AsUInt32(), normal.AsUInt32()) | sign).AsSingle();
    }

    /// <summary>Sixteen halves (zero-extended into 32-bit lanes) to singles, the same arithmetic as <see cref="HalfToSingle(ushort)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> HalfToSingle(Vector512<uint> halves)
    {
        Vector512<uint> magnitude = halves & Vector512.Create(0x7FFFu);
        Vector512<uint> sign = (halves & Vector512.Create(0x8000u)) << 16;
        Vector512<float> normal = Vector512.Multiply(
            ((magnitude << 13) + Vector512.Create(0x70000000u)).AsSingle(),
            Vector512.Create(HalfExponentRebase));
        Vector512<float> subnormal = Vector512.Subtract((magnitude | Vector512.Create(0x3F000000u)).AsSingle(), Vector512.Create(0.5f));
        Vector512<uint> isSubnormal = Vector512.LessThan(magnitude, Vector512.Create(0x0400u));
        return (Vector512.ConditionalSelect(isSubnormal, subnormal.AsUInt32(), normal.AsUInt32()) | sign).AsSingle();
    }

    /// <summary>bfloat16 to single: the 16 bits become the high half, unchanged (a NaN stays signalling).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BFloat16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>
    /// An E8M0 exponent (MXFP4's block scale) as <c>2^(e−128)</c>, half the OCP value because ggml's FP4
    /// table holds doubled values. Codes 0 and 1 are subnormal; 255 is 2¹²⁷ (no NaN).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float E8M0ToSingleHalf(byte exponent) =>
        BitConverter.UInt32BitsToSingle(exponent < 2 ? 0x00200000u << exponent : (uint)(exponent - 1) << 23);

    /// <summary>
    /// A UE4M3 scale (NVFP4's sub-block scale) times 0.5, as ggml decodes it: 4 exponent bits (bias 7),
    /// 3 mantissa bits, bit 7 ignored; 0x00 and 0x7F (the NaN code) decode to 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Ue4m3ToSingleHalf(byte code) => Ue4m3.Table[code];

    private static class Ue4m3
    {
        public static readonly float[] Table = Build();

        private static float[] Build()
        {
            var table = new float[256];
            for (int code = 0; code < 256; code++)
            {
                if (code is 0 or 0x7F)
                {
                    continue;
                }

                int exponent = (code >> 3) & 0xF;
                int mantissa = code & 7;

                // Every value is a small dyadic rational, exact in double and in float.
                double value = exponent == 0
                    ? Math.ScaleB(mantissa, -9)
                    : Math.ScaleB(1.0 + (mantissa / 8.0), exponent - 7);
                table[code] = (float)(value * 0.5);
            }

            return table;
        }
    }
}
