using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Gguf.Format;

namespace Gguf.Quantization;

/// <summary>A kernel: whole blocks of one type in, their elements out.</summary>
internal delegate void DequantKernel(ReadOnlySpan<byte> source, Span<float> destination);

/// <summary>
/// Picks the kernel of each type: the SIMD one where the CPU has it (x86 with AVX2), else the scalar
/// reference. Both give the same bits; <see cref="ForceScalar"/> lets tests and benchmarks run the scalar
/// path in the same process.
/// </summary>
internal static class DequantKernels
{
    private static readonly DequantKernel?[] Scalar = BuildScalar();
    private static readonly DequantKernel?[] Simd = BuildSimd();

    /// <summary>
    /// Run the scalar kernels even where SIMD ones exist (tests compare both paths). Process-wide; set it
    /// only where nothing else dequantizes concurrently.
    /// </summary>
    internal static bool ForceScalar { get; set; }

    /// <summary>Whether the SIMD kernels can run here (AVX2, and intrinsics not disabled).</summary>
    internal static bool SimdAvailable => Avx2.IsSupported && Vector256.IsHardwareAccelerated;

    /// <summary>Whether a kernel exists for the type (every type files may hold).</summary>
    public static bool IsSupported(GgmlType type) => (uint)type < (uint)Scalar.Length && Scalar[(int)type] is not null;

    /// <summary>The kernel that will run for <paramref name="type"/>.</summary>
    public static DequantKernel Get(GgmlType type)
    {
        if (!IsSupported(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "not a ggml type that files may use");
        }

        return (!ForceScalar ? Simd[(int)type] : null) ?? Scalar[(int)type]!;
    }

    /// <summary>The scalar reference kernel of a supported type, whatever <see cref="ForceScalar"/> says.</summary>
    internal static DequantKernel GetScalar(GgmlType type) => IsSupported(type) ? Scalar[(int)type]! : throw new ArgumentOutOfRangeException(nameof(type));

    /// <summary>The SIMD kernel of a supported type, or null where this CPU or type has none.</summary>
    internal static DequantKernel? GetSimd(GgmlType type) => IsSupported(type) ? Simd[(int)type] : throw new ArgumentOutOfRangeException(nameof(type));

    /// <summary>Whether <paramref name="type"/> runs a SIMD kernel now.</summary>
    public static bool RunsSimd(GgmlType type) => !ForceScalar && IsSupported(type) && Simd[(int)type] is not null;

    private static DequantKernel?[] BuildScalar()
    {
        var table = new DequantKernel?[GgmlTypeInfo.TypeIdCount];
        table[(int)GgmlType.F32] = ScalarKernels.F32;
        table[(int)GgmlType.F16] = ScalarKernels.F16;
        table[(int)GgmlType.BF16] = ScalarKernels.BF16;
        table[(int)GgmlType.I8] = ScalarKernels.I8;
        table[(int)GgmlType.I16] = ScalarKernels.I16;
        table[(int)GgmlType.I32] = ScalarKernels.I32;
        table[(int)GgmlType.I64] = ScalarKernels.I64;
        table[(int)GgmlType.F64] = ScalarKernels.F64;
        table[(int)GgmlType.Q4_0] = ScalarKernels.Q4_0;
        table[(int)GgmlType.Q4_1] = ScalarKernels.Q4_1;
        table[(int)GgmlType.Q5_0] = ScalarKernels.Q5_0;
        table[(int)GgmlType.Q5_1] = ScalarKernels.Q5_1;
        table[(int)GgmlType.Q8_0] = ScalarKernels.Q8_0;
        table[(int)GgmlType.Q8_1] = ScalarKernels.Q8_1;
        table[(int)GgmlType.Q2_K] = ScalarKernels.Q2_K;
        table[(int)GgmlType.Q3_K] = ScalarKernels.Q3_K;
        table[(int)GgmlType.Q4_K] = ScalarKernels.Q4_K;
        table[(int)GgmlType.Q5_K] = ScalarKernels.Q5_K;
        table[(int)GgmlType.Q6_K] = ScalarKernels.Q6_K;
        table[(int)GgmlType.Q8_K] = ScalarKernels.Q8_K;
        table[(int)GgmlType.IQ2_XXS] = ScalarKernels.IQ2_XXS;
        table[(int)GgmlType.IQ2_XS] = ScalarKernels.IQ2_XS;
        table[(int)GgmlType.IQ2_S] = ScalarKernels.IQ2_S;
        table[(int)GgmlType.IQ3_XXS] = ScalarKernels.IQ3_XXS;
        table[(int)GgmlType.IQ3_S] = ScalarKernels.IQ3_S;
        table[(int)GgmlType.IQ1_S] = ScalarKernels.IQ1_S;
        table[(int)GgmlType.IQ1_M] = ScalarKernels.IQ1_M;
        table[(int)GgmlType.IQ4_NL] = ScalarKernels.IQ4_NL;
        table[(int)GgmlType.IQ4_XS] = ScalarKernels.IQ4_XS;
        table[(int)GgmlType.TQ1_0] = ScalarKernels.TQ1_0;
        table[(int)GgmlType.TQ2_0] = ScalarKernels.TQ2_0;
        table[(int)GgmlType.MXFP4] = ScalarKernels.MXFP4;
        table[(int)GgmlType.NVFP4] = ScalarKernels.NVFP4;
        table[(int)GgmlType.Q1_0] = ScalarKernels.Q1_0;
        table[(int)GgmlType.Q2_0] = ScalarKernels.Q2_0;
        return table;
    }

