using System.Globalization;

namespace Gguf.Cli.Commands;

/// <summary>Sizes on the command line: <c>1048576</c>, <c>64K</c>, <c>1MiB</c>, <c>2GB</c> (binary multiples in every case).</summary>
internal static class ByteSizeParser
{
    /// <summary>Parses a size.</summary>
    /// <exception cref="FormatException">Not a size.</exception>
    public static long Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string s = text.Trim();
        int end = 0;
        while (end < s.Length && (char.IsAsciiDigit(s[end]) || s[end] == '.'))
        {
            end++;
        }

        if (end == 0 || !double.TryParse(s[..end], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
        {
            throw new FormatException($"'{text}' is not a size (examples: 4096, 64KiB, 1MiB, 2GiB)");
        }

        long multiplier = s[end..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => throw new FormatException($"'{text}' has an unknown unit (use B, KiB, MiB, GiB or TiB)"),
        };
        double bytes = number * multiplier;
        if (bytes is < 0 or > long.MaxValue || bytes != Math.Floor(bytes))
        {
            throw new FormatException($"'{text}' is not a whole number of bytes");
        }

        return (long)bytes;
    }
}
