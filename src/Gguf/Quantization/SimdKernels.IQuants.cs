using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gguf.Quantization;

/// <summary>
/// The i-quants: each group of 8 (or two of 4) elements is a grid row of bytes, widened to floats, times
/// the group's scale, with signs applied by XOR-ing sign-bit masks.
/// </summary>
internal static partial class SimdKernels
{
    /// <summary>y[0..8) = (scale · row) with the sign bits of <paramref name="signs"/> flipped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GridRow(Vector256<float> row, Vector256<float> scale, ref uint signMasks, int signs, ref float y) =>
        ((row * scale).AsUInt32() ^ Vector256.LoadUnsafe(ref signMasks, (nuint)signs * 8)).AsSingle().StoreUnsafe(ref y);

    /// <summary>Grid row <paramref name="index"/> of 8 unsigned bytes, as floats (the byte tables stay in L1; float ones would not).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row8(ref byte grid, int index) =>
        Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref grid, (nuint)index * 8))).AsByte()));

    /// <summary>Grid row <paramref name="index"/> of 8 signed bytes, as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row8(ref sbyte grid, int index) =>
        Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref grid, (nuint)index * 8)))).AsSByte()));

    /// <summary>Two grid rows of 4 unsigned bytes, as 8 floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Rows4(ref byte grid, int first, int second)
    {
        ulong both = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref grid, (nuint)first * 4)) | ((ulong)Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref grid, (nuint)second * 4)) << 32);
        return Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(both).AsByte()));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ2_XXS(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        ref byte grid = ref MemoryMarshal.GetReference(QuantTables.Iq2XxsGrid);
        ref uint masks = ref MemoryMarshal.GetArrayDataReference(QuantTables.SignMasks);
        nuint blocks = (nuint)destination.Length / 256;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 66, o += 256)
        {
            float d = Half(ref x, s);
            for (nuint ib = 0; ib < 8; ib++)
            {
                uint indices = ReadUInt32(ref x, s + 2 + (8 * ib));
                uint signsAndScale = ReadUInt32(ref x, s + 6 + (8 * ib));
                Vector256<float> db = Vector256.Create(d * (0.5f + (signsAndScale >> 28)) * 0.25f);
                ref float out32 = ref Unsafe.Add(ref y, o + (32 * ib));
                for (int l = 0; l < 4; l++)
                {
                    int signs = QuantTables.SignsFromIndex((int)((signsAndScale >> (7 * l)) & 127));
                    GridRow(Row8(ref grid, (int)((indices >> (8 * l)) & 0xFF)), db, ref masks, signs, ref Unsafe.Add(ref out32, 8 * l));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ2_XS(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        ref byte grid = ref MemoryMarshal.GetReference(QuantTables.Iq2XsGrid);
        ref uint masks = ref MemoryMarshal.GetArrayDataReference(QuantTables.SignMasks);
        nuint blocks = (nuint)destination.Length / 256;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 74, o += 256)
        {
            float d = Half(ref x, s);
            for (nuint ib = 0; ib < 8; ib++)
            {
                byte scales = Unsafe.Add(ref x, s + 66 + ib);
                Vector256<float> db0 = Vector256.Create(d * (0.5f + (scales & 0xF)) * 0.25f);
                Vector256<float> db1 = Vector256.Create(d * (0.5f + (scales >> 4)) * 0.25f);
                ref float out32 = ref Unsafe.Add(ref y, o + (32 * ib));
                for (int l = 0; l < 4; l++)
                {
                    int word = ReadUInt16(ref x, s + 2 + (8 * ib) + (2 * (nuint)l));
                    GridRow(Row8(ref grid, word & 511), l < 2 ? db0 : db1, ref masks, QuantTables.SignsFromIndex(word >> 9), ref Unsafe.Add(ref out32, 8 * l));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ2_S(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        ref byte grid = ref MemoryMarshal.GetReference(QuantTables.Iq2SGrid);
        ref uint masks = ref MemoryMarshal.GetArrayDataReference(QuantTables.SignMasks);
        nuint blocks = (nuint)destination.Length / 256;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 82, o += 256)
        {
            float d = Half(ref x, s);
            for (nuint ib = 0; ib < 8; ib++)
            {
                byte scales = Unsafe.Add(ref x, s + 74 + ib);
                Vector256<float> db0 = Vector256.Create(d * (0.5f + (scales & 0xF)) * 0.25f);
                Vector256<float> db1 = Vector256.Create(d * (0.5f + (scales >> 4)) * 0.25f);
                int high = Unsafe.Add(ref x, s + 66 + ib);
                ref float out32 = ref Unsafe.Add(ref y, o + (32 * ib));
                for (int l = 0; l < 4; l++)
                {
                    int index = Unsafe.Add(ref x, s + 2 + (4 * ib) + (nuint)l) | ((high << (8 - (2 * l))) & 0x300);
                    int signs = Unsafe.Add(ref x, s + 34 + (4 * ib) + (nuint)l);
                    GridRow(Row8(ref grid, index), l < 2 ? db0 : db1, ref masks, signs, ref Unsafe.Add(ref out32, 8 * l));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ3_XXS(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        ref byte grid = ref MemoryMarshal.GetReference(QuantTables.Iq3XxsGrid);
        ref uint masks = ref MemoryMarshal.GetArrayDataReference(QuantTables.SignMasks);
        nuint blocks = (nuint)destination.Length / 256;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 98, o += 256)
        {
            float d = Half(ref x, s);
            for (nuint ib = 0; ib < 8; ib++)
            {
                uint signsAndScale = ReadUInt32(ref x, s + 66 + (4 * ib));
                Vector256<float> db = Vector256.Create(d * (0.5f + (signsAndScale >> 28)) * 0.5f);
                ref byte indices = ref Unsafe.Add(ref x, s + 2 + (8 * ib));
                ref float out32 = ref Unsafe.Add(ref y, o + (32 * ib));
                for (int l = 0; l < 4; l++)
                {
                    int signs = QuantTables.SignsFromIndex((int)((signsAndScale >> (7 * l)) & 127));
                    Vector256<float> rows = Rows4(ref grid, Unsafe.Add(ref indices, 2 * l), Unsafe.Add(ref indices, (2 * l) + 1));
                    GridRow(rows, db, ref masks, signs, ref Unsafe.Add(ref out32, 8 * l));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ3_S(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        ref byte grid = ref MemoryMarshal.GetReference(QuantTables.Iq3SGrid);
        ref uint masks = ref MemoryMarshal.GetArrayDataReference(QuantTables.SignMasks);
        nuint blocks = (nuint)destination.Length / 256;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 110, o += 256)
        {
            float d = Half(ref x, s);
            for (nuint ib = 0; ib < 8; ib++)
            {
                byte scales = Unsafe.Add(ref x, s + 106 + (ib / 2));
                Vector256<float> db = Vector256.Create(d * (1 + (2 * ((ib & 1) == 0 ? scales & 0xF : scales >> 4))));
                int high = Unsafe.Add(ref x, s + 66 + ib);
                ref byte indices = ref Unsafe.Add(ref x, s + 2 + (8 * ib));
                ref float out32 = ref Unsafe.Add(ref y, o + (32 * ib));
                for (int l = 0; l < 4; l++)
                {
                    int first = Unsafe.Add(ref indices, 2 * l) | ((high << (8 - (2 * l))) & 256);
                    int second = Unsafe.Add(ref indices, (2 * l) + 1) | ((high << (7 - (2 * l))) & 256);
                    int signs = Unsafe.Add(ref x, s + 74 + (4 * ib) + (nuint)l);
                    GridRow(Rows4(ref grid, first, second), db, ref masks, signs, ref Unsafe.Add(ref out32, 8 * l));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ1_S(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        ref sbyte grid = ref MemoryMarshal.GetReference(QuantTables.Iq1SGrid);
        nuint blocks = (nuint)destination.Length / 256;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 50, o += 256)
        {
            float d = Half(ref x, s);
            for (nuint ib = 0; ib < 8; ib++)
            {
                int qh = ReadUInt16(ref x, s + 34 + (2 * ib));
                Vector256<float> dl = Vector256.Create(d * ((2 * ((qh >> 12) & 7)) + 1));
                // ±1/8, the sign from bit 15, without a branch on random bits.
                Vector256<float> delta = Vector256.Create(BitConverter.Int32BitsToSingle(0x3E000000 | ((qh & 0x8000) << 16)));
                ref float out32 = ref Unsafe.Add(ref y, o + (32 * ib));
                for (int l = 0; l < 4; l++)
                {
                    int index = Unsafe.Add(ref x, s + 2 + (4 * ib) + (nuint)l) | (((qh >> (3 * l)) & 7) << 8);
                    (dl * (Row8(ref grid, index) + delta)).StoreUnsafe(ref out32, (nuint)(8 * l));
                }
            }
        }
    }

    /// <summary>±1/8 broadcast, negative when bit 31 of <paramref name="signBit"/> is set (no branch on random bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Delta(int signBit) => Vector256.Create(BitConverter.Int32BitsToSingle(0x3E000000 | (signBit & int.MinValue)));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void IQ1_M(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref byte x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        ref sbyte grid = ref MemoryMarshal.GetReference(QuantTables.Iq1SGrid);
        nuint blocks = (nuint)destination.Length / 256;
        for (nuint b = 0, s = 0, o = 0; b < blocks; b++, s += 56, o += 256)
        {
            ulong sc = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref x, s + 48));
            int scaleBits = (int)(((sc >> 12) & 0xF) | ((sc >> 24) & 0xF0) | ((sc >> 36) & 0xF00) | ((sc >> 48) & 0xF000));
            float d = ScaleFormats.HalfToSingle((ushort)scaleBits);
            for (nuint ib = 0; ib < 8; ib++)
            {
                // Scale word ib/2, 6 bits per 32 elements: 3 for the first 16, 3 for the second.
                int word = (int)((sc >> (16 * (int)(ib / 2))) & 0xFFFF);
                int shift = 6 * (int)(ib % 2);
                Vector256<float> dl1 = Vector256.Create(d * ((2 * ((word >> shift) & 7)) + 1));
                Vector256<float> dl2 = Vector256.Create(d * ((2 * ((word >> (shift + 3)) & 7)) + 1));
                int qh0 = Unsafe.Add(ref x, s + 32 + (2 * ib)), qh1 = Unsafe.Add(ref x, s + 33 + (2 * ib));
                ref byte qs = ref Unsafe.Add(ref x, s + (4 * ib));
                ref float out32 = ref Unsafe.Add(ref y, o + (32 * ib));
                (dl1 * (Row8(ref grid, qs | ((qh0 << 8) & 0x700)) + Delta(qh0 << 28))).StoreUnsafe(ref out32);
                (dl1 * (Row8(ref grid, Unsafe.Add(ref qs, 1) | ((qh0 << 4) & 0x700)) + Delta(qh0 << 24))).StoreUnsafe(ref out32, 8);
                (dl2 * (Row8(ref grid, Unsafe.Add(ref qs, 2) | ((qh1 << 8) & 0x700)) + Delta(qh1 << 28))).StoreUnsafe(ref out32, 16);
                (dl2 * (Row8(ref grid, Unsafe.Add(ref qs, 3) | ((qh1 << 4) & 0x700)) + Delta(qh1 << 24))).StoreUnsafe(ref out32, 24);
            }
        }
    }
}
