using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Gguf.Format;
using Gguf.Model;
using Gguf.Quantization;

namespace Gguf.Tests.Quantization;

/// <summary>
/// The kernels on their own: the SIMD and scalar paths give the same bits for every type, known blocks give
/// the values their formulas say, and the plain types convert as C casts. (Bit-exactness against ggml itself
/// is tested in Gguf.Conformance.Tests/Quantization.) Run once more with DOTNET_EnableHWIntrinsic=0 to
/// exercise the scalar path as the only path (docs/quantization.md).
/// </summary>
public sealed class DequantKernelTests
{
    public static TheoryData<string> AllTypes => DequantData.AllTypes;

    [Fact]
    public void EveryFileType_IsSupported_AndHasSimdKernelWhereAvx2Runs()
    {
        foreach (GgmlType type in DequantData.FileTypes)
        {
            Assert.True(Dequantizer.IsSupported(type), type.ToString());
            if (Avx2.IsSupported && Vector256.IsHardwareAccelerated)
            {
                Assert.NotNull(DequantKernels.GetSimd(type));
            }
        }

        Assert.False(Dequantizer.IsSupported((GgmlType)4));
        Assert.False(Dequantizer.IsSupported((GgmlType)31));
        Assert.False(Dequantizer.IsSupported((GgmlType)43));
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void SimdAndScalar_GiveTheSameBits(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        DequantKernel? simd = DequantKernels.GetSimd(type);
        if (simd is null)
        {
            // The only reason a type has no SIMD kernel: this CPU (or DOTNET_EnableHWIntrinsic=0) has no AVX2.
            Assert.False(DequantKernels.SimdAvailable);
            return;
        }

        GgmlTypeInfo info = GgmlTypeInfo.Get(type);

        // Odd block counts exercise the plain types' remainder loops.
        foreach (int blocks in new[] { 1, 7, 61, info.BlockSize == 1 ? 4099 : 130 })
        {
            byte[] source = DequantData.RandomBlocks(type, blocks, seed: blocks);
            var expected = new float[blocks * info.BlockSize];
            var actual = new float[blocks * info.BlockSize];
            DequantKernels.GetScalar(type)(source, expected);
            simd(source, actual);
            DequantData.AssertSameBits(expected, actual, $"{type}, {blocks} blocks");
        }
    }

    [Fact]
    public void ForceScalar_RunsTheScalarKernels_WithTheSameBits()
    {
        byte[] source = DequantData.RandomBlocks(GgmlType.Q6_K, 9, seed: 6);
        var simd = new float[9 * 256];
        var scalar = new float[9 * 256];
        Dequantizer.Dequantize(GgmlType.Q6_K, source, simd);
        bool before = DequantKernels.ForceScalar;
        try
        {
            // Process-wide, but harmless to tests running alongside: both paths give the same bits.
            DequantKernels.ForceScalar = true;
            Assert.False(DequantKernels.RunsSimd(GgmlType.Q6_K));
            Assert.Same(DequantKernels.GetScalar(GgmlType.Q6_K), DequantKernels.Get(GgmlType.Q6_K));
            Dequantizer.Dequantize(GgmlType.Q6_K, source, scalar);
        }
        finally
        {
            DequantKernels.ForceScalar = before;
        }

        DequantData.AssertSameBits(simd, scalar, "forced scalar");
    }

    [Fact]
    public void F16_EveryCode_EqualsDotNetsHalfConversion_NaNsMadeQuiet()
    {
        var codes = new ushort[65536];
        for (int i = 0; i < codes.Length; i++)
        {
            codes[i] = (ushort)i;
        }

        var output = new float[codes.Length];
        Dequantizer.Dequantize(GgmlType.F16, DequantData.Half(codes), output);
        for (int i = 0; i < codes.Length; i++)
        {
            var half = BitConverter.UInt16BitsToHalf((ushort)i);
            if (Half.IsNaN(half))
            {
                // Sign and payload kept, the quiet bit set (ggml's x86 build converts through a float multiply).
                uint expected = ((uint)(i & 0x8000) << 16) | 0x7F800000u | 0x00400000u | ((uint)(i & 0x3FF) << 13);
                Assert.Equal(expected, DequantData.Bits(output[i]));
            }
            else
            {
                Assert.Equal(DequantData.Bits((float)half), DequantData.Bits(output[i]));
            }
        }
    }

    [Fact]
    public void BF16_IsTheHighHalfOfTheFloat_EvenForSignallingNaNs()
    {
        ushort[] codes = [0x0000, 0x8000, 0x3F80, 0xBF80, 0x7F80, 0xFF80, 0x7F81, 0x7FC0, 0xFFFF, 0x0001];
        var output = new float[codes.Length];
        Dequantizer.Dequantize(GgmlType.BF16, DequantData.Half(codes), output);
        for (int i = 0; i < codes.Length; i++)
        {
            Assert.Equal((uint)codes[i] << 16, DequantData.Bits(output[i]));
        }
    }

    [Fact]
    public void Integers_ConvertAsCCasts_RoundingToNearestEven()
    {
        Assert.Equal([-128f, -1f, 0f, 127f], Decode(GgmlType.I8, [0x80, 0xFF, 0x00, 0x7F]));
        Assert.Equal([-32768f, 32767f], Decode(GgmlType.I16, LittleEndian16(-32768, 32767)));

        // 2^24 + 1 is a tie between 2^24 and 2^24 + 2: the even mantissa (2^24) wins; 2^24 + 3 goes up to 2^24 + 4.
        Assert.Equal([16777216f, 16777220f, -2147483648f, 2147483648f], Decode(GgmlType.I32, LittleEndian32(16777217, 16777219, int.MinValue, int.MaxValue)));
        Assert.Equal([9.223372036854775808e18f, -9.223372036854775808e18f, 1f], Decode(GgmlType.I64, LittleEndian64(long.MaxValue, long.MinValue, 1)));
    }

    [Fact]
    public void F64_ConvertsAsACCast()
    {
        double[] values = [0.1, -1e300, 1e300, 1e-50, -double.Epsilon, (double)float.MaxValue + 1e30, 1.0 + Math.Pow(2, -24), 1.0 + (3 * Math.Pow(2, -24))];
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * i), values[i]);
        }

        float[] output = Decode(GgmlType.F64, bytes);
        Assert.Equal(0.1f, output[0]);
        Assert.Equal(float.NegativeInfinity, output[1]);
        Assert.Equal(float.PositiveInfinity, output[2]);
        Assert.Equal(0u, DequantData.Bits(output[3]));
        Assert.Equal(0x80000000u, DequantData.Bits(output[4]));
        Assert.Equal(float.MaxValue, output[5]);     // within half an ulp of the largest float
        Assert.Equal(1f, output[6]);                 // a tie: the even mantissa
        Assert.Equal(1f + MathF.Pow(2, -22), output[7]);
    }

    [Fact]
    public void Q4_0_KnownBlock_IsNibbleMinusEightTimesD()
    {
        // d = 0.5; byte j holds element j (low nibble) and element j + 16 (high nibble).
        var block = new byte[18];
        BinaryPrimitives.WriteUInt16LittleEndian(block, 0x3800);
        for (int j = 0; j < 16; j++)
        {
            block[2 + j] = (byte)(j | ((15 - j) << 4));
        }

        float[] y = Decode(GgmlType.Q4_0, block);
        for (int j = 0; j < 16; j++)
        {
            Assert.Equal((j - 8) * 0.5f, y[j]);
            Assert.Equal((15 - j - 8) * 0.5f, y[j + 16]);
        }
    }

    [Fact]
    public void Q8_0_KnownBlock_IsQuantTimesD()
    {
        var block = new byte[34];
        BinaryPrimitives.WriteUInt16LittleEndian(block, 0x3400); // 0.25
        for (int j = 0; j < 32; j++)
        {
            block[2 + j] = (byte)(sbyte)(j * 8 - 128);
        }

        float[] y = Decode(GgmlType.Q8_0, block);
        for (int j = 0; j < 32; j++)
        {
            Assert.Equal(((j * 8) - 128) * 0.25f, y[j]);
        }
    }

    [Fact]
    public void Q1_0_KnownBlock_IsPlusOrMinusD()
    {
        var block = new byte[18];
        BinaryPrimitives.WriteUInt16LittleEndian(block, 0x4000); // 2.0
        block[2] = 0b0000_0101;
        float[] y = Decode(GgmlType.Q1_0, block);
        Assert.Equal([2f, -2f, 2f, -2f], y[..4]);
        Assert.All(y[8..], v => Assert.Equal(-2f, v));
    }

    [Fact]
    public void ScaleFormats_E8M0_IsTwoToTheExponentMinus128()
    {
        for (int e = 0; e < 256; e++)
        {
            Assert.Equal((float)Math.ScaleB(1.0, e - 128), ScaleFormats.E8M0ToSingleHalf((byte)e));
        }
    }

    [Fact]
    public void ScaleFormats_UE4M3_KnownCodes()
    {
        Assert.Equal(0f, ScaleFormats.Ue4m3ToSingleHalf(0x00));
        Assert.Equal(0f, ScaleFormats.Ue4m3ToSingleHalf(0x7F)); // the NaN code decodes to 0
        Assert.Equal(0f, ScaleFormats.Ue4m3ToSingleHalf(0x80)); // bit 7 is ignored
        Assert.Equal(0.5f, ScaleFormats.Ue4m3ToSingleHalf(0x38)); // 1.0 · 2^0, halved
        Assert.Equal(224f, ScaleFormats.Ue4m3ToSingleHalf(0x7E)); // 1.75 · 2^8, halved
        Assert.Equal(240f, ScaleFormats.Ue4m3ToSingleHalf(0xFF)); // 1.875 · 2^8, halved
        Assert.Equal(MathF.Pow(2, -10), ScaleFormats.Ue4m3ToSingleHalf(0x01)); // subnormal 2^-9, halved
    }

    [Fact]
    public void HalfExponentRebase_IsExactlyTwoToTheMinus112()
    {
        Assert.Equal(0x07800000u, BitConverter.SingleToUInt32Bits(ScaleFormats.HalfExponentRebase));
        Assert.Equal((double)ScaleFormats.HalfExponentRebase, Math.ScaleB(1.0, -112));
    }

    [Fact]
    public void SignsFromIndex_SetsBit7ForOddParity()
    {
        Assert.Equal(0, QuantTables.SignsFromIndex(0));
        Assert.Equal(0x81, QuantTables.SignsFromIndex(1));
        Assert.Equal(0x03, QuantTables.SignsFromIndex(3));
        Assert.Equal(0xFF, QuantTables.SignsFromIndex(127));
    }

    private static float[] Decode(GgmlType type, byte[] source)
    {
        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        var output = new float[source.Length / info.BytesPerBlock * info.BlockSize];
        Dequantizer.Dequantize(type, source, output);
        return output;
    }

    private static byte[] LittleEndian16(params short[] values) => [.. values.SelectMany(v => BitConverter.GetBytes(v))];

    private static byte[] LittleEndian32(params int[] values) => [.. values.SelectMany(v => BitConverter.GetBytes(v))];

    private static byte[] LittleEndian64(params long[] values) => [.. values.SelectMany(v => BitConverter.GetBytes(v))];
}
