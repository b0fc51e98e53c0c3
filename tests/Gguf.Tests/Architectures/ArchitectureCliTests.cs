using System.Text.Json;
using Gguf.Tests.Support;

namespace Gguf.Tests.Architectures;

public sealed class ArchitectureCliTests : IDisposable
{
    private readonly TempDirectory _dir = new("gguf-arch-cli");

    [Fact]
    public void Check_ValidModel_PrintsOk()
    {
        string path = ArchTestModel.Llama().Write(_dir.File("a.gguf"));

        (int code, string output, _) = CliRunner.Run("check", path);

        Assert.Equal(0, code);
        Assert.Equal("ok", output.Trim());
    }

    [Fact]
    public void Check_BrokenModel_OneLinePerProblem_Exit2()
    {
        var m = ArchTestModel.Llama().Without("blk.0.attn_v.weight").With("blk.1.attn_q.weight", 128, 65);
        m.Keys.Remove("llama.context_length");
        string path = m.Write(_dir.File("b.gguf"));

        (int code, string output, _) = CliRunner.Run("check", path);

        Assert.Equal(2, code);
        string[] lines = output.Trim().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Contains("llama.context_length", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains("blk.0.attn_v.weight", StringComparison.Ordinal) && l.Contains("missing", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("blk.1.attn_q.weight", StringComparison.Ordinal) && l.Contains("[128, 65]", StringComparison.Ordinal));
    }

    [Fact]
    public void Plan_Json_BytesPerDevice_AndFitOnHost()
    {
        string path = ArchTestModel.Llama(4).Write(_dir.File("a.gguf"));

        (int code, string output, string error) = CliRunner.Run("plan", path, "--ctx", "512", "--cache-type", "q8_0", "--devices", "host,cuda:0", "--split", "1,3", "--json");

        Assert.True(code == 0, error);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement[] devices = [.. doc.RootElement.GetProperty("devices").EnumerateArray()];
        Assert.Equal(2, devices.Length);
        Assert.Equal([0, 1], devices[0].GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("fits", devices[0].GetProperty("fits").GetString());
        Assert.Equal(doc.RootElement.GetProperty("total_bytes").GetInt64(), devices.Sum(d => d.GetProperty("total_bytes").GetInt64()));
        Assert.Equal(doc.RootElement.GetProperty("kv_bytes").GetInt64(), devices.Sum(d => d.GetProperty("kv_bytes").GetInt64()));

        // On the host, two layers of K and V: 512 cells of 64 values, 2 q8_0 blocks of 34 bytes each.
        Assert.Equal(2 * 2 * 68 * 512, devices[0].GetProperty("kv_bytes").GetInt64());
    }

    [Fact]
    public void Plan_Text_SaysUnavailableForACudaDeviceItCannotQuery()
    {
        string path = ArchTestModel.Llama().Write(_dir.File("a.gguf"));

        (int code, string output, _) = CliRunner.Run("plan", path, "--devices", "host,cuda:7", "--ctx", "256");

        Assert.Equal(0, code);
        Assert.Contains("host", output, StringComparison.Ordinal);
        Assert.Contains("cuda:7", output, StringComparison.Ordinal);
        Assert.Contains("unavailable", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_ShowsTypedHyperparameters()
    {
        string path = ArchTestModel.Gemma2(2).Write(_dir.File("g.gguf"));

        (int code, string output, _) = CliRunner.Run("info", path);

        Assert.Equal(0, code);
        Assert.Contains("layers 2, context 1024, embedding 128, feed-forward 128", output, StringComparison.Ordinal);
        Assert.Contains("sliding window 32 on layers 0", output, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Dispose();
}
