using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gguf.Quantization;

/// <summary>The plain element types: the vector loop, then the scalar kernel for the remainder.</summary>
internal static partial class SimdKernels
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F32(ReadOnlySpan<byte> source, Span<float> destination) => MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F16(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint i = 0;
        if (Avx512F.IsSupported)
        {
            for (nuint n = (nuint)destination.Length & ~(nuint)15; i < n; i += 16)
            {
                Vector512<uint> halves = Avx512F.ConvertToVector512UInt32(Vector256.LoadUnsafe(ref x, 2 * i).AsUInt16());
                ScaleFormats.HalfToSingle(halves).StoreUnsafe(ref y, i);
            }
        }

        for (nuint n = (nuint)destination.Length & ~(nuint)7; i < n; i += 8)
        {
            Vector256<uint> halves = Avx2.ConvertToVector256Int32(Load16(ref x, 2 * i).AsUInt16()).AsUInt32();
            ScaleFormats.HalfToSingle(halves).StoreUnsafe(ref y, i);
        }

        ScalarKernels.F16(source[(int)(2 * i)..], destination[(int)i..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BF16(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint i = 0;
        if (Avx512F.IsSupported)
        {
            for (nuint n = (nuint)destination.Length & ~(nuint)15; i < n; i += 16)
            {
                Vector512<uint> bits = Avx512F.ConvertToVector512UInt32(Vector256.LoadUnsafe(ref x, 2 * i).AsUInt16());
                (bits << 16).AsSingle().StoreUnsafe(ref y, i);
            }
        }

        for (nuint n = (nuint)destination.Length & ~(nuint)7; i < n; i += 8)
        {
            Vector256<uint> bits = Avx2.ConvertToVector256Int32(Load16(ref x, 2 * i).AsUInt16()).AsUInt32();
            (bits << 16).AsSingle().StoreUnsafe(ref y, i);
        }

        ScalarKernels.BF16(source[(int)(2 * i)..], destination[(int)i..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void I8(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)destination.Length & ~(nuint)15;
        for (nuint i = 0; i < n; i += 16)
        {
            Scaled(Load16(ref x, i).AsSByte(), 1f, ref Unsafe.Add(ref y, i));
        }

        ScalarKernels.I8(source[(int)n..], destination[(int)n..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void I16(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)destination.Length & ~(nuint)7;
        for (nuint i = 0; i < n; i += 8)
        {
            Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Load16(ref x, 2 * i).AsInt16())).StoreUnsafe(ref y, i);
        }

        ScalarKernels.I16(source[(int)(2 * n)..], destination[(int)n..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void I32(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)destination.Length & ~(nuint)7;
        for (nuint i = 0; i < n; i += 8)
        {
            // cvtdq2ps rounds to nearest even, as the C cast does.
            Avx.ConvertToVector256Single(Load32(ref x, 4 * i).AsInt32()).StoreUnsafe(ref y, i);
        }

        ScalarKernels.I32(source[(int)(4 * n)..], destination[(int)n..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void I64(ReadOnlySpan<byte> source, Span<float> destination)
    {
        nuint n = 0;
        if (Avx512DQ.IsSupported)
        {
            ref byte x = ref MemoryMarshal.GetReference(source);
            ref float y = ref MemoryMarshal.GetReference(destination);
            n = (nuint)destination.Length & ~(nuint)7;
            for (nuint i = 0; i < n; i += 8)
            {
                // vcvtqq2ps rounds to nearest even, as the C cast does.
                Avx512DQ.ConvertToVector256Single(Vector512.LoadUnsafe(ref x, 8 * i).AsInt64()).StoreUnsafe(ref y, i);
            }
        }

        ScalarKernels.I64(source[(int)(8 * n)..], destination[(int)n..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F64(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)destination.Length & ~(nuint)3;
        for (nuint i = 0; i < n; i += 4)
        {
            // vcvtpd2ps: round to nearest even, NaNs made quiet, as the scalar cvtsd2ss of the C cast.
            Avx.ConvertToVector128Single(Vector256.LoadUnsafe(ref x, 8 * i).AsDouble()).StoreUnsafe(ref y, i);
        }

        ScalarKernels.F64(source[(int)(8 * n)..], destination[(int)n..]);
    }
}
