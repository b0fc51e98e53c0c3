namespace Gguf.Testing;

/// <summary>Rounding up to a multiple, as GGUF pads its data section and each tensor's data.</summary>
public static class Align
{
    /// <summary>
    /// <paramref name="value"/> (not negative) rounded up to the next multiple of <paramref name="alignment"/>
    /// (any positive alignment: hostile files use ones that are not powers of two).
    /// </summary>
    public static long Up(long value, long alignment) => checked((value + alignment - 1) / alignment * alignment);
}
