using Gguf.Architectures;
using Gguf.Format;
using Gguf.Loading;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;

namespace Gguf.Tests.Architectures;

public sealed class ModelPlanTests : IDisposable
{
    private readonly TempDirectory _dir = new("gguf-arch-plan");

    [Fact]
    public void KvCache_F16AndQ8_0_AsLlamaCppSizesThem()
    {
        using GgufFile file = GgufFile.Open(ArchTestModel.Llama().Write(_dir.File("a.gguf")));

        // 1000 cells are padded to 1024; each layer holds K and V of 2 heads x 32 per cell.
        ModelPlan f16 = ModelPlan.Create(file, new PlanOptions { ContextLength = 1000 });
        ModelPlan q8 = ModelPlan.Create(file, new PlanOptions { ContextLength = 1000, CacheTypeK = GgmlType.Q8_0, CacheTypeV = GgmlType.Q8_0 });

        Assert.Equal(1024, f16.ContextLength);
        Assert.Equal(2 * 2 * (64 * 2 * 1024), f16.KvBytes);
        Assert.Equal(2 * 2 * (2 * 34 * 1024), q8.KvBytes); // a q8_0 block: 32 values in 34 bytes
        Assert.Equal(q8.KvKBytes, q8.KvVBytes);
    }

    [Fact]
    public void KvCache_SequencesWithoutUnifiedCache_OneStreamEachPaddedTo256()
    {
        using GgufFile file = GgufFile.Open(ArchTestModel.Llama().Write(_dir.File("a.gguf")));

        ModelPlan plan = ModelPlan.Create(file, new PlanOptions { ContextLength = 300, Sequences = 3 });

        Assert.Equal(3, plan.Streams);
        Assert.Equal(256, plan.Cells); // 512 / 3 = 170, padded to 256
        Assert.Equal(768, plan.ContextLength);
    }

    [Fact]
    public void KvCache_Gemma2_SlidingLayersHoldTheWindowPlusAMicroBatch()
    {
        using GgufFile file = GgufFile.Open(ArchTestModel.Gemma2(4).Write(_dir.File("g.gguf")));

        ModelPlan plan = ModelPlan.Create(file, new PlanOptions { ContextLength = 4096, MicroBatchSize = 64 });
        ModelPlan full = ModelPlan.Create(file, new PlanOptions { ContextLength = 4096, MicroBatchSize = 64, FullSizeSwaCache = true });

        Assert.Equal(256, plan.SlidingWindowCells); // 32 + 64, padded to 256
        Assert.Equal([256L, 4096, 256, 4096], plan.KvLayers.Select(l => l.Cells));
        Assert.All(full.KvLayers, l => Assert.Equal(4096, l.Cells));
    }

    [Fact]
    public void Options_QuantizedVWithoutFlashAttention_Refused()
    {
        using GgufFile file = GgufFile.Open(ArchTestModel.Llama().Write(_dir.File("a.gguf")));

        var e = Assert.Throws<ArgumentException>(() => ModelPlan.Create(file, new PlanOptions { CacheTypeV = GgmlType.Q4_0, FlashAttention = false }));

        Assert.Contains("flash attention", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(32, new double[] { 1, 3 }, 9)] // split points 0.25, 1: layer il goes first while il / 33 < 0.25
    [InlineData(32, new double[] { 1, 1 }, 17)]
    [InlineData(4, new double[] { 0, 1 }, 0)]
    public void SplitLayers_LikeLlamaCppsTensorSplit(int layers, double[] split, int onFirst)
    {
        int[] devices = ModelPlan.SplitLayers(layers, split.Length, split);

        Assert.Equal(onFirst, devices.Count(d => d == 0));
        Assert.True(devices.SequenceEqual(devices.Order()), "layers are assigned in order");
    }

    [Fact]
    public void Split_WeightBytesPerDevice_AreTheLoadersAllocation_AndOneLoadPerDeviceReadsEachTensorOnce()
    {
        using GgufFile file = GgufFile.Open(ArchTestModel.Llama(4).Write(_dir.File("a.gguf")));
        var options = new PlanOptions { Devices = [PlanDevice.Host, new PlanDevice("host-2", true)], Split = [1, 1], ContextLength = 256 };
        ModelPlan plan = ModelPlan.Create(file, options);

        // Split points 0.5 and 1 over 4 + 1 layers: layer il goes first while il / 5 < 0.5; the output (il = 4) goes second.
        Assert.Equal([0, 1, 2], plan.Devices[0].Layers);
        Assert.Equal([3], plan.Devices[1].Layers);
        Assert.Equal(0, plan.InputDevice);
        Assert.Equal(1, plan.OutputDevice);
        Assert.Contains(plan.Devices[0].Tensors, t => t.Name == "token_embd.weight");
        Assert.Contains(plan.Devices[1].Tensors, t => t.Name == "output.weight");
        Assert.Equal(plan.KvLayers.Where(l => l.Device == 1).Sum(l => l.AllocatedBytes), plan.Devices[1].KvBytes);

        using var first = new HostArenaDestination();
        using var second = new HostArenaDestination();
        var loader = new SplitModelLoader([first, second]);
        using SplitLoadedModel loaded = loader.Load(file, plan, cancellationToken: TestContext.Current.CancellationToken);

        for (int d = 0; d < 2; d++)
        {
            Assert.Equal(plan.Devices[d].WeightBytes, loaded.Parts[d].Statistics.AllocatedBytes);
            _ = ModelLoader.Plan(plan.Devices[d].Tensors, LoadOptions.Default.TensorAlignment, out long bytes);
            Assert.Equal(bytes, plan.Devices[d].WeightBytes);
        }

        Assert.Equal(file.Tensors.Count, loaded.Parts.Sum(p => p.Tensors.Count));
        LoadedTensor q3 = loaded.Tensors.Layers[3].AttentionQuery!;
        Assert.Equal("blk.3.attn_q.weight", q3.Name);
        Assert.Same(loaded.Parts[1], loaded.PartOf(q3.Name));
        var onDevice = new byte[q3.ByteSize];
        var inFile = new byte[q3.ByteSize];
        loaded.Parts[1].CopyToHost(q3, 0, onDevice);
        file.CopyTensorData(q3.Info, 0, inFile);
        Assert.Equal(inFile, onDevice);
    }

    [Fact]
    public void ModelTensors_ResolveRolesWithoutNames()
    {
        using GgufFile file = GgufFile.Open(ArchTestModel.Llama(2).Write(_dir.File("a.gguf")));

        ModelTensors<GgufTensorInfo> tensors = ModelTensors.Bind(file);

        Assert.Equal(2, tensors.Layers.Count);
        Assert.Equal("blk.1.ffn_down.weight", tensors.Layers[1].FeedForwardDown!.Name);
        Assert.Equal("output.weight", tensors.Output!.Name);
        Assert.Null(tensors.Layers[0].ExpertRouter);
        var e = Assert.Throws<KeyNotFoundException>(() => tensors.Layers[0].Get(TensorRole.AttentionSinks));
        Assert.Contains("blk.0.attn_sinks.weight", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Dispose();
}
