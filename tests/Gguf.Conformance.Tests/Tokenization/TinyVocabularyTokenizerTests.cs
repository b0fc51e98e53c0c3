using System.Text;
using Gguf.Conformance.Support;
using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tokenization;

namespace Gguf.Conformance.Tokenization;

/// <summary>
/// Generated vocabularies against llama.cpp: a byte-level BPE vocabulary under every pre-tokenizer name
/// we implement (so llama-bpe, qwen2, deepseek-v3, gpt-4o and the rest are checked without their real
/// vocabularies), and SentencePiece and WordPiece variations that reach rules the corpus files do not.
/// </summary>
public sealed class TinyVocabularyTokenizerTests : IDisposable
{
    /// <summary>Pre-tokenizers whose full text set (with long inputs) runs by default; the rest get it in campaigns.</summary>
    private static readonly HashSet<string> Primary = ["llama-bpe", "qwen2", "deepseek-v3", "gpt-4o", "default", "tekken", "chameleon", "jais-2"];

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> PreTokenizers() =>
    [
        "default", "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano",
        "dbrx", "smaug-bpe", "glm4", "chatglm-bpe", "jais-2", "deepseek-llm", "deepseek-v3", "hunyuan-dense", "joyai-llm",
        "youtu", "deepseek-coder", "falcon", "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2", "command-r",
        "smollm", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
        "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "exaone4", "trillion",
        "granite-docling", "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2", "megrez",
        "stablelm2", "qwen35", "poro-chat", "bloom", "gpt3-finnish", "viking", "tekken", "chameleon", "gpt-4o", "llama4",
        "kanana2", "talkie", "minimax-m2", "granite-embed-multi-97m", "bailingmoe", "bailingmoe2", "llada-moe", "seed-coder",
        "laguna", "exaone-moe", "minicpm5",
    ];

    [Theory]
    [MemberData(nameof(PreTokenizers))]
    public void Bpe_MatchesLlamaCpp(string pre)
    {
        string path = TinyVocabularies.Write(TinyVocabularies.Bpe(pre), _dir.File($"bpe-{pre}.gguf"));
        Compare(path, fullSet: Primary.Contains(pre) || Campaign > 0, stride: 8);
    }

    [Fact]
    public void Bpe_WithoutPreTokenizerKey_UsesDefault()
    {
        string path = TinyVocabularies.Write(TinyVocabularies.Bpe(pre: null), _dir.File("bpe-none.gguf"));
        Compare(path, fullSet: false);
    }

