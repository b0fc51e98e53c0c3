using System.Numerics;
using System.Runtime.CompilerServices;

namespace Gguf.Quantization;

/// <summary>
/// The lookup tables of the non-linear and i-quant types. The byte tables (grids, value tables) are facts
/// derived from ggml's own <c>to_float</c> (QuantTables.Generated.cs says how); this half adds the rules
/// and the sign masks the SIMD kernels use.
/// </summary>
internal static partial class QuantTables
{
    /// <summary>
    /// The sign byte of the i-quants for a 7-bit index: bits 0–6 are the index, bit 7 makes the number of
    /// negated values even (an 8th sign is implied by the parity of the other seven).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte SignsFromIndex(int index7) => (byte)(index7 | ((BitOperations.PopCount((uint)index7) & 1) << 7));

    /// <summary>
    /// For each sign byte, 8 lanes of 0 or 0x80000000: XOR-ing a lane with it negates the value when the
    /// byte's bit is set (ggml's compiled kernels negate by flipping the sign bit, so NaNs flip too).
    /// </summary>
    public static uint[] SignMasks => Masks.SignMasks;

    // Built on first use of an i-quant kernel: 8 KB.
    private static class Masks
    {
        public static readonly uint[] SignMasks = BuildSignMasks();

        private static uint[] BuildSignMasks()
        {
            var masks = new uint[256 * 8];
            for (int signs = 0; signs < 256; signs++)
            {
                for (int bit = 0; bit < 8; bit++)
                {
                    masks[(signs * 8) + bit] = ((signs >> bit) & 1) != 0 ? 0x80000000u : 0u;
                }
            }

            return masks;
        }
    }
}
