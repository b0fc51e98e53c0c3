namespace Gguf.IO;

/// <summary>Alignment arithmetic for powers of two, shared by every layer (one definition).</summary>
internal static class Align
{
    /// <summary>Whether <paramref name="value"/> is a positive power of two.</summary>
    public static bool IsPowerOfTwo(long value) => value > 0 && (value & (value - 1)) == 0;

    /// <summary><paramref name="value"/> rounded up to a multiple of <paramref name="alignment"/> (a power of two); the caller rules out overflow.</summary>
    public static long Up(long value, long alignment) => (value + alignment - 1) & ~(alignment - 1);

    /// <summary><paramref name="value"/> rounded down to a multiple of <paramref name="alignment"/> (a power of two).</summary>
    public static long Down(long value, long alignment) => value & ~(alignment - 1);
}
