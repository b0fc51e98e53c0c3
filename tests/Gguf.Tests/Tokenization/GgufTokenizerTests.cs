using System.Text;
using Gguf.Testing;
using Gguf.Tests.Support;
using Gguf.Tokenization;

namespace Gguf.Tests.Tokenization;

/// <summary>
/// The tokenizer's behaviour on small vocabularies whose results can be worked out by hand (the
/// differential tests against llama.cpp live in Gguf.Conformance.Tests/Tokenization).
/// </summary>
public sealed class GgufTokenizerTests : IDisposable
{
    private readonly TempDirectory _dir = new("gguf-tokenizer");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void SentencePiece_MergesPairwiseByScore_WithSpacePrefixAndBos()
    {
        GgufTokenizer t = TestVocabularies.SentencePiece().Build(_dir);
        Assert.Equal(TokenizerModel.SentencePiece, t.Model);
        Assert.True(t.AddBosToken);
        Assert.True(t.AddSpacePrefix);

        // " hello world" escaped: ▁h, he, ll, or (score -98) merge leftmost first; "▁he" is no token, so
        // "▁hello" cannot form pairwise.
        int[] expected = [t.Bos, .. TestVocabularies.Ids(t, "▁h", "e", "ll", "o", "▁", "w", "or", "l", "d")];
        Assert.Equal(expected, t.Encode("hello world"));
        Assert.Equal(expected[1..], t.Encode("hello world", addSpecial: false));
    }

    [Fact]
    public void SentencePiece_UnknownCharacters_FallBackToByteTokens()
    {
        GgufTokenizer t = TestVocabularies.SentencePiece().Build(_dir);
        int[] ids = t.Encode("é", addSpecial: false);
        Assert.Equal(TestVocabularies.Ids(t, "▁", "<0xC3>", "<0xA9>"), ids);
        // llama_detokenize drops the space prefix, unless it removed a BOS first.
        Assert.Equal("é", t.Decode(ids));
        Assert.Equal(" é", t.Decode([t.Bos, .. ids], removeSpecial: true));
    }

    [Fact]
    public void SentencePiece_SpecialTokens_ParsedOnlyWhenAsked_UserDefinedAlways()
    {
        GgufTokenizer t = TestVocabularies.SentencePiece().Build(_dir);
        int eos = t.Eos;
        int tool = TestVocabularies.Ids(t, "<tool>")[0];
        Assert.Contains(eos, t.Encode("a</s>b", addSpecial: false, parseSpecial: true));
        Assert.DoesNotContain(eos, t.Encode("a</s>b", addSpecial: false, parseSpecial: false));
        Assert.Contains(tool, t.Encode("a<tool>b", addSpecial: false, parseSpecial: false));
        Assert.Equal(TokenAttributes.UserDefined, t.GetAttributes(tool));
        Assert.Equal(TokenAttributes.Control, t.GetAttributes(eos));
        Assert.True(t.IsEndOfGeneration(eos));
    }

    [Fact]
    public void Bpe_MergesByRank_WithinPreTokenizedPieces()
    {
        GgufTokenizer t = TestVocabularies.Bpe("qwen2").Build(_dir);
        Assert.Equal(TokenizerModel.BytePairEncoding, t.Model);
        Assert.Equal("qwen2", t.PreTokenizerName);
        Assert.False(t.AddBosToken);

        // qwen2 splits "Hello" and " world"; only " world" has merges (Ġ w, o r, Ġw or, l d, Ġwor ld).
        Assert.Equal(TestVocabularies.Ids(t, "H", "e", "l", "l", "o", "Ġworld"), t.Encode("Hello world"));
        Assert.Equal(TestVocabularies.Ids(t, "ĠHello"), t.Encode(" Hello"));
        Assert.Equal(" Hello world", t.Decode(t.Encode(" Hello world")));
    }

    [Fact]
    public void Bpe_ControlTokens_SplitOnlyWhenParsingSpecial()
    {
        GgufTokenizer t = TestVocabularies.Bpe().Build(_dir);
        int end = TestVocabularies.Ids(t, "<|im_end|>")[0];
        Assert.Equal([.. TestVocabularies.Ids(t, "h", "i"), end], t.Encode("hi<|im_end|>"));
        Assert.DoesNotContain(end, t.Encode("hi<|im_end|>", parseSpecial: false));
        Assert.Equal("hi<|im_end|>", t.Decode(t.Encode("hi<|im_end|>"), unparseSpecial: true));
        Assert.Equal("hi", t.Decode(t.Encode("hi<|im_end|>"), unparseSpecial: false));
    }

    [Fact]
    public void WordPiece_LowercasesSplitsPunctuationAndWrapsInClsSep()
    {
        GgufTokenizer t = TestVocabularies.WordPiece().Build(_dir);
        Assert.Equal(TokenizerModel.WordPiece, t.Model);
        int[] expected = [t.Bos, .. TestVocabularies.Ids(t, "▁hello", "▁,", "▁world", "▁!", "▁un", "able", "▁中"), t.Separator];
        Assert.Equal(expected, t.Encode("HELLO, World! Unable中"));

        // A word with an unmatched position is the unknown token as a whole.
        Assert.Equal([t.Bos, t.Unknown, t.Separator], t.Encode("xyz"));
    }

