using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gguf.Quantization;

/// <summary>The super-block types of 256 elements: k-quants, IQ4_XS and the ternary types.</summary>
internal static partial class SimdKernels
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q2_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 256;
        Vector256<byte> three = Vector256.Create((byte)3);
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 84, o += 256)
        {
            float d = Half(ref x, s + 80), min = Half(ref x, s + 82);
            nuint scale = s, output = o;
            for (nuint half = 0; half < 2; half++)
            {
                Vector256<byte> q = Load32(ref x, s + 16 + (32 * half));
                for (byte shift = 0; shift < 8; shift += 2)
                {
                    Vector256<sbyte> codes = (ShiftRight(q, shift) & three).AsSByte();
                    byte sc0 = Unsafe.Add(ref x, scale), sc1 = Unsafe.Add(ref x, scale + 1);
                    ScaledMinus(codes.GetLower(), d * (sc0 & 0xF), min * (sc0 >> 4), ref Unsafe.Add(ref y, output));
                    ScaledMinus(codes.GetUpper(), d * (sc1 & 0xF), min * (sc1 >> 4), ref Unsafe.Add(ref y, output + 16));
                    scale += 2;
                    output += 32;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q3_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 256;
        Vector256<byte> three = Vector256.Create((byte)3), one = Vector256.Create((byte)1);
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 110, o += 256)
        {
            float dAll = Half(ref x, s + 108);
            Vector128<sbyte> scales = Q3KScales(ref Unsafe.Add(ref x, s + 96));
            Vector256<byte> hmask = Load32(ref x, s);
            Vector256<byte> q = Load32(ref x, s + 32);
            ref float out0 = ref Unsafe.Add(ref y, o);
            Q3KGroup(q, hmask, 0, 0, dAll, scales.GetElement(0), scales.GetElement(1), ref out0);
            Q3KGroup(q, hmask, 2, 1, dAll, scales.GetElement(2), scales.GetElement(3), ref Unsafe.Add(ref out0, 32));
            Q3KGroup(q, hmask, 4, 2, dAll, scales.GetElement(4), scales.GetElement(5), ref Unsafe.Add(ref out0, 64));
            Q3KGroup(q, hmask, 6, 3, dAll, scales.GetElement(6), scales.GetElement(7), ref Unsafe.Add(ref out0, 96));
            q = Load32(ref x, s + 64);
            Q3KGroup(q, hmask, 0, 4, dAll, scales.GetElement(8), scales.GetElement(9), ref Unsafe.Add(ref out0, 128));
            Q3KGroup(q, hmask, 2, 5, dAll, scales.GetElement(10), scales.GetElement(11), ref Unsafe.Add(ref out0, 160));
            Q3KGroup(q, hmask, 4, 6, dAll, scales.GetElement(12), scales.GetElement(13), ref Unsafe.Add(ref out0, 192));
            Q3KGroup(q, hmask, 6, 7, dAll, scales.GetElement(14), scales.GetElement(15), ref Unsafe.Add(ref out0, 224));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Q3KGroup(Vector256<byte> q, Vector256<byte> hmask, byte shift, byte bit, float dAll, sbyte scale0, sbyte scale1, ref float y)
        {
            // code − 4 where the high bit is clear: subtract ((h ^ 1) << 2).
            Vector256<byte> missingHigh = (ShiftRight(hmask, bit) & Vector256.Create((byte)1)) ^ Vector256.Create((byte)1);
            Vector256<sbyte> values = ((ShiftRight(q, shift) & Vector256.Create((byte)3)) - Avx2.ShiftLeftLogical(missingHigh.AsUInt16(), 2).AsByte()).AsSByte();
            Scaled(values.GetLower(), dAll * (scale0 - 32), ref y);
            Scaled(values.GetUpper(), dAll * (scale1 - 32), ref Unsafe.Add(ref y, 16));
        }
    }

    /// <summary>The 16 six-bit scales of Q3_K from 12 bytes: low nibbles in bytes 0–7, 2-bit high parts in 8–11.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Q3KScales(ref byte packed)
    {
        uint a0 = Unsafe.ReadUnaligned<uint>(ref packed), a1 = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref packed, 4));
        uint t = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref packed, 8));
        const uint Nibbles = 0x0F0F0F0F, Pairs = 0x03030303;
        return Vector128.Create(
            (a0 & Nibbles) | ((t & Pairs) << 4),
            (a1 & Nibbles) | (((t >> 2) & Pairs) << 4),
            ((a0 >> 4) & Nibbles) | (((t >> 4) & Pairs) << 4),
            ((a1 >> 4) & Nibbles) | (((t >> 6) & Pairs) << 4)).AsSByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int Scale, int Min) ScaleMinK4(int j, ref byte q) =>
        j < 4
            ? (Unsafe.Add(ref q, j) & 63, Unsafe.Add(ref q, j + 4) & 63)
            : ((Unsafe.Add(ref q, j + 4) & 0xF) | ((Unsafe.Add(ref q, j - 4) >> 6) << 4), (Unsafe.Add(ref q, j + 4) >> 4) | ((Unsafe.Add(ref q, j) >> 6) << 4));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 256;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 144, o += 256)
        {
            float d = Half(ref x, s), min = Half(ref x, s + 2);
            ref byte scales = ref Unsafe.Add(ref x, s + 4);
            for (int j = 0; j < 4; j++)
            {
                var (sc1, m1) = ScaleMinK4(2 * j, ref scales);
                var (sc2, m2) = ScaleMinK4((2 * j) + 1, ref scales);
                float d1 = d * sc1, min1 = min * m1, d2 = d * sc2, min2 = min * m2;
                Vector256<byte> q = Load32(ref x, s + 16 + (32 * (nuint)j));
                ref float out64 = ref Unsafe.Add(ref y, o + (64 * (nuint)j));
                Vector256<sbyte> low = Low(q).AsSByte(), high = High(q).AsSByte();
                ScaledMinus(low.GetLower(), d1, min1, ref out64);
                ScaledMinus(low.GetUpper(), d1, min1, ref Unsafe.Add(ref out64, 16));
                ScaledMinus(high.GetLower(), d2, min2, ref Unsafe.Add(ref out64, 32));
                ScaledMinus(high.GetUpper(), d2, min2, ref Unsafe.Add(ref out64, 48));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q5_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 256;
        Vector256<byte> one = Vector256.Create((byte)1);
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 176, o += 256)
        {
            float d = Half(ref x, s), min = Half(ref x, s + 2);
            ref byte scales = ref Unsafe.Add(ref x, s + 4);
            Vector256<byte> qh = Load32(ref x, s + 16);
            for (int j = 0; j < 4; j++)
            {
                var (sc1, m1) = ScaleMinK4(2 * j, ref scales);
                var (sc2, m2) = ScaleMinK4((2 * j) + 1, ref scales);
                float d1 = d * sc1, min1 = min * m1, d2 = d * sc2, min2 = min * m2;
                Vector256<byte> q = Load32(ref x, s + 48 + (32 * (nuint)j));
                Vector256<byte> fifthLow = Avx2.ShiftLeftLogical((ShiftRight(qh, (byte)(2 * j)) & one).AsUInt16(), 4).AsByte();
                Vector256<byte> fifthHigh = Avx2.ShiftLeftLogical((ShiftRight(qh, (byte)((2 * j) + 1)) & one).AsUInt16(), 4).AsByte();
                Vector256<sbyte> low = (Low(q) | fifthLow).AsSByte(), high = (High(q) | fifthHigh).AsSByte();
                ref float out64 = ref Unsafe.Add(ref y, o + (64 * (nuint)j));
                ScaledMinus(low.GetLower(), d1, min1, ref out64);
                ScaledMinus(low.GetUpper(), d1, min1, ref Unsafe.Add(ref out64, 16));
                ScaledMinus(high.GetLower(), d2, min2, ref Unsafe.Add(ref out64, 32));
                ScaledMinus(high.GetUpper(), d2, min2, ref Unsafe.Add(ref out64, 48));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q6_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 256;
        Vector256<byte> three = Vector256.Create((byte)3), bias = Vector256.Create((byte)32);
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 210, o += 256)
        {
            float d = Half(ref x, s + 208);
            for (nuint half = 0; half < 2; half++)
            {
                Vector256<byte> ql0 = Load32(ref x, s + (64 * half)), ql1 = Load32(ref x, s + (64 * half) + 32);
                Vector256<byte> qh = Load32(ref x, s + 128 + (32 * half));
                ref byte sc = ref Unsafe.Add(ref x, s + 192 + (8 * half));
                ref float out128 = ref Unsafe.Add(ref y, o + (128 * half));
                Q6KQuarter((Low(ql0) | Avx2.ShiftLeftLogical((qh & three).AsUInt16(), 4).AsByte()) - bias, d, ref sc, 0, ref out128);
                Q6KQuarter((Low(ql1) | Avx2.ShiftLeftLogical((ShiftRight(qh, 2) & three).AsUInt16(), 4).AsByte()) - bias, d, ref sc, 2, ref Unsafe.Add(ref out128, 32));
                Q6KQuarter((High(ql0) | Avx2.ShiftLeftLogical((ShiftRight(qh, 4) & three).AsUInt16(), 4).AsByte()) - bias, d, ref sc, 4, ref Unsafe.Add(ref out128, 64));
                Q6KQuarter((High(ql1) | Avx2.ShiftLeftLogical(ShiftRight(qh, 6).AsUInt16(), 4).AsByte()) - bias, d, ref sc, 6, ref Unsafe.Add(ref out128, 96));
            }
        }
    }

    /// <summary>32 Q6_K values: the first 16 scaled by d·sc[k], the next by d·sc[k+1] (ggml: (d·sc)·q).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q6KQuarter(Vector256<byte> values, float d, ref byte sc, int k, ref float y)
    {
        Scaled(values.AsSByte().GetLower(), d * (sbyte)Unsafe.Add(ref sc, k), ref y);
        Scaled(values.AsSByte().GetUpper(), d * (sbyte)Unsafe.Add(ref sc, k + 1), ref Unsafe.Add(ref y, 16));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_K(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 256;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 292, o += 256)
        {
            float d = Unsafe.ReadUnaligned<float>(ref Unsafe.Add(ref x, s));
            for (nuint k = 0; k < 16; k++)
            {
                Scaled(Load16(ref x, s + 4 + (16 * k)).AsSByte(), d, ref Unsafe.Add(ref y, o + (16 * k)));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ4_XS(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 256;
        Vector128<sbyte> table = Iq4NlTable;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 136, o += 256)
        {
            float d = Half(ref x, s);
            int scalesHigh = ReadUInt16(ref x, s + 2);
            for (int ib = 0; ib < 8; ib++)
            {
                int ls = ((Unsafe.Add(ref x, s + 4 + (nuint)(ib / 2)) >> (4 * (ib % 2))) & 0xF) | (((scalesHigh >> (2 * ib)) & 3) << 4);
                float dl = d * (ls - 32);
                Vector128<byte> q = Load16(ref x, s + 8 + (16 * (nuint)ib));
                Scaled(Lookup(table, Low(q)), dl, ref Unsafe.Add(ref y, o + (32 * (nuint)ib)));
                Scaled(Lookup(table, High(q)), dl, ref Unsafe.Add(ref y, o + (32 * (nuint)ib) + 16));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TQ1_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 256;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 54, o += 256)
        {
            float d = Half(ref x, s + 52);
            Vector256<ushort> first = Avx2.ConvertToVector256Int16(Load16(ref x, s)).AsUInt16();
            Vector256<ushort> second = Avx2.ConvertToVector256Int16(Load16(ref x, s + 16)).AsUInt16();
            Vector256<ushort> third = Avx2.ConvertToVector256Int16(Load16(ref x, s + 32)).AsUInt16();
            nuint output = o;
            ushort power = 1;
            for (int n = 0; n < 5; n++, power *= 3)
            {
                // 32 bytes × digit n: elements [o + 32n, +32).
                Scaled(Trits(first, power), d, ref Unsafe.Add(ref y, output));
                Scaled(Trits(second, power), d, ref Unsafe.Add(ref y, output + 16));
                output += 32;
            }

            power = 1;
            for (int n = 0; n < 5; n++, power *= 3)
            {
                Scaled(Trits(third, power), d, ref Unsafe.Add(ref y, output));
                output += 16;
            }

            // The last 4 bytes hold four digits each: element 240 + 4n + j is digit n of byte 48 + j.
            Vector256<ushort> last = Vector256.Create(
                (ushort)Unsafe.Add(ref x, s + 48), Unsafe.Add(ref x, s + 49), Unsafe.Add(ref x, s + 50), Unsafe.Add(ref x, s + 51),
                Unsafe.Add(ref x, s + 48), Unsafe.Add(ref x, s + 49), Unsafe.Add(ref x, s + 50), Unsafe.Add(ref x, s + 51),
                Unsafe.Add(ref x, s + 48), Unsafe.Add(ref x, s + 49), Unsafe.Add(ref x, s + 50), Unsafe.Add(ref x, s + 51),
                Unsafe.Add(ref x, s + 48), Unsafe.Add(ref x, s + 49), Unsafe.Add(ref x, s + 50), Unsafe.Add(ref x, s + 51));
            Vector256<ushort> powers = Vector256.Create((ushort)1, 1, 1, 1, 3, 3, 3, 3, 9, 9, 9, 9, 27, 27, 27, 27);
            Scaled(Trits(last, powers), d, ref Unsafe.Add(ref y, output));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Trits(Vector256<ushort> packed, ushort power) => Trits(packed, Vector256.Create(power));

    /// <summary>Digit of each byte lane: ((q·3ⁿ mod 256)·3) >> 8, minus 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Trits(Vector256<ushort> packed, Vector256<ushort> powers)
    {
        Vector256<ushort> rotated = Avx2.MultiplyLow(packed, powers) & Vector256.Create((ushort)0xFF);
        Vector256<short> digits = (Avx2.ShiftRightLogical(Avx2.MultiplyLow(rotated, Vector256.Create((ushort)3)), 8) - Vector256.Create((ushort)1)).AsInt16();
        return Sse2.PackSignedSaturate(digits.GetLower(), digits.GetUpper());
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TQ2_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        nuint blocks = (nuint)destination.Length / 256;
        Vector256<byte> three = Vector256.Create((byte)3), one = Vector256.Create((byte)1);
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 66, o += 256)
        {
            float d = Half(ref x, s + 64);
            nuint output = o;
            for (nuint j = 0; j < 64; j += 32)
            {
                Vector256<byte> q = Load32(ref x, s + j);
                for (byte shift = 0; shift < 8; shift += 2)
                {
                    Vector256<sbyte> values = ((ShiftRight(q, shift) & three) - one).AsSByte();
                    Scaled(values.GetLower(), d, ref Unsafe.Add(ref y, output));
                    Scaled(values.GetUpper(), d, ref Unsafe.Add(ref y, output + 16));
                    output += 32;
                }
            }
        }
    }
}
