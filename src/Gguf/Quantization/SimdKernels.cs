using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gguf.Quantization;

/// <summary>
/// The x86 SIMD kernels (AVX2, with AVX-512 where the CPU has it). They compute exactly what
/// <see cref="ScalarKernels"/> computes: quants become exact small integers, converted to float and
/// multiplied (and offset) by the block's scales in ggml's order, one rounding per operation, never a
/// fused multiply-add. Sign flips are XORs of the sign bit, as in ggml's compiled code.
/// </summary>
/// <remarks>
/// Loads and stores go through <c>ref</c> arithmetic without bounds checks: every kernel is entered with
/// <c>source.Length == blocks · bytesPerBlock</c> and <c>destination.Length == blocks · blockSize</c>
/// (<see cref="DequantKernels"/> and <see cref="Dequantizer"/> check it), and each touches only its
/// blocks' bytes and elements. The kernels are compiled fully optimized on first use
/// (<c>AggressiveOptimization</c>): a model's tensors are often decoded once each, and tier-0 code, with
/// nothing inlined, would run the vector helpers as calls.
/// </remarks>
internal static partial class SimdKernels
{
    // ---- 16 elements from 16 small integers (each fits a signed byte)

    /// <summary>y[0..16) = (float)q · scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scaled(Vector128<sbyte> q, float scale, ref float y)
    {
        if (Avx512F.IsSupported)
        {
            Vector512<float> f = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(q));
            (f * Vector512.Create(scale)).StoreUnsafe(ref y);
        }
        else
        {
            Vector256<float> s = Vector256.Create(scale);
            (Low8(q) * s).StoreUnsafe(ref y);
            (High8(q) * s).StoreUnsafe(ref y, 8);
        }
    }

    /// <summary>
    /// y[0..16) = (float)q · scale + offset. When both the product and the offset are NaN, ggml's x86 code
    /// returns the product's NaN (the first operand of its add); the JIT may order a commutative add's
    /// operands either way, so a NaN product is selected explicitly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaledPlus(Vector128<sbyte> q, float scale, float offset, ref float y)
    {
        if (Avx512F.IsSupported)
        {
            Vector512<float> product = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(q)) * Vector512.Create(scale);
            Vector512.ConditionalSelect(Vector512.Equals(product, product), product + Vector512.Create(offset), product).StoreUnsafe(ref y);
        }
        else
        {
            Vector256<float> s = Vector256.Create(scale), o = Vector256.Create(offset);
            Vector256<float> low = Low8(q) * s, high = High8(q) * s;
            Vector256.ConditionalSelect(Vector256.Equals(low, low), low + o, low).StoreUnsafe(ref y);
            Vector256.ConditionalSelect(Vector256.Equals(high, high), high + o, high).StoreUnsafe(ref y, 8);
        }
    }

    /// <summary>y[0..16) = (float)q · scale − offset.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaledMinus(Vector128<sbyte> q, float scale, float offset, ref float y)
    {
        if (Avx512F.IsSupported)
        {
            Vector512<float> f = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(q));
            ((f * Vector512.Create(scale)) - Vector512.Create(offset)).StoreUnsafe(ref y);
        }
        else
        {
            Vector256<float> s = Vector256.Create(scale), o = Vector256.Create(offset);
            ((Low8(q) * s) - o).StoreUnsafe(ref y);
            ((High8(q) * s) - o).StoreUnsafe(ref y, 8);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Low8(Vector128<sbyte> q) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> High8(Vector128<sbyte> q) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(q, 8)));

    // ---- bytes and bits

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Load16(ref byte source, nuint offset) => Vector128.LoadUnsafe(ref source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Load32(ref byte source, nuint offset) => Vector256.LoadUnsafe(ref source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort ReadUInt16(ref byte source, nuint offset) => Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref source, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ReadUInt32(ref byte source, nuint offset) => Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref source, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Half(ref byte source, nuint offset) => ScaleFormats.HalfToSingle(ReadUInt16(ref source, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Low(Vector128<byte> q) => q & Vector128.Create((byte)0x0F);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> High(Vector128<byte> q) => Sse2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & Vector128.Create((byte)0x0F);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Low(Vector256<byte> q) => q & Vector256.Create((byte)0x0F);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> High(Vector256<byte> q) => Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & Vector256.Create((byte)0x0F);

    /// <summary>Byte lanes shifted right by <paramref name="count"/> bits (x86 has no byte shift: a word shift, then a mask).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> ShiftRight(Vector256<byte> q, byte count) =>
        Vector256.ShiftRightLogical(q.AsUInt16(), count).AsByte() & Vector256.Create((byte)(0xFF >> count));

    /// <summary>0xFF in byte lane i where bit i of <paramref name="bits"/> is set, for 16 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> BitsToBytes(uint bits)
    {
        Vector128<byte> spread = Ssse3.Shuffle(Vector128.CreateScalarUnsafe(bits).AsByte(), Vector128.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
        Vector128<byte> bit = Vector128.Create((byte)1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
        return Vector128.Equals(spread & bit, bit);
    }

    /// <summary>The 16 values of a signed-byte table, looked up by 16 indices below 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Lookup(Vector128<sbyte> table, Vector128<byte> indices) => Ssse3.Shuffle(table, indices.AsSByte());

    private static Vector128<sbyte> Table16(ReadOnlySpan<sbyte> values) => Vector128.Create(values);
}
