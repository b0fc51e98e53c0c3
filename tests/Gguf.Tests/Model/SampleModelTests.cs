using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;

namespace Gguf.Tests.Model;

public sealed class SampleModelTests
{
    // samples/tiny-llama.gguf is what the generator writes with its defaults.
    private static readonly ModelSpec Sample = new();

    [Fact]
    public void CommittedSample_IsExactlyWhatTheGeneratorWrites()
    {
        byte[] generated = ModelGenerator.Build(Sample).ToBytes();
        if (Environment.GetEnvironmentVariable("GGUF_UPDATE_SAMPLE") == "1")
        {
            File.WriteAllBytes(Repo.SamplePath, generated);
        }

        Assert.True(File.Exists(Repo.SamplePath), $"{Repo.SamplePath} is missing; run the tests with GGUF_UPDATE_SAMPLE=1 to write it");
        Assert.Equal(generated, File.ReadAllBytes(Repo.SamplePath));
    }

    [Fact]
    public void Sample_IsACompleteSmallLlamaModel()
    {
        using GgufFile file = GgufFile.Open(Repo.SamplePath);

        Assert.True(file.FileSize < 300 * 1024, $"sample is {file.FileSize} bytes");
        Assert.Equal("llama", file.Architecture);
        Assert.Equal(2 + (9 * Sample.Layers) + 1, file.Tensors.Count);
        Assert.Equal(Sample.Layers, file.Metadata.TryGetInteger(GgufKeys.BlockCount("llama"), out long blocks) ? blocks : 0);
        Assert.Equal(file.Metadata["tokenizer.ggml.tokens"].Count, file.GetTensor("token_embd.weight").Dimensions[1]);
        Assert.Contains(file.Tensors, t => t.Type == GgmlType.Q4_0);
        Assert.Contains(file.Tensors, t => t.Type == GgmlType.Q8_0);
    }
}
