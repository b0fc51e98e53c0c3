using System.Buffers.Binary;
using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;
using Gguf.Tokenization;

namespace Gguf.Tests.Tokenization;

/// <summary>
/// Malformed tokenizer metadata is a <see cref="GgufFormatException"/> naming the key (and the offset of
/// the offending value or array element); a well-formed but unimplemented tokenizer is a
/// <see cref="TokenizerNotSupportedException"/> naming the key and value.
/// </summary>
public sealed class TokenizerMetadataTests : IDisposable
{
    private readonly TempDirectory _dir = new("gguf-tokenizer-meta");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void MissingModelKey_IsMissingKey()
    {
        var e = Fails(TestVocabularies.Bpe().Remove("tokenizer.ggml.model"));
        Assert.Equal(GgufErrorCode.MissingKey, e.Code);
        Assert.Equal("tokenizer.ggml.model", e.Key);
    }

    [Fact]
    public void MissingTokens_IsMissingKey()
    {
        var e = Fails(TestVocabularies.SentencePiece().Remove("tokenizer.ggml.tokens").Remove("tokenizer.ggml.scores").Remove("tokenizer.ggml.token_type"));
        Assert.Equal(GgufErrorCode.MissingKey, e.Code);
        Assert.Equal("tokenizer.ggml.tokens", e.Key);
    }

    [Fact]
    public void MissingMerges_IsMissingKey()
    {
        var e = Fails(TestVocabularies.Bpe().Remove("tokenizer.ggml.merges"));
        Assert.Equal(GgufErrorCode.MissingKey, e.Code);
        Assert.Equal("tokenizer.ggml.merges", e.Key);
    }

    [Fact]
    public void TokensOfWrongElementType_IsTypeMismatch()
    {
        var e = Fails(TestVocabularies.WordPiece().Set("tokenizer.ggml.tokens", GgufValue.FromArray(new int[13])));
        Assert.Equal(GgufErrorCode.TypeMismatch, e.Code);
        Assert.Equal("tokenizer.ggml.tokens", e.Key);
    }

    [Fact]
    public void TokensNotAnArray_IsTypeMismatch()
    {
        var e = Fails(TestVocabularies.WordPiece().Set("tokenizer.ggml.tokens", GgufValue.String("hello")));
        Assert.Equal(GgufErrorCode.TypeMismatch, e.Code);
        Assert.Equal("tokenizer.ggml.tokens", e.Key);
    }

    [Fact]
    public void ScoresOfWrongElementType_IsTypeMismatch()
    {
        var e = Fails(TestVocabularies.SentencePiece().Set("tokenizer.ggml.scores", GgufValue.FromStrings(Enumerable.Repeat("x", 280))));
        Assert.Equal(GgufErrorCode.TypeMismatch, e.Code);
        Assert.Equal("tokenizer.ggml.scores", e.Key);
    }

    [Fact]
    public void MergesOfWrongElementType_IsTypeMismatch()
    {
        var e = Fails(TestVocabularies.Bpe().Set("tokenizer.ggml.merges", GgufValue.FromArray(new float[3])));
        Assert.Equal(GgufErrorCode.TypeMismatch, e.Code);
        Assert.Equal("tokenizer.ggml.merges", e.Key);
    }

    [Theory]
    [InlineData("tokenizer.ggml.scores")]
    [InlineData("tokenizer.ggml.token_type")]
    public void ArraysOfDifferentLengths_AreInvalid(string key)
    {
        var v = TestVocabularies.SentencePiece();
        v.Set(key, key.EndsWith("scores", StringComparison.Ordinal) ? GgufValue.FromArray(new float[5]) : GgufValue.FromArray(new int[5]));
        var e = Fails(v, out string path);
        Assert.Equal(GgufErrorCode.InvalidTokenizer, e.Code);
        Assert.Equal(key, e.Key);
        using GgufFile file = GgufFile.Open(path);
        Assert.Equal(file.Metadata[key].ValueOffset, e.Offset);
    }

