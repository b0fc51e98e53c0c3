using System.Text;
using Gguf.Testing;

namespace Gguf.Conformance.Tokenization;

/// <summary>One input of the differential text set: a name for failure messages, and its bytes.</summary>
internal sealed record TokenizerText(string Name, byte[] Bytes)
{
    public override string ToString() => Name;
}

/// <summary>
/// The generated differential text set: ASCII, Latin with diacritics, CJK, emoji and ZWJ sequences,
/// Arabic, Devanagari and other scripts, code, numbers of every length, whitespace runs (spaces, tabs,
/// newlines, CRLF, non-ASCII spaces), special-token strings of the vocabulary under test, invalid UTF-8,
/// and long inputs. Deterministic for a seed.
/// </summary>
internal static class TextSet
{
    /// <summary>Fragments the generated and random texts are drawn from, by category.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Pools = new Dictionary<string, string[]>
    {
        ["ascii"] =
        [
            "Hello world", "hello", "The quick brown fox jumps over the lazy dog.", "I'm", "you're", "we'll", "they've", "she'd",
            "it's", "don't", "DON'T", "I'M", "She'S", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "' s", "rock 'n' roll", "a", "A",
            "Hello, World!", "What?!", "e.g.", "U.S.A.", "(parenthesis)", "[brackets]", "{braces}", "semi;colon:", "quote\"", "back\\slash",
            "@user #tag $100 % ^ & * _ + = | ~ `", "a-b_c", "CamelCaseWord", "snake_case_word", "ALLCAPS", "MiXeD", "x", "...", "?!", " ,",
        ],
        ["latin"] =
        [
            "café", "naïve", "résumé", "Ångström", "Straße", "façade", "piñata", "Ærøskøbing", "Dvořák", "Łódź", "İstanbul", "ıi", "ǅ",
            "ﬁ", "e\u0301", "a\u0308\u0304", "Tiếng Việt", "Œuvre", "Ḁḁ", "ŉ", "ǰ", "ΐ", "Ω", "K", "µ", "ª", "ß", "ẞ",
        ],
        ["cjk"] =
        [
            "你好，世界！", "中文字符", "こんにちは世界", "カタカナ", "ﾊﾝｶｸ", "漢字とかな", "안녕하세요 세계", "한국어", "𠀀𠀁𪚥", "〇〆々",
            "「引用」", "、。", "ㄅㄆㄇ", "㐀㐁", "鿿",
        ],
        ["emoji"] =
        [
            "😀", "😃👍", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇺🇸🇯🇵", "✨🔥💯", "©®™", "☺", "👩🏾‍💻", "🧑‍🤝‍🧑", "#️⃣", "🫠",
        ],
        ["scripts"] =
        [
            "مرحبا بالعالم", "العربية", "١٢٣٤", "שלום עולם", "नमस्ते दुनिया", "हिन्दी", "१२३", "สวัสดีชาวโลก", "Привет мир",
            "Γειά σου Κόσμε", "Ελληνικά", "ქართული", "Հայերեն", "ᚠᚢᚦ", "𐌰𐌱", "ꦗꦮ", "ᠮᠣᠩᠭᠣᠯ", "አማርኛ",
        ],
        ["code"] =
        [
            "int main() {\n    return 0;\n}\n", "def f(x):\n\treturn x ** 2\n", "{\"key\": [1, 2.5, null, true]}",
            "<div class=\"a\">&nbsp;</div>", "SELECT * FROM t WHERE id = 42;", "for (var i = 0; i < n; i++) { s += a[i]; }",
            "x => x?.Y ?? z", "#include <stdio.h>", "// comment\n/* block */", "$ ls -la | grep '.cs'", "a==b!=c<=d>=e",
            "    indented\n        more\n", "if x:\r\n    y()\r\n", "fn main() -> Result<(), Box<dyn Error>> {}",
        ],
        ["numbers"] =
        [
            "0", "7", "42", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789", "1234567890",
            "12345678901", "123456789012", "1234567890123", "00001", "3.14159", "1,000,000", "-42", "+7", "1e10", "0x1F",
            "2024-01-02", "12:34:56", "½", "²³", "①②", "Ⅻ", "１２３", "٣.١٤", "१२३४५", "9999999999999999999999",
        ],
        ["whitespace"] =
        [
            " ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\r", " \n ", "  \n  ", "\t \n",
            "\u00A0", "\u3000", "\u2003", "\u0085", "\u2028", "\u200B", "\uFEFF", "\u180E", "\v", "\f", "\u001F",
        ],
        ["controls"] = ["\u0000", "\u0001", "\u007F", "\u001B[0m", "\u0080", "\u009F", "\u00AD", "\u200D", "\u2060", "\uFFFD", "\uE000", "\U000F0000"],
    };

