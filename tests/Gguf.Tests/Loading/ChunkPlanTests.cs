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
}