    [Theory]
    [InlineData("kimi-k2")]
    [InlineData("gemma4")]
    [InlineData("superbpe")]
    [InlineData("tiny_aya")]
    [InlineData("afmoe")]
    [InlineData("no-such-pre-tokenizer")]
    public void Bpe_UnsupportedPreTokenizer_IsNamedInTheError(string pre)
    {
        string path = TinyVocabularies.Write(TinyVocabularies.Bpe(pre), _dir.File($"bpe-{pre}.gguf"));
        var e = Assert.Throws<TokenizerNotSupportedException>(() => TokenizerFiles.Ours(path));
        Assert.Equal("tokenizer.ggml.pre", e.Key);
        Assert.Equal(pre, e.Value);
        Assert.Contains(pre, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SentencePiece_MatchesLlamaCpp() =>
        Compare(TinyVocabularies.Write(TinyVocabularies.SentencePiece(), _dir.File("spm.gguf")), fullSet: true);

    [Fact]
    public void SentencePiece_Variations_MatchLlamaCpp()
    {
        var noPrefix = TinyVocabularies.SentencePiece();
        noPrefix.Extra.Add(("tokenizer.ggml.add_space_prefix", GgufValue.Bool(false)));
        noPrefix.Extra.Add(("tokenizer.ggml.add_eos_token", GgufValue.Bool(true)));
        noPrefix.Extra.Add(("tokenizer.ggml.add_bos_token", GgufValue.Bool(false)));
        Compare(TinyVocabularies.Write(noPrefix, _dir.File("spm-noprefix.gguf")), fullSet: false);

        // Equal scores everywhere: ties go to the leftmost pair.
        var ties = TinyVocabularies.SentencePiece();
        for (int i = 0; i < ties.Scores.Count; i++)
        {
            ties.Scores[i] = -1;
        }

        Compare(TinyVocabularies.Write(ties, _dir.File("spm-ties.gguf")), fullSet: false);

        // NaN scores do not order: the heap's sift order decides, as in libstdc++'s priority_queue.
        var nan = TinyVocabularies.SentencePiece();
        for (int i = 0; i < nan.Scores.Count; i += 3)
        {
            nan.Scores[i] = float.NaN;
        }

        Compare(TinyVocabularies.Write(nan, _dir.File("spm-nan.gguf")), fullSet: false);

        // Integer scores.
        var integers = TinyVocabularies.SentencePiece();
        integers.WriteScores = false;
        integers.Extra.Add(("tokenizer.ggml.scores", GgufValue.FromArray(integers.Scores.Select((s, i) => (int)s * 3 + (i % 5)).ToArray())));
        Compare(TinyVocabularies.Write(integers, _dir.File("spm-int.gguf")), fullSet: false);
    }

    [Fact]
    public void Unigram_MatchesLlamaCpp() =>
        Compare(TinyVocabularies.Write(TinyVocabularies.Unigram(), _dir.File("t5.gguf")), fullSet: true);

    [Fact]
    public void Unigram_Variations_MatchLlamaCpp()
    {
        var charsmap = TinyVocabularies.Unigram();
        charsmap.Extra.Add(("tokenizer.ggml.precompiled_charsmap", GgufValue.FromArray(TinyVocabularies.Charsmap())));
        Compare(TinyVocabularies.Write(charsmap, _dir.File("t5-charsmap.gguf")), fullSet: true);

        var signed = TinyVocabularies.Unigram();
        signed.Extra.Add(("tokenizer.ggml.precompiled_charsmap", GgufValue.FromArray(Array.ConvertAll(TinyVocabularies.Charsmap(), b => (sbyte)b))));
        signed.Extra.RemoveAll(e => e.Key == "tokenizer.ggml.remove_extra_whitespaces");
        Compare(TinyVocabularies.Write(signed, _dir.File("t5-signed.gguf")), fullSet: false);

        var plain = TinyVocabularies.Unigram();
        plain.Extra.Clear();
        plain.Extra.Add(("tokenizer.ggml.add_bos_token", GgufValue.Bool(true)));
        plain.Extra.Add(("tokenizer.ggml.bos_token_id", GgufValue.UInt32(1)));
        Compare(TinyVocabularies.Write(plain, _dir.File("t5-plain.gguf")), fullSet: false);
    }

    [Fact]
    public void WordPiece_Variations_MatchLlamaCpp()
    {
        Compare(TinyVocabularies.Write(TinyVocabularies.WordPiece(), _dir.File("wpm.gguf")), fullSet: true);

        var cased = TinyVocabularies.WordPiece();
        cased.Extra.Add(("tokenizer.ggml.normalizer.lowercase", GgufValue.Bool(false)));
        Compare(TinyVocabularies.Write(cased, _dir.File("wpm-cased.gguf")), fullSet: false);

        var accents = TinyVocabularies.WordPiece();
        accents.Extra.Add(("tokenizer.ggml.normalizer.strip_accents", GgufValue.Bool(false)));
        Compare(TinyVocabularies.Write(accents, _dir.File("wpm-accents.gguf")), fullSet: false);
    }

    [Fact]
    public void OverlappingSpecialTokensOfEqualLength_SplitInLlamaCppOrder()
    {
        // 40 user-defined tokens of length 2 over a 3-letter alphabet overlap everywhere; llama.cpp's
        // std::sort (introsort, unstable) decides which of two equal-length tokens is split first.
        var spec = TinyVocabularies.Bpe("gpt-2");
        string alphabet = "abc";
        foreach (char x in alphabet)
        {
            foreach (char y in alphabet)
            {
                foreach ((string text, int type) in (ValueTuple<string, int>[])[($"{x}{y}", TinyVocabularies.UserDefined), ($"<{x}{y}>", TinyVocabularies.UserDefined), ($"{x}{y}{x}", TinyVocabularies.Control)])
                {
                    int existing = spec.IndexOf(text);
                    if (existing >= 0)
                    {
                        spec.Types[existing] = type;
                    }
                    else
                    {
                        spec.Add(text, type);
                    }
                }
            }
        }

        if (spec.IndexOf("ab ") < 0)
        {
            spec.Add("ab ", TinyVocabularies.UserDefined);
        }
        string path = TinyVocabularies.Write(spec, _dir.File("overlap.gguf"));
        var rng = new Random(7);
        var texts = new List<TokenizerText>();
        for (int i = 0; i < 300; i++)
        {
            var sb = new StringBuilder();
            int n = rng.Next(1, 30);
            for (int k = 0; k < n; k++)
            {
                sb.Append("abc <> "[rng.Next(7)]);
            }

            texts.Add(new TokenizerText($"overlap {i}", Encoding.UTF8.GetBytes(sb.ToString())));
        }

        Compare(path, fullSet: false, texts);
    }

    [Fact]
    public void SeveralEndOfTurnCandidates_PickLlamaCppsChoice()
    {
        // No eot_token_id: llama.cpp takes the first candidate its unordered_map yields.
        foreach (int size in (int[])[20, 300, 5000])
        {
            var spec = TinyVocabularies.Bpe("qwen2", mergeCount: 10);
            for (int i = spec.Tokens.Count; i < size; i++)
            {
                spec.Add($"filler{i}");
            }

            spec.Add("<|eot_id|>", TinyVocabularies.Normal);
            spec.Add("<|end|>", TinyVocabularies.UserDefined);
            spec.Add("<end_of_turn>", TinyVocabularies.Normal);
            spec.Add("<EOT>", TinyVocabularies.Control);
            spec.Add("<fim-prefix>", TinyVocabularies.Normal);
            spec.Add("<PRE>", TinyVocabularies.Normal);
            spec.Add("<|fim_suffix|>", TinyVocabularies.Normal);
            spec.Add("<SUF>", TinyVocabularies.Normal);
            spec.Add("<|eom_id|>", TinyVocabularies.Normal);
            Compare(TinyVocabularies.Write(spec, _dir.File($"eot-{size}.gguf")), fullSet: false);
        }
    }

    [Fact]
    public void NamedModelRules_MatchLlamaCpp()
    {
        // phi-3: special tokens strip the whitespace on their right (except <unk>, <s>, <|endoftext|>).
        var phi = TinyVocabularies.SentencePiece("Phi-3-mini");
        phi.Add("<|endoftext|>", TinyVocabularies.Control);
        phi.Add("<|user|>", TinyVocabularies.UserDefined);
        phi.Add("<|assistant|>", TinyVocabularies.UserDefined);
        phi.Add("<|end|>", TinyVocabularies.UserDefined);
        Compare(TinyVocabularies.Write(phi, _dir.File("phi3.gguf")), fullSet: false);

        // jina-v2: <mask> strips the whitespace on its left.
        var jina = TinyVocabularies.Bpe("jina-v2-es");
        jina.Add("<mask>", TinyVocabularies.Control);
        Compare(TinyVocabularies.Write(jina, _dir.File("jina.gguf")), fullSet: false);

        // gpt-oss and harmony rules: <|start|> becomes user-defined; <|end|> stops ending generation.
        var harmony = TinyVocabularies.Bpe("gpt-4o");
        foreach (string t in (string[])["<|start|>", "<|message|>", "<|channel|>", "<|return|>", "<|call|>", "<|end|>"])
        {
            harmony.Add(t, TinyVocabularies.Control);
        }

        Compare(TinyVocabularies.Write(harmony, _dir.File("harmony.gguf")), fullSet: false);
    }

    [Fact]
    public void EmptyToken_IsRenamedAsLlamaCppDoes()
    {
        var spec = TinyVocabularies.SentencePiece();
        spec.Add([], TinyVocabularies.UserDefined);
        spec.Add("x[EMPTY_", TinyVocabularies.Normal);
        string path = TinyVocabularies.Write(spec, _dir.File("empty.gguf"));
        int id = spec.Tokens.Count - 2;
        var texts = new List<TokenizerText>
        {
            new("renamed", Encoding.UTF8.GetBytes($"a [EMPTY_{id}] b")),
            new("renamed glued", Encoding.UTF8.GetBytes($"[EMPTY_{id}][EMPTY_{id}]")),
        };
        Compare(path, fullSet: false, texts);
    }

    private static int Campaign => int.TryParse(Environment.GetEnvironmentVariable("GGUF_TOKENIZER_CAMPAIGN"), out int n) ? n : 0;

    private static void Compare(string path, bool fullSet, List<TokenizerText>? extra = null, int stride = 3)
    {
        GgufTokenizer ours = TokenizerFiles.Ours(path);
        using LlamaVocab llama = LlamaVocab.Load(path);
        string name = Path.GetFileName(path);
        var comparison = new TokenizerComparison(name, ours, llama);
        comparison.CompareVocabulary();
        bool spm = ours.Model == TokenizerModel.SentencePiece;
        var texts = extra ?? TextSet.Generate(TokenizerFiles.SpecialTexts(ours), allowBeyondUnicode: spm, seed: 3, includeLong: fullSet);
        if (!fullSet && extra is null)
        {
            texts = texts.Where((_, i) => i % stride == 0).ToList();
        }

        foreach (TokenizerText text in texts)
        {
            comparison.CompareText(text);
        }

        if (Campaign > 0)
        {
            RandomTexts.Campaign(comparison, ours, Campaign, seed: name.GetHashCode(StringComparison.Ordinal));
        }

        TestContext.Current.TestOutputHelper?.WriteLine(comparison.Summary());
        Assert.True(comparison.Differences == 0, comparison.Summary() + Environment.NewLine + string.Join(Environment.NewLine, comparison.Failures));
    }
}