    [Fact]
    public void Unigram_PicksTheBestScoringSegmentation_AndEndsWithEos()
    {
        GgufTokenizer t = TestVocabularies.Unigram().Build(_dir);
        Assert.Equal(TokenizerModel.Unigram, t.Model);
        Assert.False(t.AddBosToken);
        Assert.True(t.AddEosToken);

        // "▁ab" (-2) beats "▁a" + "b" (-7) and "▁" + "a" + "b" (-13); spaces are merged and escaped.
        Assert.Equal([.. TestVocabularies.Ids(t, "▁ab", "▁a"), t.Eos], t.Encode("  ab    a "));

        // Unknown characters cost the lowest score minus 10; neighbouring unknowns become one token.
        Assert.Equal([.. TestVocabularies.Ids(t, "▁"), t.Unknown, t.Eos], t.Encode("qq"));
        Assert.Equal(TestVocabularies.Ids(t, "▁a", "<extra_id_0>", "▁ab"), t.Encode("a<extra_id_0>ab", addSpecial: false));
    }

    [Fact]
    public void Unigram_Charsmap_RewritesBeforeSegmenting()
    {
        GgufTokenizer plain = TestVocabularies.Unigram().Build(_dir, "plain.gguf");
        GgufTokenizer mapped = TestVocabularies.Unigram(charsmap: true).Build(_dir, "mapped.gguf");
        Assert.Equal(mapped.Encode("ab"), mapped.Encode("Ab"));
        Assert.Equal(TestVocabularies.Ids(mapped, "▁yz"), mapped.Encode("x", addSpecial: false));
        Assert.NotEqual(plain.Encode("Ab"), plain.Encode("ab"));
    }

    [Fact]
    public void EncodeOverloads_Agree()
    {
        GgufTokenizer t = TestVocabularies.Bpe().Build(_dir);
        const string text = "Hello world, the thing 1212 ü\n\n  x";
        int[] expected = t.Encode(text);
        Assert.Equal(expected, t.Encode(text.AsSpan()));
        Assert.Equal(expected, t.Encode(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(expected.Length, t.CountTokens(text));

        Span<int> buffer = new int[expected.Length];
        Assert.True(t.TryEncode(Encoding.UTF8.GetBytes(text), buffer, out int written));
        Assert.Equal(expected.Length, written);
        Assert.Equal(expected, buffer.ToArray());

        Span<int> small = new int[expected.Length - 1];
        Assert.False(t.TryEncode(Encoding.UTF8.GetBytes(text), small, out int needed));
        Assert.Equal(expected.Length, needed);
    }

    [Fact]
    public void EmptyText_IsOnlyTheAddedSpecialTokens()
    {
        GgufTokenizer spm = TestVocabularies.SentencePiece().Build(_dir, "spm.gguf");
        Assert.Equal([spm.Bos], spm.Encode(""));
        Assert.Empty(spm.Encode("", addSpecial: false));
        GgufTokenizer bert = TestVocabularies.WordPiece().Build(_dir, "bert.gguf");
        Assert.Equal([bert.Bos, bert.Separator], bert.Encode(""));
    }

    [Fact]
    public void TokenQueries_AndInvalidIds()
    {
        GgufTokenizer t = TestVocabularies.SentencePiece().Build(_dir);
        Assert.Equal(280, t.VocabularySize);
        Assert.True(t.TryGetTokenId("▁world", out int world));
        Assert.Equal("▁world", t.GetTokenText(world));
        Assert.Equal(" world", t.TokenToPiece(world));
        Assert.Equal(-94f, t.GetScore(world));
        Assert.Equal("\n", t.TokenToPiece(t.NewLine));
        Assert.Equal("</s>", t.TokenToPiece(t.Eos, special: true));
        Assert.Equal("", t.TokenToPiece(t.Eos, special: false));
        Assert.False(t.TryGetTokenId("no such token", out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.GetTokenText(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.TokenToPiece(280));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([1, 280]));
    }

    [Fact]
    public void ConcurrentEncodes_GiveTheSequentialResults()
    {
        GgufTokenizer t = TestVocabularies.Bpe("gpt-4o").Build(_dir);
        string[] texts = Enumerable.Range(0, 64).Select(i => string.Concat(Enumerable.Repeat($"Hello world {i} the thing<|im_end|> ünïcode 中文 ", i % 7 + 1))).ToArray();
        int[][] sequential = texts.Select(s => t.Encode(s)).ToArray();
        var concurrent = new int[texts.Length][];
        Parallel.For(0, texts.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => concurrent[i % texts.Length] = t.Encode(texts[i % texts.Length]));
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(sequential[i], concurrent[i]);
        }
    }
}
