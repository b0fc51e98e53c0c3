using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;

namespace Gguf.Tests.Model;

/// <summary>Real files written by llama.cpp's converter (../shared/corpus; skipped when absent).</summary>
public sealed class CorpusTests
{
    // From corpus/README.md: file, KV count, architecture, vocab size, merges (0 when none).
    public static TheoryData<string, int, string, int, int> Vocabularies => new()
    {
        { "ggml-vocab-baichuan.gguf", 18, "baichuan", 64000, 0 },
        { "ggml-vocab-bert-bge.gguf", 20, "bert", 30522, 0 },
        { "ggml-vocab-deepseek-coder.gguf", 25, "llama", 32256, 31757 },
        { "ggml-vocab-deepseek-llm.gguf", 23, "llama", 102400, 99757 },
        { "ggml-vocab-falcon.gguf", 18, "falcon", 65024, 64784 },
        { "ggml-vocab-gpt-2.gguf", 16, "gpt2", 50257, 50000 },
        { "ggml-vocab-gpt-neox.gguf", 17, "gptneox", 50432, 50009 },
        { "ggml-vocab-llama-spm.gguf", 22, "llama", 32000, 0 },
        { "ggml-vocab-mpt.gguf", 17, "mpt", 50432, 50009 },
        { "ggml-vocab-phi-3.gguf", 26, "phi3", 32064, 0 },
        { "ggml-vocab-refact.gguf", 18, "refact", 49216, 48891 },
        { "ggml-vocab-starcoder.gguf", 19, "starcoder2", 49152, 48872 },
    };

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void Open_VocabFile_MatchesCorpusReadme(string name, int keys, string architecture, int vocab, int merges)
    {
        string path = Path.Combine(Corpus.Require(), name);
        using GgufFile file = GgufFile.Open(path);

        Assert.Equal(3u, file.Version);
        Assert.Equal(keys, file.Metadata.Count);
        Assert.Equal(architecture, file.Architecture);
        Assert.Empty(file.Tensors);
        Assert.Equal(file.FileSize, file.DataOffset);
        GgufArray tokens = file.Metadata[GgufKeys.TokenizerTokens].GetArray();
        Assert.Equal(vocab, tokens.Count);
        Assert.Equal(merges, file.Metadata.TryGetArray(GgufKeys.TokenizerMerges, out GgufArray? m) ? m.Count : 0);
        Assert.False(string.IsNullOrEmpty(tokens.GetString(vocab - 1)));
    }

    [Theory]
    [InlineData("example.prerelease-fugg.42a152e.gguf", GgufErrorCode.BadMagic, 0)]
    [InlineData("ggml-vocab-llama.v1-fugg.8548445.gguf", GgufErrorCode.BadMagic, 0)]
    [InlineData("ggml-vocab-llama.v1.c50db67.gguf", GgufErrorCode.UnsupportedVersion, 4)]
    [InlineData("ggml-vocab-llama.v1-tokentypes.63bfaf6.gguf", GgufErrorCode.UnsupportedVersion, 4)]
    [InlineData("test_writer.30fef3d.gguf", GgufErrorCode.InvalidValueType, 204)]
    public void Open_HistoryFile_RejectedAsDocumented(string name, GgufErrorCode code, long offset)
    {
        string path = Path.Combine(Corpus.Require(), "history", name);
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path));
        Assert.Equal(code, e.Code);
        Assert.Equal(offset, e.Offset);
    }

    [Fact]
    public void Open_Version2File_Accepted()
    {
        string path = Path.Combine(Corpus.Require(), "history", "ggml-vocab-falcon.v2.5dd6f5a.gguf");
        using GgufFile file = GgufFile.Open(path);
        Assert.Equal(2u, file.Version);
        Assert.Equal(17, file.Metadata.Count);
        Assert.Equal(65024, file.Metadata[GgufKeys.TokenizerTokens].Count);
    }
}
