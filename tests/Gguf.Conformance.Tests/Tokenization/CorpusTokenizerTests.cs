using Gguf.Testing;
using Gguf.Tokenization;

namespace Gguf.Conformance.Tokenization;

/// <summary>
/// Every vocabulary of ../shared/corpus (real files written by llama.cpp's converter: SentencePiece llama,
/// phi-3 and baichuan; BPE gpt-2, deepseek-llm, deepseek-coder, falcon, mpt, gpt-neox, refact, starcoder;
/// WordPiece bert-bge) against llama.cpp's own tokenizer on the generated text set, in every flag
/// combination. Zero differences is the bar. <c>GGUF_TOKENIZER_CAMPAIGN=N</c> adds N random texts per file.
/// </summary>
public sealed class CorpusTokenizerTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        string? corpus = TokenizerFiles.CorpusDirectory();
        if (corpus is null)
        {
            data.Add("(no corpus)");
            return data;
        }

        foreach (string path in Directory.GetFiles(corpus, "ggml-vocab-*.gguf").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(path));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Tokenizer_MatchesLlamaCpp(string file)
    {
        string corpus = TokenizerFiles.CorpusDirectory() ?? throw Skip();
        string path = Path.Combine(corpus, file);
        GgufTokenizer ours = TokenizerFiles.Ours(path);
        using LlamaVocab llama = LlamaVocab.Load(path);
        var comparison = new TokenizerComparison(file, ours, llama);
        comparison.CompareVocabulary();
        bool spm = ours.Model == TokenizerModel.SentencePiece;
        foreach (TokenizerText text in TextSet.Generate(TokenizerFiles.SpecialTexts(ours), allowBeyondUnicode: spm))
        {
            comparison.CompareText(text);
        }

        if (int.TryParse(Environment.GetEnvironmentVariable("GGUF_TOKENIZER_CAMPAIGN"), out int extra) && extra > 0)
        {
            RandomTexts.Campaign(comparison, ours, extra, seed: file.GetHashCode(StringComparison.Ordinal));
        }

        TestContext.Current.TestOutputHelper?.WriteLine(comparison.Summary());
        Assert.True(comparison.Differences == 0, comparison.Summary() + Environment.NewLine + string.Join(Environment.NewLine, comparison.Failures));
    }

    /// <summary><c>gguf tokenize</c> (the CLI, in process) prints llama.cpp's ids, in every flag combination.</summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void CliTokenize_PrintsLlamaCppIds(string file)
    {
        string corpus = TokenizerFiles.CorpusDirectory() ?? throw Skip();
        string path = Path.Combine(corpus, file);
        GgufTokenizer ours = TokenizerFiles.Ours(path);
        using LlamaVocab llama = LlamaVocab.Load(path);
        using var dir = new TempDirectory();
        var rng = new Random(5);
        List<string> specials = TokenizerFiles.SpecialTexts(ours);
        // One CLI run per flag combination (each builds the tokenizer from the file, as a user's run does).
        (bool Add, bool Parse)[] combinations = [(true, true), (false, true), (true, false), (false, false)];
        for (int i = 0; i < combinations.Length; i++)
        {
            (bool add, bool parse) = combinations[i];
            byte[] text = RandomTexts.Next(rng, specials, allowBeyondUnicode: ours.Model == TokenizerModel.SentencePiece);
            string input = dir.Write($"text{i}.bin", text);
            var output = new StringWriter();
            var error = new StringWriter();
            string[] args = ["tokenize", path, "--text-file", input, .. add ? Array.Empty<string>() : ["--no-add-special"], .. parse ? Array.Empty<string>() : ["--no-parse-special"]];
            Assert.Equal(0, Gguf.Cli.CliApp.Run(args, output, error));
            Assert.Equal(string.Join(' ', llama.Tokenize(text, add, parse)), output.ToString().Trim());
        }
    }

    private static Exception Skip()
    {
        Assert.Skip("../shared/corpus is not present next to the checkout; this test needs the optional shared corpus");
        return new InvalidOperationException();
    }
}

/// <summary>Random texts drawn from the pools (and random bytes), for long campaigns.</summary>
internal static class RandomTexts
{
    public static void Campaign(TokenizerComparison comparison, GgufTokenizer ours, int count, int seed)
    {
        var rng = new Random(seed);
        List<string> specials = TokenizerFiles.SpecialTexts(ours, 64);
        bool spm = ours.Model == TokenizerModel.SentencePiece;
        for (int i = 0; i < count; i++)
        {
            comparison.CompareText(new TokenizerText($"random {seed}/{i}", Next(rng, specials, spm)));
        }
    }

    /// <summary>One random text: pool fragments, special tokens, whitespace and (sometimes) invalid bytes.</summary>
    public static byte[] Next(Random rng, IReadOnlyList<string> specials, bool allowBeyondUnicode)
    {
        var bytes = new List<byte>();
        int parts = rng.Next(1, 16);
        for (int k = 0; k < parts; k++)
        {
            int kind = rng.Next(10);
            if (kind == 0 && specials.Count > 0)
            {
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(specials[rng.Next(specials.Count)]));
            }
            else if (kind == 1)
            {
                bytes.AddRange(TextSet.InvalidUtf8[rng.Next(TextSet.InvalidUtf8.Length)]);
            }
            else if (kind == 2 && allowBeyondUnicode)
            {
                bytes.AddRange(TextSet.BeyondUnicode[rng.Next(TextSet.BeyondUnicode.Length)]);
            }
            else if (kind == 3)
            {
                // Random code points from the BMP and beyond.
                int n = rng.Next(1, 6);
                for (int j = 0; j < n; j++)
                {
                    int cp = rng.Next(3) == 0 ? rng.Next(0x10000, 0x110000) : rng.Next(0x20, 0x10000);
                    if (cp is >= 0xD800 and <= 0xDFFF)
                    {
                        cp = 'x';
                    }

                    bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(char.ConvertFromUtf32(cp)));
                }
            }
            else
            {
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(TextSet.Fragment(rng)));
            }

            if (rng.Next(3) == 0)
            {
                string[] ws = TextSet.Pools["whitespace"];
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(ws[rng.Next(ws.Length)]));
            }
        }

        return [.. bytes];
    }
}
