namespace Gguf.Testing;

/// <summary>
/// Rounding up to a multiple, as GGUF pads its data section and each tensor's data. Unlike the library's
/// power-of-two helper, any positive multiple works: hostile files use alignments that are not powers of two.
/// </summary>
public static class Rounding
{
    /// <summary><paramref name="value"/> (not negative) rounded up to the next multiple of <paramref name="multiple"/> (positive).</summary>
    public static long Up(long value, long multiple) => checked((value + multiple - 1) / multiple * multiple);
}
