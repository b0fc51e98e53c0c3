using Gguf.Architectures;
using Gguf.Format;
using Gguf.Model;
using Gguf.Tests.Support;
using Gguf.Writing;

namespace Gguf.Tests.Architectures;

public sealed class HyperparameterTests : IDisposable
{
    private readonly TempDirectory _dir = new("gguf-arch-hp");

    [Fact]
    public void Read_Llama_TypedValuesAndDefaults()
    {
        var m = ArchTestModel.Llama();
        m.Keys["llama.rope.freq_base"] = GgufValue.Float32(500000f);
        m.Keys["llama.rope.scaling.factor"] = GgufValue.Float32(4f);
        using GgufFile file = GgufFile.Open(m.Write(_dir.File("a.gguf")));

        ModelHyperparameters h = ModelHyperparameters.Read(file);

        Assert.Equal(ArchitectureKind.Llama, h.Kind);
        Assert.Equal(2, h.BlockCount);
        Assert.Equal(1024, h.ContextLength);
        Assert.Equal(ArchTestModel.E, h.EmbeddingLength);
        Assert.Equal([ArchTestModel.Ff, ArchTestModel.Ff], h.FeedForwardLengths);
        Assert.Equal([4L, 4L], h.HeadCounts);
        Assert.Equal([2L, 2L], h.HeadCountsKv);
        Assert.Equal(ArchTestModel.HeadDim, h.KeyLength); // width / heads when key_length is absent
        Assert.Equal(ArchTestModel.HeadDim * ArchTestModel.KvHeads, h.KeyWidth(1));
        Assert.Equal(500000f, h.RopeFreqBase);
        Assert.Equal(0.25f, h.RopeFreqScale);
        Assert.Equal(RopeScalingType.Linear, h.RopeScaling);
        Assert.Equal(ArchTestModel.Vocab, h.VocabularySize); // from the tokens array: no llama.vocab_size key
        Assert.False(h.HasSlidingWindow);
    }

    [Fact]
    public void Read_PerLayerArrays_OneValuePerLayer()
    {
        var m = ArchTestModel.Llama(3);
        m.Keys["llama.attention.head_count_kv"] = GgufValue.FromArray(new[] { 2, 1, 4 });
        m.Keys["llama.feed_forward_length"] = GgufValue.FromArray(new uint[] { 128, 256, 128 });
        using GgufFile file = GgufFile.Open(m.Write(_dir.File("a.gguf")));

        ModelHyperparameters h = ModelHyperparameters.Read(file, out var problems);

        Assert.Empty(problems);
        Assert.Equal([2L, 1L, 4L], h.HeadCountsKv);
        Assert.Equal(ArchTestModel.HeadDim, h.KeyWidth(1));
        Assert.Equal([128L, 256L, 128L], h.FeedForwardLengths);
    }

    [Fact]
    public void Read_ArrayOfWrongLength_NamesKeyAndOffset()
    {
        var m = ArchTestModel.Llama(2);
        m.Keys["llama.attention.head_count_kv"] = GgufValue.FromArray(new uint[] { 2, 2, 2 });
        using GgufFile file = GgufFile.Open(m.Write(_dir.File("a.gguf")));

        var e = Assert.Throws<GgufFormatException>(() => ModelHyperparameters.Read(file));

        Assert.Equal(GgufErrorCode.InvalidHyperparameter, e.Code);
        Assert.Equal("llama.attention.head_count_kv", e.Key);
        Assert.Equal(file.Metadata["llama.attention.head_count_kv"].Offset, e.Offset);
    }

    [Theory]
    [InlineData("llama.context_length")]
    [InlineData("llama.block_count")]
    public void Read_IntegerKeyOfAnotherWidth_IsTypeMismatch_AsInLlamaCpp(string key)
    {
        var m = ArchTestModel.Llama();
        m.Keys[key] = GgufValue.UInt64(2);
        using GgufFile file = GgufFile.Open(m.Write(_dir.File("a.gguf")));

        var e = Assert.Throws<GgufFormatException>(() => ModelHyperparameters.Read(file));

        Assert.Equal(GgufErrorCode.TypeMismatch, e.Code);
        Assert.Equal(key, e.Key);
        Assert.Equal(file.Metadata[key].Offset, e.Offset);
        Assert.Contains("UINT32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingRequiredKey_NamesIt_AtTheArchitectureEntry()
    {
        var m = ArchTestModel.Llama();
        m.Keys.Remove("llama.attention.layer_norm_rms_epsilon");
        using GgufFile file = GgufFile.Open(m.Write(_dir.File("a.gguf")));

        var e = Assert.Throws<GgufFormatException>(() => ModelHyperparameters.Read(file));

        Assert.Equal(GgufErrorCode.MissingKey, e.Code);
        Assert.Equal("llama.attention.layer_norm_rms_epsilon", e.Key);
        Assert.Equal(file.Metadata["general.architecture"].Offset, e.Offset);
    }

    [Fact]
    public void Read_Gemma2_SlidingWindowOnEveryOtherLayer_AndSoftcapDefaults()
    {
        using GgufFile file = GgufFile.Open(ArchTestModel.Gemma2(4).Write(_dir.File("g.gguf")));

        ModelHyperparameters h = ModelHyperparameters.Read(file);

        Assert.Equal(32, h.SlidingWindow);
        Assert.Equal([true, false, true, false], h.SlidingWindowLayers);
        Assert.Equal(50f, h.AttentionLogitSoftcapping);
        Assert.Equal(30f, h.FinalLogitSoftcapping);
    }

    [Fact]
    public void Read_UnknownArchitecture_GenericViewWithoutProblems()
    {
        var w = new GgufWriter();
        w.AddMetadata("general.architecture", GgufValue.String("mamba-next"));
        w.AddMetadata("mamba-next.block_count", GgufValue.UInt64(3));
        w.AddMetadata("mamba-next.embedding_length", GgufValue.Int32(96));
        w.AddMetadata("mamba-next.context_length", GgufValue.String("not a number"));
        using GgufFile file = GgufFile.Open(_dir.Write("u.gguf", w));

        ModelHyperparameters h = ModelHyperparameters.Read(file, out var problems);
        ArchitectureReport report = ArchitectureCheck.Run(file);

        Assert.Empty(problems);
        Assert.Equal(ArchitectureKind.Unknown, h.Kind);
        Assert.Equal(3, h.BlockCount);
        Assert.Equal(96, h.EmbeddingLength);
        Assert.Equal(0, h.ContextLength);
        Assert.True(report.IsValid);
        Assert.Null(report.Manifest);
    }

    public void Dispose() => _dir.Dispose();
}