    private static DequantKernel?[] BuildSimd()
    {
        var table = new DequantKernel?[GgmlTypeInfo.TypeIdCount];
        if (!SimdAvailable)
        {
            return table;
        }

        table[(int)GgmlType.F32] = SimdKernels.F32;
        table[(int)GgmlType.F16] = SimdKernels.F16;
        table[(int)GgmlType.BF16] = SimdKernels.BF16;
        table[(int)GgmlType.I8] = SimdKernels.I8;
        table[(int)GgmlType.I16] = SimdKernels.I16;
        table[(int)GgmlType.I32] = SimdKernels.I32;
        table[(int)GgmlType.I64] = SimdKernels.I64;
        table[(int)GgmlType.F64] = SimdKernels.F64;
        table[(int)GgmlType.Q4_0] = SimdKernels.Q4_0;
        table[(int)GgmlType.Q4_1] = SimdKernels.Q4_1;
        table[(int)GgmlType.Q5_0] = SimdKernels.Q5_0;
        table[(int)GgmlType.Q5_1] = SimdKernels.Q5_1;
        table[(int)GgmlType.Q8_0] = SimdKernels.Q8_0;
        table[(int)GgmlType.Q8_1] = SimdKernels.Q8_1;
        table[(int)GgmlType.Q2_K] = SimdKernels.Q2_K;
        table[(int)GgmlType.Q3_K] = SimdKernels.Q3_K;
        table[(int)GgmlType.Q4_K] = SimdKernels.Q4_K;
        table[(int)GgmlType.Q5_K] = SimdKernels.Q5_K;
        table[(int)GgmlType.Q6_K] = SimdKernels.Q6_K;
        table[(int)GgmlType.Q8_K] = SimdKernels.Q8_K;
        table[(int)GgmlType.IQ2_XXS] = SimdKernels.IQ2_XXS;
        table[(int)GgmlType.IQ2_XS] = SimdKernels.IQ2_XS;
        table[(int)GgmlType.IQ2_S] = SimdKernels.IQ2_S;
        table[(int)GgmlType.IQ3_XXS] = SimdKernels.IQ3_XXS;
        table[(int)GgmlType.IQ3_S] = SimdKernels.IQ3_S;
        table[(int)GgmlType.IQ1_S] = SimdKernels.IQ1_S;
        table[(int)GgmlType.IQ1_M] = SimdKernels.IQ1_M;
        table[(int)GgmlType.IQ4_NL] = SimdKernels.IQ4_NL;
        table[(int)GgmlType.IQ4_XS] = SimdKernels.IQ4_XS;
        table[(int)GgmlType.TQ1_0] = SimdKernels.TQ1_0;
        table[(int)GgmlType.TQ2_0] = SimdKernels.TQ2_0;
        table[(int)GgmlType.MXFP4] = SimdKernels.MXFP4;
        table[(int)GgmlType.NVFP4] = SimdKernels.NVFP4;
        table[(int)GgmlType.Q1_0] = SimdKernels.Q1_0;
        table[(int)GgmlType.Q2_0] = SimdKernels.Q2_0;
        return table;
    }
}