    [Fact]
    public void DuplicateToken_IsInvalidAtTheSecondOccurrence()
    {
        var v = TestVocabularies.WordPiece();
        string[] tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "▁hello", "▁world", "▁un", "able", "▁,", "▁!", "▁hello", "▁中"];
        v.Set("tokenizer.ggml.tokens", GgufValue.FromStrings(tokens));
        var e = Fails(v, out string path);
        Assert.Equal(GgufErrorCode.InvalidTokenizer, e.Code);
        Assert.Equal("tokenizer.ggml.tokens", e.Key);
        Assert.Contains("token 11 duplicates token 5", e.Message, StringComparison.Ordinal);
        Assert.Equal("▁hello", ElementAt(path, e.Offset));
    }

    [Fact]
    public void MergeNamingAnUnknownToken_IsInvalidAtThatMerge()
    {
        var e = Fails(TestVocabularies.Bpe().Set("tokenizer.ggml.merges", GgufValue.FromStrings(["Ġ t", "i n", "zz q"])), out string path);
        Assert.Equal(GgufErrorCode.InvalidTokenizer, e.Code);
        Assert.Equal("tokenizer.ggml.merges", e.Key);
        Assert.Contains("'zz'", e.Message, StringComparison.Ordinal);
        Assert.Equal("zz q", ElementAt(path, e.Offset));
    }

    [Fact]
    public void MergeWhoseResultIsNotAToken_IsInvalid()
    {
        var e = Fails(TestVocabularies.Bpe().Set("tokenizer.ggml.merges", GgufValue.FromStrings(["x y"])), out string path);
        Assert.Equal(GgufErrorCode.InvalidTokenizer, e.Code);
        Assert.Contains("'xy'", e.Message, StringComparison.Ordinal);
        Assert.Equal("x y", ElementAt(path, e.Offset));
    }

    [Fact]
    public void MergeWithoutSpace_IsInvalid()
    {
        var e = Fails(TestVocabularies.Bpe().Set("tokenizer.ggml.merges", GgufValue.FromStrings(["in"])));
        Assert.Equal(GgufErrorCode.InvalidTokenizer, e.Code);
        Assert.Equal("tokenizer.ggml.merges", e.Key);
    }

    [Theory]
    [InlineData("tokenizer.ggml.bos_token_id")]
    [InlineData("tokenizer.ggml.eos_token_id")]
    [InlineData("tokenizer.ggml.padding_token_id")]
    [InlineData("tokenizer.ggml.eot_token_id")]
    public void SpecialTokenIdOutOfRange_IsInvalidAtItsValue(string key)
    {
        var e = Fails(TestVocabularies.SentencePiece().Set(key, GgufValue.UInt32(100_000)), out string path);
        Assert.Equal(GgufErrorCode.InvalidTokenizer, e.Code);
        Assert.Equal(key, e.Key);
        using GgufFile file = GgufFile.Open(path);
        Assert.Equal(file.Metadata[key].ValueOffset, e.Offset);
    }

    [Fact]
    public void SpecialTokenIdOfWrongType_IsTypeMismatch()
    {
        var e = Fails(TestVocabularies.SentencePiece().Set("tokenizer.ggml.bos_token_id", GgufValue.Int32(1)));
        Assert.Equal(GgufErrorCode.TypeMismatch, e.Code);
        Assert.Equal("tokenizer.ggml.bos_token_id", e.Key);
    }

    [Fact]
    public void AddBosWithoutBosToken_IsInvalid()
    {
        // SentencePiece's default BOS (id 1) lies beyond a one-token vocabulary, so it is disabled.
        var v = new TestVocabularies.Vocabulary();
        v.Set("general.architecture", GgufValue.String("llama"));
        v.Set("tokenizer.ggml.model", GgufValue.String("llama"));
        v.Set("tokenizer.ggml.tokens", GgufValue.FromStrings(["<unk>"]));
        var e = Fails(v);
        Assert.Equal(GgufErrorCode.InvalidTokenizer, e.Code);
        Assert.Equal("tokenizer.ggml.add_bos_token", e.Key);
    }

    [Fact]
    public void ByteTokenTooShortToDecode_IsInvalid()
    {
        var v = TestVocabularies.WordPiece();
        int[] types = [3, 2, 3, 3, 3, 1, 1, 1, 6, 1, 1, 1, 1];
        v.Set("tokenizer.ggml.token_type", GgufValue.FromArray(types));
        var e = Fails(v);
        Assert.Equal(GgufErrorCode.InvalidTokenizer, e.Code);
    }

    [Fact]
    public void PhiNamedVocabularyWithoutItsTokens_IsInvalid()
    {
        var e = Fails(TestVocabularies.WordPiece().Set("general.name", GgufValue.String("Phi-3 mini")));
        Assert.Equal(GgufErrorCode.InvalidTokenizer, e.Code);
        Assert.Contains("</s>", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rwkv")]
    [InlineData("plamo2")]
    [InlineData("no_vocab")]
    [InlineData("something-else")]
    public void UnsupportedModel_IsNamed(string model)
    {
        var v = TestVocabularies.SentencePiece().Set("tokenizer.ggml.model", GgufValue.String(model));
        using GgufFile file = GgufFile.Open(v.Write(_dir, "unsupported.gguf"));
        var e = Assert.Throws<TokenizerNotSupportedException>(() => GgufTokenizer.FromFile(file));
        Assert.Equal("tokenizer.ggml.model", e.Key);
        Assert.Equal(model, e.Value);
        Assert.Contains(model, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CharsmapTooSmall_IsInvalid()
    {
        var e = Fails(TestVocabularies.Unigram().Set("tokenizer.ggml.precompiled_charsmap", GgufValue.FromArray(new byte[] { 200, 0, 0, 0, 1, 2 })));
        Assert.Equal(GgufErrorCode.InvalidTokenizer, e.Code);
        Assert.Equal("tokenizer.ggml.precompiled_charsmap", e.Key);
    }

    [Fact]
    public void CharsmapOfWrongType_IsTypeMismatch()
    {
        var e = Fails(TestVocabularies.Unigram().Set("tokenizer.ggml.precompiled_charsmap", GgufValue.FromArray(new int[8])));
        Assert.Equal(GgufErrorCode.TypeMismatch, e.Code);
        Assert.Equal("tokenizer.ggml.precompiled_charsmap", e.Key);
    }

    [Fact]
    public void UnsupportedPreTokenizer_IsNamed()
    {
        using GgufFile file = GgufFile.Open(TestVocabularies.Bpe("kimi-k2").Write(_dir, "kimi.gguf"));
        var e = Assert.Throws<TokenizerNotSupportedException>(() => GgufTokenizer.FromFile(file));
        Assert.Equal("tokenizer.ggml.pre", e.Key);
        Assert.Equal("kimi-k2", e.Value);
    }

    [Fact]
    public void EmptyToken_IsRenamedNotRejected()
    {
        var v = TestVocabularies.WordPiece();
        v.Set("tokenizer.ggml.tokens", GgufValue.FromStrings(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "▁hello", "▁world", "▁un", "able", "▁,", "▁!", "", "▁中"]));
        GgufTokenizer t = v.Build(_dir);
        Assert.Equal("[EMPTY_11]", t.GetTokenText(11));
    }

    private GgufFormatException Fails(TestVocabularies.Vocabulary v) => Fails(v, out _);

    private GgufFormatException Fails(TestVocabularies.Vocabulary v, out string path)
    {
        path = v.Write(_dir, $"bad-{Guid.NewGuid():N}.gguf");
        using GgufFile file = GgufFile.Open(path);
        return Assert.Throws<GgufFormatException>(() => GgufTokenizer.FromFile(file));
    }

    /// <summary>The string element whose length prefix starts at <paramref name="offset"/>.</summary>
    private static string ElementAt(string path, long offset)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan((int)offset));
        return System.Text.Encoding.UTF8.GetString(bytes, (int)offset + 8, length);
    }
}
