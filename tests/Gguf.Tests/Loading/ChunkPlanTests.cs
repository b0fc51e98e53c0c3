using Gguf.Loading;
using Gguf.Model;
using Gguf.Testing;
using Xunit;

namespace Gguf.Tests.Loading;

public sealed class ChunkPlanTests
{
    [Theory]
    [InlineData(4096)]
    [InlineData(4099)]
    [InlineData(65537)]
    [InlineData(1 << 20)]
    public void Chunks_CoverEveryTensorInFileOrder_BoundariesOnChunkMultiplesOfTheFile(int chunkSize)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);

        var plan = new ChunkPlan(gguf.Tensors, 256, chunkSize);

        long number = 0;
        long previousEnd = 0;
        for (int index = 0; index < plan.Order.Length; index++)
        {
            LoadedTensor tensor = plan.Order[index];
            Assert.Equal(number, plan.FirstChunkOf(index));
            long covered = 0;
            for (long c = 0; c < plan.ChunkCountOf(index); c++, number++)
            {
                LoadChunk chunk = plan.Locate(number);
                Assert.Same(tensor, chunk.Tensor);
                Assert.Equal(covered, chunk.OffsetInTensor);
                Assert.InRange(chunk.Length, 1, chunkSize);
                if (c > 0)
                {
                    Assert.Equal(0, chunk.FileOffset % chunkSize);
                }

                covered += chunk.Length;
            }

            Assert.Equal(tensor.ByteSize, covered);
            Assert.True(tensor.SourceOffset >= previousEnd, "file order");
            previousEnd = tensor.SourceOffset + tensor.ByteSize;
        }

        Assert.Equal(plan.TotalChunks, number);
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(65537)]
    [InlineData(1 << 20)]
    public void FirstChunkAtOrAfter_AgreesWithAScanOverEveryChunk(int chunkSize)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 6 << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);
        var plan = new ChunkPlan(gguf.Tensors, 256, chunkSize);
        Assert.True(plan.DeviceFollowsFile);
        long[] starts = [.. Enumerable.Range(0, (int)plan.TotalChunks).Select(c => plan.Locate(c).DeviceOffset)];

        var probes = new List<long> { 0, 1, plan.AllocationBytes - 1, plan.AllocationBytes, plan.AllocationBytes + 12345 };
        probes.AddRange(starts);
        probes.AddRange(starts.Select(s => s + 1));
        var random = new Random(chunkSize);
        probes.AddRange(Enumerable.Range(0, 200).Select(_ => random.NextInt64(0, plan.AllocationBytes + 1)));
        foreach (long offset in probes)
        {
            long expected = Array.FindIndex(starts, s => s >= offset);
            Assert.Equal(expected < 0 ? plan.TotalChunks : expected, plan.FirstChunkAtOrAfter(offset));
        }
    }

    [Fact]
    public void DeviceFollowsFile_FalseWhenTensorsAreGivenOutOfFileOrder()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);

        var plan = new ChunkPlan([.. gguf.Tensors.Reverse()], 256, 4096);

        Assert.False(plan.DeviceFollowsFile);
        Assert.Throws<InvalidOperationException>(() => plan.FirstChunkAtOrAfter(0));
    }
}