    /// <summary>Invalid and unusual UTF-8 (each safe for every llama.cpp model).</summary>
    public static readonly byte[][] InvalidUtf8 =
    [
        [0x80], [0xBF], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80],
        [0xED, 0xBF, 0xBF], [0xFF], [0xFE], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC3, 0x28], [0xA0, 0xA1], [0xE2, 0x28, 0xA1],
        [0xF0, 0x28, 0x8C, 0xBC], [0x61, 0x80, 0x62], [0xEF, 0xBF, 0xBD], [0xF4, 0x8F, 0xBF, 0xBF], [0xC1, 0xBF],
    ];

    /// <summary>
    /// Code points above U+10FFFF in 4-byte form: llama.cpp's BPE and WordPiece tokenizers abort on them
    /// (an exception escapes <c>llama_tokenize</c>); only SentencePiece, which never decodes, takes them.
    /// </summary>
    public static readonly byte[][] BeyondUnicode = [[0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF7, 0xBF, 0xBF, 0xBF]];

    /// <summary>The deterministic text set for a vocabulary whose special tokens are <paramref name="specials"/>.</summary>
    public static List<TokenizerText> Generate(IReadOnlyList<string> specials, bool allowBeyondUnicode, int seed = 1, bool includeLong = true)
    {
        var rng = new Random(seed);
        var texts = new List<TokenizerText>();
        void Add(string name, string text) => texts.Add(new TokenizerText(name, Encoding.UTF8.GetBytes(text)));

        Add("empty", "");
        foreach ((string category, string[] pool) in Pools)
        {
            for (int i = 0; i < pool.Length; i++)
            {
                Add($"{category}[{i}]", pool[i]);
                Add($"{category}[{i}] spaced", " " + pool[i] + " ");
            }

            Add($"{category} joined", string.Concat(pool));
            Add($"{category} sentence", string.Join(" ", pool));
        }

        // Numbers of every length, alone and after text and spaces.
        var digits = new StringBuilder();
        for (int n = 1; n <= 24; n++)
        {
            digits.Append((char)('0' + ((n * 7) % 10)));
            Add($"digits{n}", digits.ToString());
            Add($"digits{n} in text", $"x{digits} y {digits}z");
        }

        // Whitespace runs of every length, with and without text around them.
        foreach (string ws in (string[])[" ", "\t", "\n", "\r\n", " \t", "\u00A0", "\u3000"])
        {
            foreach (int n in (int[])[1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 33])
            {
                string run = string.Concat(Enumerable.Repeat(ws, n));
                Add($"ws '{Escape(ws)}' x{n}", run);
                Add($"ws '{Escape(ws)}' x{n} around", "a" + run + "b");
                Add($"ws '{Escape(ws)}' x{n} trailing", "word" + run);
                Add($"ws '{Escape(ws)}' x{n} leading", run + "word");
            }
        }

        // Special-token strings of this vocabulary: alone, glued, spaced, repeated, inside words.
        for (int i = 0; i < specials.Count; i++)
        {
            string s = specials[i];
            Add($"special[{i}]", s);
            Add($"special[{i}] glued", "Hello" + s + "world");
            Add($"special[{i}] spaced", " Hello " + s + " world ");
            Add($"special[{i}] doubled", s + s);
            Add($"special[{i}] newlines", "\n" + s + "\n\n" + s + "\n");
            Add($"special[{i}] prefix", s + " text");
            Add($"special[{i}] broken", s.Length > 2 ? s[..(s.Length / 2)] + " " + s[(s.Length / 2)..] : s + " " + s);
        }

        if (specials.Count > 1)
        {
            for (int i = 0; i < 20; i++)
            {
                var sb = new StringBuilder();
                for (int k = 0; k < 6; k++)
                {
                    sb.Append(rng.Next(3) == 0 ? specials[rng.Next(specials.Count)] : Fragment(rng));
                }

                Add($"special mix {i}", sb.ToString());
            }
        }

        // Invalid UTF-8 alone and between text.
        for (int i = 0; i < InvalidUtf8.Length; i++)
        {
            texts.Add(new TokenizerText($"invalid[{i}]", InvalidUtf8[i]));
            texts.Add(new TokenizerText($"invalid[{i}] in text", [.. "ab "u8, .. InvalidUtf8[i], .. " cd"u8]));
        }

        if (allowBeyondUnicode)
        {
            for (int i = 0; i < BeyondUnicode.Length; i++)
            {
                texts.Add(new TokenizerText($"beyond[{i}]", [.. "x"u8, .. BeyondUnicode[i], .. "y"u8]));
            }
        }

        // Random mixtures of every pool.
        for (int i = 0; i < 60; i++)
        {
            var sb = new StringBuilder();
            int parts = rng.Next(1, 12);
            for (int k = 0; k < parts; k++)
            {
                sb.Append(Fragment(rng));
                if (rng.Next(3) == 0)
                {
                    sb.Append(Pools["whitespace"][rng.Next(Pools["whitespace"].Length)]);
                }
            }

            Add($"mix {i}", sb.ToString());
        }

        if (includeLong)
        {
            foreach ((string name, byte[] bytes) in Long(rng, specials))
            {
                texts.Add(new TokenizerText(name, bytes));
            }
        }

        return texts;
    }

    /// <summary>Long inputs: runs of one character class, and a mixed document.</summary>
    public static IEnumerable<(string Name, byte[] Bytes)> Long(Random rng, IReadOnlyList<string> specials)
    {
        yield return ("long spaces", Encoding.UTF8.GetBytes(new string(' ', 3000) + "end"));
        yield return ("long letters", Encoding.UTF8.GetBytes(new string('a', 3000)));
        yield return ("long digits", Encoding.UTF8.GetBytes(new string('7', 3000)));
        yield return ("long newlines", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("\r\n", 1500))));
        yield return ("long cjk", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("中文", 1000))));
        yield return ("long emoji", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("👨‍👩‍👧", 300))));
        yield return ("long spaces then cjk", Encoding.UTF8.GetBytes("a" + new string(' ', 2000) + "中"));
        var doc = new StringBuilder();
        while (doc.Length < 20000)
        {
            doc.Append(Fragment(rng));
            doc.Append(rng.Next(4) == 0 ? "\n" : " ");
            if (specials.Count > 0 && rng.Next(40) == 0)
            {
                doc.Append(specials[rng.Next(specials.Count)]);
            }
        }

        yield return ("long document", Encoding.UTF8.GetBytes(doc.ToString()));
    }

    /// <summary>A random fragment from a random pool.</summary>
    public static string Fragment(Random rng)
    {
        string[][] pools = [.. Pools.Values];
        string[] pool = pools[rng.Next(pools.Length)];
        return pool[rng.Next(pool.Length)];
    }

    public static string Escape(string s) => s.Replace("\r", "\\r").Replace("\n", "\\n").Replace("\t", "\\t");
}
