using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using CsCheck;
using Gguf.Conformance.Native;
using Gguf.Conformance.Probe;
using Gguf.Conformance.Support;
using Gguf.Format;
using Gguf.LlamaCpp;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tokenization;

namespace Gguf.Conformance.Tokenization;

/// <summary>
/// The rest of the differential evidence: random texts (CsCheck) against llama.cpp, old vocabulary files
/// of the corpus history, malformed metadata (where llama.cpp refuses a file, so do we; where we are
/// stricter, the rule is listed), and the libstdc++ prime table our hash-order emulation relies on.
/// </summary>
public sealed class TokenizerEdgeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void RandomTexts_MatchLlamaCpp()
    {
        int iterations = int.TryParse(Environment.GetEnvironmentVariable("GGUF_TOKENIZER_CAMPAIGN"), out int n) && n > 0 ? n : 150;
        var vocabularies = new (string Name, TinyVocabularies.Spec Spec)[]
        {
            ("gpt-4o", TinyVocabularies.Bpe("gpt-4o")),
            ("deepseek-llm", TinyVocabularies.Bpe("deepseek-llm")),
            ("qwen2", TinyVocabularies.Bpe("qwen2")),
            ("spm", TinyVocabularies.SentencePiece()),
            ("bert", TinyVocabularies.WordPiece()),
        };
        foreach ((string name, TinyVocabularies.Spec spec) in vocabularies)
        {
            string path = TinyVocabularies.Write(spec, _dir.File(name + ".gguf"));
            GgufTokenizer ours = TokenizerFiles.Ours(path);
            using LlamaVocab llama = LlamaVocab.Load(path);
            var comparison = new TokenizerComparison(name, ours, llama);
            string[] specials = [.. TokenizerFiles.SpecialTexts(ours)];
            bool spm = ours.Model == TokenizerModel.SentencePiece;
            Gen<byte[]> piece = Gen.Frequency<byte[]>(
                (8, Gen.Select(Gen.Int[0, TextSet.Pools.Count - 1], Gen.Int[0, 1000], (pool, i) =>
                {
                    string[] p = TextSet.Pools.Values.ElementAt(pool);
                    return Encoding.UTF8.GetBytes(p[i % p.Length]);
                })),
                (1, Gen.OneOf(specials.Length > 0 ? specials : new[] { "x" }).Select(s => Encoding.UTF8.GetBytes(s))),
                (1, Gen.OneOf(spm ? TextSet.InvalidUtf8.Concat(TextSet.BeyondUnicode).ToArray() : TextSet.InvalidUtf8)));
            piece.Array[0, 16].Select(parts => parts.SelectMany(p => p).ToArray()).Sample(bytes =>
            {
                long before = comparison.Differences;
                comparison.CompareText(new TokenizerText("random", bytes));
                Assert.True(comparison.Differences == before, string.Join(Environment.NewLine, comparison.Failures));
            }, iter: iterations, threads: 1);
            TestContext.Current.TestOutputHelper?.WriteLine(comparison.Summary());
        }
    }

    [Fact]
    public void HistoryVocabularies_LoadOrFailAsLlamaCppDoes()
    {
        string corpus = TokenizerFiles.CorpusDirectory() ?? throw SkipCorpus();
        string history = Path.Combine(corpus, "history");
        int compared = 0;
        foreach (string path in Directory.GetFiles(history, "ggml-vocab-*.gguf").Order(StringComparer.Ordinal))
        {
            GgufFile file;
            try
            {
                file = GgufFile.Open(path);
            }
            catch (GgufFormatException)
            {
                continue; // refused by the parser (GGUF v1, reversed magic): not a tokenizer question
            }

            using (file)
            {
                using LlamaVocab? llama = LlamaVocab.TryLoad(path, out string error);
                if (llama is null)
                {
                    Exception e = Assert.ThrowsAny<Exception>(() => GgufTokenizer.FromFile(file));
                    Assert.True(e is GgufFormatException or TokenizerNotSupportedException, $"{Path.GetFileName(path)}: llama.cpp refuses ({error}); we throw {e.GetType().Name}");
                }
                else
                {
                    var comparison = new TokenizerComparison(Path.GetFileName(path), GgufTokenizer.FromFile(file), llama);
                    comparison.CompareVocabulary();
                    foreach (TokenizerText text in TextSet.Generate(TokenizerFiles.SpecialTexts(GgufTokenizer.FromFile(file)), allowBeyondUnicode: false, includeLong: false))
                    {
                        comparison.CompareText(text);
                    }

                    Assert.True(comparison.Differences == 0, string.Join(Environment.NewLine, comparison.Failures));
                }

                compared++;
            }
        }

        Assert.True(compared > 0, "no history vocabulary could be opened");
    }

    /// <summary>
    /// Malformed metadata llama.cpp refuses (or aborts on, judged in a child process): we refuse it too,
    /// with a format or not-supported error.
    /// </summary>
    [Theory]
    [InlineData("duplicate token")]
    [InlineData("no tokens")]
    [InlineData("no merges")]
    [InlineData("add_bos without bos")]
    [InlineData("unknown model")]
    [InlineData("unknown pre-tokenizer")]
    [InlineData("scores too short")]
    [InlineData("token type count of wrong type")]
    [InlineData("bos id of wrong type")]
    public void MalformedMetadata_RefusedByBoth(string malformation)
    {
        string path = Malformed(malformation);
        using (var probe = new ProbeClient())
        {
            VerdictResult verdict = probe.Request(VocabVerdict.Mode, path);
            Assert.True(verdict.Verdict != Verdict.Accept, $"llama.cpp accepts '{malformation}'");
            TestContext.Current.TestOutputHelper?.WriteLine($"{malformation}: llama.cpp {verdict.Verdict} ({verdict.Detail})");
        }

        Exception e = Assert.ThrowsAny<Exception>(() => TokenizerFiles.Ours(path));
        Assert.True(e is GgufFormatException or TokenizerNotSupportedException, e.ToString());
    }

    /// <summary>Where we are stricter than llama.cpp (it loads these files, with warnings or silent fallbacks); docs/tokenizer.md lists them.</summary>
    [Theory]
    [InlineData("merge names unknown token")]
    [InlineData("bos id out of range")]
    [InlineData("scores too long")]
    [InlineData("token types of wrong type")]
    public void MalformedMetadata_StricterThanLlamaCpp(string malformation)
    {
        string path = Malformed(malformation);
        using (var probe = new ProbeClient())
        {
            VerdictResult verdict = probe.Request(VocabVerdict.Mode, path);
            Assert.True(verdict.Verdict == Verdict.Accept, $"llama.cpp now refuses '{malformation}' ({verdict.Detail}): move it to the refused-by-both list");
        }

        var e = Assert.Throws<GgufFormatException>(() => TokenizerFiles.Ours(path));
        Assert.True(e.Code is GgufErrorCode.InvalidTokenizer or GgufErrorCode.TypeMismatch, e.ToString());
    }

    [Fact]
    public unsafe void PrimeTable_IsLibstdcxxs()
    {
        nint library;
        try
        {
            library = NativeLibrary.Load("libstdc++.so.6");
        }
        catch (DllNotFoundException)
        {
            Assert.Skip("libstdc++.so.6 is not on this machine");
            return;
        }

        ulong* primes = (ulong*)NativeLibrary.GetExport(library, "_ZNSt8__detail12__prime_listE");
        Type type = typeof(GgufTokenizer).Assembly.GetType("Gguf.Tokenization.LibstdcxxOrder", throwOnError: true)!;
        var ours = (ulong[])type.GetMethod("PrimeList", BindingFlags.NonPublic | BindingFlags.Static)!.Invoke(null, null)!;
        for (int i = 0; i < ours.Length; i++)
        {
            Assert.True(primes[i] == ours[i], $"prime {i}: libstdc++ {primes[i]}, ours {ours[i]}");
        }
    }

    private string Malformed(string malformation)
    {
        TinyVocabularies.Spec spec = malformation switch
        {
            "duplicate token" => Edit(TinyVocabularies.Bpe("gpt-2", 20), s => s.Add("<|im_end|>", TinyVocabularies.Control)),
            "no tokens" => Edit(TinyVocabularies.SentencePiece(), s => { s.Tokens.Clear(); s.Types.Clear(); s.Scores.Clear(); }),
            "no merges" => Edit(TinyVocabularies.Bpe("gpt-2", 20), s => s.Omit.Add("tokenizer.ggml.merges")),
            "add_bos without bos" => Edit(new TinyVocabularies.Spec { Model = "llama", WriteScores = true }, s => s.Add("<unk>", TinyVocabularies.Unknown)),
            "unknown model" => new TinyVocabularies.Spec { Model = "no-such-model" },
            "unknown pre-tokenizer" => TinyVocabularies.Bpe("no-such-pre", 20),
            "scores too short" => Edit(TinyVocabularies.SentencePiece(), s => { s.WriteScores = false; s.Extra.Add(("tokenizer.ggml.scores", GgufValue.FromArray(new float[10]))); }),
            "scores too long" => Edit(TinyVocabularies.SentencePiece(), s => { s.WriteScores = false; s.Extra.Add(("tokenizer.ggml.scores", GgufValue.FromArray(new float[s.Tokens.Count + 5]))); }),
            "token types of wrong type" => Edit(TinyVocabularies.SentencePiece(), s => { s.Omit.Add("tokenizer.ggml.token_type"); s.Extra.Add(("tokenizer.ggml.token_type", GgufValue.FromArray(new float[s.Tokens.Count]))); }),
            "token type count of wrong type" => Edit(TinyVocabularies.SentencePiece(), s => s.Extra.Add(("tokenizer.ggml.token_type_count", GgufValue.String("x")))),
            "bos id of wrong type" => Edit(TinyVocabularies.SentencePiece(), s => s.Extra.Add(("tokenizer.ggml.bos_token_id", GgufValue.Int32(1)))),
            "merge names unknown token" => Edit(TinyVocabularies.Bpe("gpt-2", 20), s => s.Merges.Add("zz qq")),
            "bos id out of range" => Edit(TinyVocabularies.SentencePiece(), s => s.Extra.Add(("tokenizer.ggml.bos_token_id", GgufValue.UInt32(1_000_000)))),
            _ => throw new ArgumentOutOfRangeException(nameof(malformation)),
        };
        return TinyVocabularies.Write(spec, _dir.File(malformation.Replace(' ', '-') + ".gguf"));
    }

    private static TinyVocabularies.Spec Edit(TinyVocabularies.Spec spec, Action<TinyVocabularies.Spec> edit)
    {
        edit(spec);
        return spec;
    }

    private static Exception SkipCorpus()
    {
        Assert.Skip("../shared/corpus is not present next to the checkout; this test needs the optional shared corpus");
        return new InvalidOperationException();
    }
}
