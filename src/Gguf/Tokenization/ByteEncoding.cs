namespace Gguf.Tokenization;

/// <summary>
/// GPT-2's reversible map from bytes to printable characters, which byte-level BPE vocabularies are
/// written in: printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100 and up, in order.
/// </summary>
internal static class ByteEncoding
{
    private static readonly int[] ToCodePoint = BuildForward();
    private static readonly Dictionary<int, byte> FromCodePoint = BuildBackward();

    /// <summary>Writes the UTF-8 of byte <paramref name="value"/>'s character; returns its length (1 or 2).</summary>
    public static int Encode(byte value, Span<byte> destination) => LlamaUnicode.Encode(ToCodePoint[value], destination);

    /// <summary>The code point standing for <paramref name="value"/>.</summary>
    public static int CodePoint(byte value) => ToCodePoint[value];

    /// <summary>The byte a character stands for, or -1 when it is not one of the 256.</summary>
    public static int Decode(int codePoint) => FromCodePoint.TryGetValue(codePoint, out byte b) ? b : -1;

    private static bool IsPrintable(int b) => b is (>= 0x21 and <= 0x7E) or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);

    private static int[] BuildForward()
    {
        var map = new int[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            map[b] = IsPrintable(b) ? b : next++;
        }

        return map;
    }

    private static Dictionary<int, byte> BuildBackward()
    {
        var map = new Dictionary<int, byte>(256);
        for (int b = 0; b < 256; b++)
        {
            map[ToCodePoint[b]] = (byte)b;
        }

        return map;
    }
}
