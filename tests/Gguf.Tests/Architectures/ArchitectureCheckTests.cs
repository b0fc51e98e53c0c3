using Gguf.Architectures;
using Gguf.Format;
using Gguf.Model;
using Gguf.Tests.Support;
using Gguf.Writing;

namespace Gguf.Tests.Architectures;

public sealed class ArchitectureCheckTests : IDisposable
{
    private readonly TempDirectory _dir = new("gguf-arch-check");

    [Fact]
    public void Run_ValidLlama_NoProblems_AndTiedOutputAllowed()
    {
        using GgufFile withOutput = GgufFile.Open(ArchTestModel.Llama().Write(_dir.File("a.gguf")));
        using GgufFile tied = GgufFile.Open(ArchTestModel.Llama().Without("output.weight").Write(_dir.File("b.gguf")));

        Assert.Empty(ArchitectureCheck.Run(withOutput).Problems);
        Assert.Empty(ArchitectureCheck.Run(tied).Problems);
        Assert.True(ModelTensors.Bind(tied).OutputIsTied);
    }

    [Fact]
    public void Run_ReportsEveryMissingUnexpectedAndMisshapedTensorAtOnce()
    {
        var m = ArchTestModel.Llama()
            .Without("blk.1.attn_k.weight")
            .With("blk.0.ffn_up.weight", ArchTestModel.E, ArchTestModel.Ff + 1)
            .With("blk.0.attn_extra.weight", 8)
            .With("blk.2.attn_norm.weight", ArchTestModel.E);
        using GgufFile file = GgufFile.Open(m.Write(_dir.File("a.gguf")));

        ArchitectureReport report = ArchitectureCheck.Run(file);

        Assert.False(report.IsValid);
        Assert.Collection(
            report.Problems,
            p => Assert.Equal((ArchitectureProblemKind.WrongShape, "blk.0.ffn_up.weight"), (p.Kind, p.Subject)),
            p => Assert.Equal((ArchitectureProblemKind.MissingTensor, "blk.1.attn_k.weight"), (p.Kind, p.Subject)),
            p => Assert.Equal((ArchitectureProblemKind.UnexpectedTensor, "blk.0.attn_extra.weight"), (p.Kind, p.Subject)),
            p => Assert.Equal((ArchitectureProblemKind.UnexpectedTensor, "blk.2.attn_norm.weight"), (p.Kind, p.Subject)));
        ArchitectureProblem shape = report.Problems[0];
        Assert.Equal([ArchTestModel.E, ArchTestModel.Ff], shape.Expected);
        Assert.Equal([ArchTestModel.E, ArchTestModel.Ff + 1L], shape.Found);
        Assert.Contains("[128, 129]; expected [128, 128]", shape.Message, StringComparison.Ordinal);
        Assert.Contains("block_count", report.Problems[3].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_Gemma2_OutputMatrixIsUnexpected_BecauseGemma2AlwaysTies()
    {
        var m = ArchTestModel.Gemma2().With("output.weight", ArchTestModel.E, ArchTestModel.Vocab);
        using GgufFile file = GgufFile.Open(m.Write(_dir.File("g.gguf")));

        ArchitectureProblem p = Assert.Single(ArchitectureCheck.Run(file).Problems);

        Assert.Equal(ArchitectureProblemKind.UnexpectedTensor, p.Kind);
        Assert.Contains("gemma2 always ties", p.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_TrailingOnesInAShape_MatchLikeLlamaCpp()
    {
        using GgufFile file = GgufFile.Open(ArchTestModel.Llama().With("blk.0.attn_norm.weight", ArchTestModel.E, 1).Write(_dir.File("a.gguf")));

        Assert.Empty(ArchitectureCheck.Run(file).Problems);
    }

    [Fact]
    public void Run_HeadCountNotDividingWidth_NamesTheKeyInTheShapeProblems()
    {
        var m = ArchTestModel.Llama();
        m.Keys["llama.attention.head_count"] = GgufValue.UInt32(3);
        m.Keys.Remove("llama.rope.dimension_count");
        using GgufFile file = GgufFile.Open(m.Write(_dir.File("a.gguf")));

        ArchitectureReport report = ArchitectureCheck.Run(file);

        Assert.Contains(report.Problems, p => p.Subject == "blk.0.attn_q.weight" && p.Message.Contains("llama.attention.head_count 3 does not divide", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_VectorOfAQuantizedType_IsAWarningNotAnError()
    {
        var m = ArchTestModel.Llama();
        string path = m.Write(_dir.File("a.gguf"));
        var w = new GgufWriter();
        using (GgufFile src = GgufFile.Open(path))
        {
            foreach (GgufMetadataEntry e in src.Metadata)
            {
                w.AddMetadata(e.Key, e.ToValue());
            }

            foreach (GgufTensorInfo t in src.Tensors)
            {
                bool f16 = t.Name == "output_norm.weight";
                w.AddTensor(t.Name, f16 ? GgmlType.F16 : GgmlType.F32, t.DimensionsSpan, new byte[f16 ? t.ByteSize / 2 : t.ByteSize]);
            }
        }

        using GgufFile file = GgufFile.Open(_dir.Write("b.gguf", w));
        ArchitectureReport report = ArchitectureCheck.Run(file);

        ArchitectureProblem p = Assert.Single(report.Problems);
        Assert.Equal(ArchitectureProblemKind.UnusualType, p.Kind);
        Assert.True(report.IsValid);
    }

    [Fact]
    public void Manifest_Qwen2Moe_HasRoutedAndSharedExperts()
    {
        var w = new GgufWriter();
        w.AddMetadata("general.architecture", GgufValue.String("qwen2moe"));
        foreach ((string k, uint v) in new[] { ("context_length", 64u), ("embedding_length", 64u), ("block_count", 1u), ("feed_forward_length", 96u), ("attention.head_count", 4u), ("expert_count", 8u), ("expert_used_count", 2u), ("expert_feed_forward_length", 32u) })
        {
            w.AddMetadata("qwen2moe." + k, GgufValue.UInt32(v));
        }

        w.AddMetadata("qwen2moe.attention.layer_norm_rms_epsilon", GgufValue.Float32(1e-6f));
        w.AddMetadata("tokenizer.ggml.tokens", GgufValue.FromStrings(["a", "b", "c"]));
        using GgufFile file = GgufFile.Open(_dir.Write("q.gguf", w));

        TensorManifest manifest = TensorManifest.For(file)!;

        Assert.Equal([64L, 32, 8], manifest.Find("blk.0.ffn_up_exps.weight")!.Shape);
        Assert.Equal([96L, 64], manifest.Find("blk.0.ffn_down_shexp.weight")!.Shape); // shared width defaults to feed_forward_length
        Assert.Equal([64L], manifest.Find("blk.0.ffn_gate_inp_shexp.weight")!.Shape);
        Assert.False(manifest.Find("blk.0.attn_q.bias")!.Required);
        Assert.True(manifest.Find("output.weight")!.Required);
    }

    public void Dispose() => _dir.Dispose();
}
