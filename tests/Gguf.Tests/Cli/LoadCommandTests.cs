using System.Security.Cryptography;
using System.Text.Json;
using Gguf.Cli;
using Gguf.Gpu;
using Gguf.Testing;
using Gguf.Tests.Loading;
using Gguf.Tests.Support;
using Xunit;

namespace Gguf.Tests.Cli;

public sealed class LoadCommandTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static (int Exit, string Out, string Err) Run(CancellationToken cancellationToken, params string[] args) => CliRunner.Run(cancellationToken, args);

    [Fact]
    public void Load_Json_HasEveryKey()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));

        (int exit, string output, string error) = Run("load", model.Path, "--json");

        Assert.True(exit == 0, error);
        using var json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        Assert.Equal(model.Tensors.Count, root.GetProperty("tensors").GetInt32());
        Assert.Equal(model.TensorBytes, root.GetProperty("bytes").GetInt64());
        Assert.True(root.GetProperty("seconds").GetDouble() > 0);
        Assert.True(root.GetProperty("gb_per_s").GetDouble() > 0);
        Assert.Equal("host", root.GetProperty("device").GetString());
        Assert.Equal("read", root.GetProperty("mode").GetString());
        Assert.Equal(1 << 20, root.GetProperty("chunk_size").GetInt32());
        Assert.False(root.GetProperty("verified").GetBoolean());
        Assert.Equal(OperatingSystem.IsLinux() ? JsonValueKind.Number : JsonValueKind.Null, root.GetProperty("peak_rss_bytes").ValueKind);
        Assert.False(root.TryGetProperty("checksums", out _));
    }

    [Theory]
    [InlineData("mmap", "4KiB")]
    [InlineData("read", "65537")]
    public void Load_Checksums_AreSha256OfEveryTensorInFileOrder(string mode, string chunk)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));

        (int exit, string output, string error) = Run("load", model.Path, "--json", "--checksums", "--verify", "--mode", mode, "--chunk-size", chunk);

        Assert.True(exit == 0, error);
        using var json = JsonDocument.Parse(output);
        JsonElement[] sums = [.. json.RootElement.GetProperty("checksums").EnumerateArray()];
        Assert.Equal(model.Tensors.Count, sums.Length);
        for (int i = 0; i < sums.Length; i++)
        {
            Assert.Equal(model.Tensors[i].Name, sums[i].GetProperty("name").GetString());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(model.Tensors[i].Bytes)), sums[i].GetProperty("sha256").GetString());
        }

        Assert.True(json.RootElement.GetProperty("verified").GetBoolean());
        Assert.Equal(mode, json.RootElement.GetProperty("mode").GetString());
    }

    [Fact]
    public void Load_Summary_NamesEverything()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));

        (int exit, string output, _) = Run("load", model.Path, "--verify", "--checksums");

        Assert.Equal(0, exit);
        foreach (string label in new[] { "loaded:", "tensors:", "bytes:", "seconds:", "throughput:", "destination:", "mode:", "peak RSS:", "verified:     yes", "sha256:" })
        {
            Assert.Contains(label, output, StringComparison.Ordinal);
        }

        Assert.Contains($"{Convert.ToHexStringLower(SHA256.HashData(model.Tensors[0].Bytes))}  {model.Tensors[0].Name}", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_OneLineExit1()
    {
        using var dir = new TempDirectory();

        (int exit, string output, string error) = Run("load", dir.File("nope.gguf"));

        Assert.Equal(1, exit);
        Assert.Empty(output);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains("not found", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NotGguf_Exit2()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.gguf");
        File.WriteAllBytes(path, new byte[4096]);

        (int exit, _, string error) = Run("load", path);

        Assert.Equal(2, exit);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("--chunk-size", "banana")]
    [InlineData("--chunk-size", "100")]
    [InlineData("--mode", "teleport")]
    [InlineData("--device", "tpu")]
    public void Load_BadOption_Rejected(string option, string value)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));

        (int exit, _, string error) = Run("load", model.Path, option, value);

        Assert.NotEqual(0, exit);
        Assert.Contains(value, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CudaWithoutGpu_OneLineExit1()
    {
        if (CudaDestination.IsAvailable(out _))
        {
            Assert.Skip("this machine has a CUDA GPU");
        }

        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));

        (int exit, _, string error) = Run("load", model.Path, "--device", "cuda:0");

        Assert.Equal(1, exit);
        Assert.Contains("CUDA", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void Load_DoesNotFit_Exit1WithBytes()
    {
        using var dir = new TempDirectory();
        long huge = Math.Max(Gguf.Loading.HostMemoryInfo.AvailableBytes, Gguf.Loading.HostMemoryInfo.TotalBytes) + (1L << 30);
        string path = TestModels.WriteAllHole(dir.File("hole.gguf"), huge);

        (int exit, _, string error) = Run("load", path);

        Assert.Equal(1, exit);
        Assert.Contains("model needs", error, StringComparison.Ordinal);
        Assert.Contains("host has", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Cancelled_Exit130()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));

        (int exit, _, string error) = Run(new CancellationToken(canceled: true), "load", model.Path);

        Assert.Equal(130, exit);
        Assert.Contains("cancelled", error, StringComparison.Ordinal);
    }

    [Fact]
    public void BenchLoad_Json_HasEveryKey()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));

        (int exit, string output, string error) = Run("bench", "load", model.Path, "--json", "--runs", "1");

        Assert.True(exit == 0, error);
        using var json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        Assert.True(root.GetProperty("modes").GetProperty("mmap").GetDouble() > 0);
        Assert.True(root.GetProperty("modes").GetProperty("read").GetDouble() > 0);
        foreach (string key in new[] { "naive_read_gb_per_s", "read_reused_gb_per_s", "memcpy_gb_per_s", "ratio_vs_naive_read" })
        {
            Assert.True(root.GetProperty(key).GetDouble() > 0, key);
        }
    }

    [Fact]
    public void BenchLoad_CreateSize_WritesAValidSyntheticModel()
    {
        using var dir = new TempDirectory();
        string path = dir.File("synthetic.gguf");

        Gguf.Cli.Commands.SyntheticModel.Write(path, 1);

        using var gguf = Gguf.Model.GgufFile.Open(path);
        Assert.Equal("llama", gguf.Architecture);
        Assert.Contains(gguf.Tensors, t => t.Name == "blk.0.ffn_down.weight");
    }

    [Fact]
    public void Load_DirectMode_JsonSaysWhatRan()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));

        (int exit, string output, string error) = Run("load", model.Path, "--json", "--mode", "direct", "--verify");

        Assert.True(exit == 0, error);
        using var json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        bool refused = root.GetProperty("direct_io_refused").GetBoolean();
        Assert.Equal(refused ? "read" : "direct", root.GetProperty("mode").GetString());
        Assert.Equal("direct", root.GetProperty("requested_mode").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("resident_fraction").ValueKind);
        Assert.True(root.GetProperty("verified").GetBoolean());
    }

    [Fact]
    public void Load_Auto_SummarySaysWhatItChoseAndWhy()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));

        (int exit, string output, string error) = Run("load", model.Path);

        Assert.True(exit == 0, error);
        Assert.Contains(OperatingSystem.IsLinux() ? "% of the data was cached)" : "(auto: residency unknown)", output, StringComparison.Ordinal);
    }

    [Fact]
    public void BenchLoad_Cold_JsonHasColdAndDirectReadKeys()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 4 << 20);

        (int exit, string output, string error) = Run("bench", "load", model.Path, "--json", "--runs", "1", "--cold");

        Assert.True(exit == 0, error);
        using var json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        Assert.True(root.GetProperty("modes").GetProperty("direct").GetDouble() > 0);
        Assert.True(root.GetProperty("ratio_mmap_vs_read").GetDouble() > 0);
        Assert.True(root.GetProperty("cold_gb_per_s").GetDouble() > 0);
        Assert.Contains(root.GetProperty("cold_mode").GetString(), new[] { "direct", "read" });
        if (OperatingSystem.IsLinux())
        {
            Assert.True(root.GetProperty("direct_read_gb_per_s").GetDouble() > 0);
            Assert.True(root.GetProperty("ratio_cold_vs_direct_read").GetDouble() > 0);
            Assert.InRange(root.GetProperty("cold_resident_fraction_after_eviction").GetDouble(), 0, 1);
            Assert.True(root.GetProperty("cold_fault_gb_per_s").GetDouble() > 0, "the cold load into the host arena faults fresh memory in, and the bench times it");
        }
    }

    [Fact]
    public void BenchLoad_WithoutCold_ColdKeysAreNull()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));

        (int exit, string output, string error) = Run("bench", "load", model.Path, "--json", "--runs", "1");

        Assert.True(exit == 0, error);
        using var json = JsonDocument.Parse(output);
        foreach (string key in new[] { "cold_gb_per_s", "direct_read_gb_per_s", "ratio_cold_vs_direct_read", "cold_fault_gb_per_s" })
        {
            Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty(key).ValueKind);
        }
    }
}
