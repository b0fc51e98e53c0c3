using System.Diagnostics;
using System.Text;
using CsCheck;
using Gguf.Testing;
using Gguf.Tests.Support;
using Gguf.Tokenization;

namespace Gguf.Tests.Tokenization;

/// <summary>
/// Properties over random text: encoding never throws and yields valid ids; byte-level vocabularies
/// round-trip; long inputs scale linearly (a scaling check: the time for 16× the input stays far below
/// 16² times the time for the input, whatever the machine's speed).
/// </summary>
public sealed class TokenizerPropertyTests : IDisposable
{
    private static readonly string[] Fragments =
    [
        "Hello", " world", "the", " the", "ing", "12", "1234567", "café", "naïve", "中文", "こんにちは", "😀", "👨‍👩‍👧", "مرحبا",
        "नमस्ते", "\n", "\r\n", "\t", "  ", "   ", "\u00A0", "\u3000", "'s", "'LL", "<|im_end|>", "<|endoftext|>", "</s>", "<tool>",
        "int main() { return 0; }", "x == y", "\u0000", "\u200B", "\uFFFD", ",", ".", "!?", "ü", "ß", "İ", "e\u0301",
    ];

    private static readonly byte[][] Bytes = [[0x80], [0xC3], [0xE2, 0x82], [0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88]];

    private readonly TempDirectory _dir = new("gguf-tokenizer-props");

    public void Dispose() => _dir.Dispose();

    /// <summary>Random byte strings: fragments of text from the pools, invalid sequences and code points beyond U+10FFFF.</summary>
    private static readonly Gen<byte[]> Text =
        Gen.Frequency<byte[]>(
            (6, Gen.OneOf(Fragments).Select(f => Encoding.UTF8.GetBytes(f))),
            (1, Gen.OneOf(Bytes)),
            (1, Gen.Int[0x20, 0x10FFFF].Where(cp => cp is < 0xD800 or > 0xDFFF).Select(cp => Encoding.UTF8.GetBytes(char.ConvertFromUtf32(cp)))))
        .Array[0, 24]
        .Select(parts => parts.SelectMany(p => p).ToArray());

    [Fact]
    public void Encode_NeverThrows_AndGivesValidIds()
    {
        GgufTokenizer[] tokenizers =
        [
            TestVocabularies.SentencePiece().Build(_dir, "spm.gguf"),
            TestVocabularies.Bpe("gpt-4o").Build(_dir, "gpt4o.gguf"),
            TestVocabularies.Bpe("deepseek-llm").Build(_dir, "dsl.gguf"),
            TestVocabularies.Bpe("llama-bpe").Build(_dir, "llama3.gguf"),
            TestVocabularies.WordPiece().Build(_dir, "bert.gguf"),
        ];
        Text.Sample(bytes =>
        {
            foreach (GgufTokenizer t in tokenizers)
            {
                foreach (bool special in (bool[])[true, false])
                {
                    int[] ids = t.Encode(bytes, special, special);
                    Assert.All(ids, id => Assert.InRange(id, 0, t.VocabularySize - 1));
                    _ = t.DecodeToUtf8(ids, special, special);
                }
            }
        }, iter: 300, threads: 1);
    }

    [Fact]
    public void SentencePiece_RoundTripsValidText()
    {
        // A user-defined token makes the next text start a new word (with a space prefix), so leave it out;
        // so is invalid UTF-8, whose lead bytes swallow the escaped spaces that follow (llama.cpp does the same).
        GgufTokenizer t = TestVocabularies.SentencePiece().Build(_dir);
        Text.Where(b => b.AsSpan().IndexOf("<tool>"u8) < 0 && IsValidUtf8(b)).Sample(bytes =>
        {
            byte[] decoded = t.DecodeToUtf8(t.Encode(bytes, addSpecial: false, parseSpecial: false));
            Assert.Equal(bytes, decoded);
        }, iter: 300, threads: 1);
    }

    [Fact]
    public void ByteLevelBpe_RoundTripsValidText()
    {
        GgufTokenizer t = TestVocabularies.Bpe("qwen2").Build(_dir); // qwen2 does not clean spaces
        Text.Where(b => IsValidUtf8(b)).Sample(bytes =>
        {
            byte[] decoded = t.DecodeToUtf8(t.Encode(bytes, addSpecial: false, parseSpecial: false));
            Assert.Equal(bytes, decoded);
        }, iter: 300, threads: 1);
    }

    [Theory]
    [InlineData("spm", "a")]
    [InlineData("spm", " ")]
    [InlineData("spm", "ab")]
    [InlineData("deepseek-llm", " ")]
    [InlineData("deepseek-llm", "  \t")]
    [InlineData("qwen2", " ")]
    [InlineData("gpt-4o", "A")]
    [InlineData("gpt-4o", "Ab")]
    [InlineData("llama-bpe", "1")]
    [InlineData("bert", "a")]
    [InlineData("bert", "<|im_end|>")]
    public void LongRuns_ScaleLinearly(string vocabulary, string unit)
    {
        GgufTokenizer t = vocabulary switch
        {
            "spm" => TestVocabularies.SentencePiece().Build(_dir),
            "bert" => TestVocabularies.WordPiece().Build(_dir),
            _ => TestVocabularies.Bpe(vocabulary).Build(_dir),
        };

        // A run of one unit, ended by a character that makes backtracking pre-tokenizers (\s+$, \s+(?!\S))
        // revisit the run; quadratic work would make 16× the input cost about 256× the time.
        byte[] Input(int n) => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(unit, n)) + "中");
        byte[] small = Input(4_000), large = Input(64_000);
        double tSmall = BestOf(() => t.Encode(small)), tLarge = BestOf(() => t.Encode(large));
        double ratio = tLarge / Math.Max(tSmall, 1e-3);
        Assert.True(ratio < 60, $"16× the input took {ratio:F1}× the time ({tSmall:F2} ms → {tLarge:F2} ms): the work grows faster than n log n");
    }

    /// <summary>
    /// The least CPU time of this thread over 5 runs, in ms: CPU time, not wall time, so that a loaded machine
    /// (waiting for a core) does not distort the ratio; wall time where the OS has no per-thread clock.
    /// </summary>
    private static double BestOf(Action action)
    {
        action();
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            double start = ThreadCpuMilliseconds() ?? Stopwatch.GetTimestamp() * 1000.0 / Stopwatch.Frequency;
            action();
            double end = ThreadCpuMilliseconds() ?? Stopwatch.GetTimestamp() * 1000.0 / Stopwatch.Frequency;
            best = Math.Min(best, end - start);
        }

        return best;
    }

    /// <summary>clock_gettime(CLOCK_THREAD_CPUTIME_ID) on Linux.</summary>
    private static unsafe double? ThreadCpuMilliseconds()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        long* timespec = stackalloc long[2];
        return ClockGetTime(3, timespec) == 0 ? (timespec[0] * 1000.0) + (timespec[1] / 1e6) : null;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern unsafe int ClockGetTime(int clock, long* timespec);

    private static bool IsValidUtf8(byte[] bytes)
    {
        try
        {
            _ = new UTF8Encoding(false, true).GetString(bytes);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
