using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gguf.Quantization;

/// <summary>The block types of 32 to 128 elements with one scale (or one per 16).</summary>
internal static partial class SimdKernels
{
    private static readonly Vector128<sbyte> Iq4NlTable = Table16(QuantTables.Iq4NlValues);
    private static readonly Vector128<sbyte> Fp4Table = Table16(QuantTables.Mxfp4Values);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 32;
        Vector128<byte> eight = Vector128.Create((byte)8);
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 18, o += 32)
        {
            float d = Half(ref x, s);
            Vector128<byte> q = Load16(ref x, s + 2);
            Scaled((Low(q) - eight).AsSByte(), d, ref Unsafe.Add(ref y, o));
            Scaled((High(q) - eight).AsSByte(), d, ref Unsafe.Add(ref y, o + 16));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_1(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 32;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 20, o += 32)
        {
            float d = Half(ref x, s), m = Half(ref x, s + 2);
            Vector128<byte> q = Load16(ref x, s + 4);
            ScaledPlus(Low(q).AsSByte(), d, m, ref Unsafe.Add(ref y, o));
            ScaledPlus(High(q).AsSByte(), d, m, ref Unsafe.Add(ref y, o + 16));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q5_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 32;
        Vector128<byte> fifth = Vector128.Create((byte)0x10), sixteen = Vector128.Create((byte)16);
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 22, o += 32)
        {
            float d = Half(ref x, s);
            uint high = ReadUInt32(ref x, s + 2);
            Vector128<byte> q = Load16(ref x, s + 6);
            Vector128<byte> low = Low(q) | (BitsToBytes(high) & fifth);
            Vector128<byte> upper = High(q) | (BitsToBytes(high >> 16) & fifth);
            Scaled((low - sixteen).AsSByte(), d, ref Unsafe.Add(ref y, o));
            Scaled((upper - sixteen).AsSByte(), d, ref Unsafe.Add(ref y, o + 16));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q5_1(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 32;
        Vector128<byte> fifth = Vector128.Create((byte)0x10);
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 24, o += 32)
        {
            float d = Half(ref x, s), m = Half(ref x, s + 2);
            uint high = ReadUInt32(ref x, s + 4);
            Vector128<byte> q = Load16(ref x, s + 8);
            ScaledPlus((Low(q) | (BitsToBytes(high) & fifth)).AsSByte(), d, m, ref Unsafe.Add(ref y, o));
            ScaledPlus((High(q) | (BitsToBytes(high >> 16) & fifth)).AsSByte(), d, m, ref Unsafe.Add(ref y, o + 16));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_0(ReadOnlySpan<byte> source, Span<float> destination) => Int8Blocks(source, destination, 34, 2);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_1(ReadOnlySpan<byte> source, Span<float> destination) => Int8Blocks(source, destination, 36, 4);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Int8Blocks(ReadOnlySpan<byte> source, Span<float> destination, nuint blockBytes, nuint quantsAt)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 32;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += blockBytes, o += 32)
        {
            float d = Half(ref x, s);
            Scaled(Load16(ref x, s + quantsAt).AsSByte(), d, ref Unsafe.Add(ref y, o));
            Scaled(Load16(ref x, s + quantsAt + 16).AsSByte(), d, ref Unsafe.Add(ref y, o + 16));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q1_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 128;
        Vector256<int> laneBits = Vector256.Create(1, 2, 4, 8, 16, 32, 64, 128);
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 18, o += 128)
        {
            float d = Half(ref x, s);
            Vector256<float> positive = Vector256.Create(d), negative = Vector256.Create(-d);
            for (nuint k = 0; k < 16; k++)
            {
                Vector256<int> set = Vector256.Equals(Vector256.Create((int)Unsafe.Add(ref x, s + 2 + k)) & laneBits, laneBits);
                Vector256.ConditionalSelect(set.AsSingle(), positive, negative).StoreUnsafe(ref y, o + (8 * k));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q2_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 64;
        Vector256<uint> shifts = Vector256.Create(0u, 2, 4, 6, 8, 10, 12, 14);
        Vector256<int> one = Vector256.Create(1);
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 18, o += 64)
        {
            Vector256<float> d = Vector256.Create(Half(ref x, s));
            for (nuint k = 0; k < 8; k++)
            {
                // Two bytes give 8 codes, 4 per byte from the low bits up.
                Vector256<uint> codes = Avx2.ShiftRightLogicalVariable(Vector256.Create((uint)ReadUInt16(ref x, s + 2 + (2 * k))), shifts) & Vector256.Create(3u);
                (Avx.ConvertToVector256Single(codes.AsInt32() - one) * d).StoreUnsafe(ref y, o + (8 * k));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MXFP4(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 32;
        Vector128<sbyte> table = Fp4Table;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 17, o += 32)
        {
            float d = ScaleFormats.E8M0ToSingleHalf(Unsafe.Add(ref x, s));
            Vector128<byte> q = Load16(ref x, s + 1);
            Scaled(Lookup(table, Low(q)), d, ref Unsafe.Add(ref y, o));
            Scaled(Lookup(table, High(q)), d, ref Unsafe.Add(ref y, o + 16));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NVFP4(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 64;
        Vector128<sbyte> table = Fp4Table;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 36, o += 64)
        {
            // Sub-block k: 8 code bytes, low nibbles are its elements 0–7, high nibbles 8–15.
            Vector128<byte> q01 = Load16(ref x, s + 4), q23 = Load16(ref x, s + 20);
            Vector128<sbyte> v01 = Lookup(table, Sse2.UnpackLow(q01.AsUInt64(), High(q01).AsUInt64()).AsByte() & Vector128.Create((byte)0x0F));
            Vector128<sbyte> v11 = Lookup(table, Sse2.UnpackHigh(q01.AsUInt64(), High(q01).AsUInt64()).AsByte() & Vector128.Create((byte)0x0F));
            Vector128<sbyte> v23 = Lookup(table, Sse2.UnpackLow(q23.AsUInt64(), High(q23).AsUInt64()).AsByte() & Vector128.Create((byte)0x0F));
            Vector128<sbyte> v33 = Lookup(table, Sse2.UnpackHigh(q23.AsUInt64(), High(q23).AsUInt64()).AsByte() & Vector128.Create((byte)0x0F));
            Scaled(v01, ScaleFormats.Ue4m3ToSingleHalf(Unsafe.Add(ref x, s)), ref Unsafe.Add(ref y, o));
            Scaled(v11, ScaleFormats.Ue4m3ToSingleHalf(Unsafe.Add(ref x, s + 1)), ref Unsafe.Add(ref y, o + 16));
            Scaled(v23, ScaleFormats.Ue4m3ToSingleHalf(Unsafe.Add(ref x, s + 2)), ref Unsafe.Add(ref y, o + 32));
            Scaled(v33, ScaleFormats.Ue4m3ToSingleHalf(Unsafe.Add(ref x, s + 3)), ref Unsafe.Add(ref y, o + 48));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ4_NL(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 32;
        Vector128<sbyte> table = Iq4NlTable;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 18, o += 32)
        {
            float d = Half(ref x, s);
            Vector128<byte> q = Load16(ref x, s + 2);
            Scaled(Lookup(table, Low(q)), d, ref Unsafe.Add(ref y, o));
            Scaled(Lookup(table, High(q)), d, ref Unsafe.Add(ref y, o + 16));
        }
    }
}
