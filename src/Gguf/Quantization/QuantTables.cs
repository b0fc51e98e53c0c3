using System.Numerics;
using System.Runtime.CompilerServices;

namespace Gguf.Quantization;

/// <summary>
/// The lookup tables of the non-linear and i-quant types. The byte tables (grids, value tables) are facts
/// derived from ggml's own <c>to_float</c> (QuantTables.Generated.cs says how); this half expands them
/// once into the float rows the kernels read.
/// </summary>
internal static partial class QuantTables
{
    /// <summary>
    /// The sign byte of the i-quants for a 7-bit index: bits 0–6 are the index, bit 7 makes the number of
    /// negated values even (an 8th sign is implied by the parity of the other seven).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte SignsFromIndex(int index7) => (byte)(index7 | ((BitOperations.PopCount((uint)index7) & 1) << 7));

    /// <summary>IQ2_XXS grid as floats, 8 per entry.</summary>
    public static float[] Iq2XxsFloats => Expanded.Iq2Xxs;

    /// <summary>IQ2_XS grid as floats, 8 per entry.</summary>
    public static float[] Iq2XsFloats => Expanded.Iq2Xs;

    /// <summary>IQ2_S grid as floats, 8 per entry.</summary>
    public static float[] Iq2SFloats => Expanded.Iq2S;

    /// <summary>IQ3_XXS grid as floats, 4 per entry.</summary>
    public static float[] Iq3XxsFloats => Expanded.Iq3Xxs;

    /// <summary>IQ3_S grid as floats, 4 per entry.</summary>
    public static float[] Iq3SFloats => Expanded.Iq3S;

    /// <summary>IQ1_S/IQ1_M grid as floats (−1, 0, 1), 8 per entry.</summary>
    public static float[] Iq1SFloats => Expanded.Iq1S;

    /// <summary>
    /// For each sign byte, 8 lanes of 0 or 0x80000000: XOR-ing a lane with it negates the value when the
    /// byte's bit is set (ggml's compiled kernels negate by flipping the sign bit, so NaNs flip too).
    /// </summary>
    public static uint[] SignMasks => Expanded.SignMasks;

    // Built on first use of any i-quant kernel; about 140 KB in all.
    private static class Expanded
    {
        public static readonly float[] Iq2Xxs = ToFloats(Iq2XxsGrid);
        public static readonly float[] Iq2Xs = ToFloats(Iq2XsGrid);
        public static readonly float[] Iq2S = ToFloats(Iq2SGrid);
        public static readonly float[] Iq3Xxs = ToFloats(Iq3XxsGrid);
        public static readonly float[] Iq3S = ToFloats(Iq3SGrid);
        public static readonly float[] Iq1S = ToFloats(Iq1SGrid);
        public static readonly uint[] SignMasks = BuildSignMasks();

        private static float[] ToFloats(ReadOnlySpan<byte> grid)
        {
            var floats = new float[grid.Length];
            for (int i = 0; i < grid.Length; i++)
            {
                floats[i] = grid[i];
            }

            return floats;
        }

        private static float[] ToFloats(ReadOnlySpan<sbyte> grid)
        {
            var floats = new float[grid.Length];
            for (int i = 0; i < grid.Length; i++)
            {
                floats[i] = grid[i];
            }

            return floats;
        }

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
