using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gguf.Cli;
using Gguf.Conformance.Native;
using Gguf.Conformance.Support;
using Gguf.LlamaCpp;
using Gguf.Testing;

namespace Gguf.Conformance.Models;

/// <summary>
/// Issue 6, done when: <c>gguf load --checksums --json</c> on models written and quantized by llama.cpp reports
/// the exact bytes of every tensor: the SHA-256 of each tensor read back from the destination equals the SHA-256
/// of the bytes llama.cpp's own gguf reader loads for it.
/// </summary>
public sealed class LoadChecksumTests(TinyModelFixture models) : IClassFixture<TinyModelFixture>
{
    public static TheoryData<string, string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (string arch in TinyModel.Architectures)
            {
                data.Add(arch, nameof(LlamaFtype.MOSTLY_Q8_0), "read");
                data.Add(arch, nameof(LlamaFtype.MOSTLY_Q4_K_M), "mmap");
                data.Add(arch, nameof(LlamaFtype.MOSTLY_IQ4_XS), "read");
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task GgufLoadChecksums_AreTheBytesLlamaCppReads(string arch, string ftypeName, string mode)
    {
        Requires.LlamaCpp();
        var ftype = Enum.Parse<LlamaFtype>(ftypeName);
        string output = Path.Combine(models.Folder, $"load-{arch}-{ftype}.gguf");
        LlamaRunner.Quantize(models.Model(arch), output, ftype);
        GgufSnapshot? native = NativeGgufReader.TryRead(output, withData: true, out string error);
        Assert.True(native is not null, error);

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = await CliApp.RunAsync(["load", output, "--json", "--checksums", "--verify", "--mode", mode, "--chunk-size", "4KiB"], stdout, stderr, TestContext.Current.CancellationToken);

        Assert.True(exit == 0, stderr.ToString());
        using var json = JsonDocument.Parse(stdout.ToString());
        JsonElement[] sums = [.. json.RootElement.GetProperty("checksums").EnumerateArray()];
        Assert.Equal(native.Tensors.Count, sums.Length);
        for (int i = 0; i < sums.Length; i++)
        {
            TensorSnapshot tensor = native.Tensors[i];
            Assert.Equal(Encoding.UTF8.GetString(tensor.Name), sums[i].GetProperty("name").GetString());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(tensor.Data!)), sums[i].GetProperty("sha256").GetString());
        }

        Assert.True(json.RootElement.GetProperty("verified").GetBoolean());
        Assert.Equal(native.Tensors.Sum(t => (long)t.Size), json.RootElement.GetProperty("bytes").GetInt64());
        File.Delete(output);
    }
}
