using System.Text.Json;
using Gguf.Format;
using Gguf.Cli;
using Gguf.Model;
using Gguf.Tests.Support;
using Gguf.Writing;

namespace Gguf.Tests.Cli;

public sealed class CliTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void Verify_ValidFile_PrintsOkAndExitsZero()
    {
        (int code, string output, string error) = Run("verify", _temp.Write("ok.gguf", Fixtures.WithTensors()));
        Assert.Equal(0, code);
        Assert.Equal("ok", output.Trim());
        Assert.Empty(error);
    }

    [Fact]
    public void Verify_MalformedFile_OneErrorLineExitTwo()
    {
        byte[] bytes = Fixtures.EmptyHeader(1);
        (int code, string output, string error) = Run("verify", _temp.WriteBytes("v1.gguf", bytes));

        Assert.Equal(2, code);
        Assert.Empty(output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^error: UnsupportedVersion at offset 4: .*supported versions are 2 and 3", line);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("directory")]
    [InlineData("empty")]
    public void Verify_IoErrors_OneLineExitOne(string kind)
    {
        string path = kind switch
        {
            "missing" => _temp.File("nothing.gguf"),
            "directory" => _temp.Path,
            _ => _temp.WriteBytes("empty.gguf", []),
        };
        (int code, _, string error) = Run("verify", path);

        Assert.Equal(1, code);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains(path, line);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void Info_PrintsSummary()
    {
        (int code, string output, _) = Run("info", _temp.Write("i.gguf", Fixtures.WithTensors()));
        Assert.Equal(0, code);
        Assert.Contains("GGUF v3", output);
        Assert.Contains("architecture: test", output);
        Assert.Contains("tensors:      11", output);
        Assert.Contains("q4_K", output);
        Assert.Contains("alignment:    32", output);
    }

    [Fact]
    public void Dump_Json_FollowsSchema()
    {
        var w = Fixtures.EveryValueType();
        w.AddMetadata("t.badutf8", GgufValue.FromUtf8([0xC3, 0x28, 0x41]));
        w.AddTensor("token_embd.weight", Gguf.Format.GgmlType.Q4_K, [256, 2], new byte[288]);
        string path = _temp.Write("d.gguf", w);
        (int code, string output, _) = Run("dump", path, "--json");
        Assert.Equal(0, code);

        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        using GgufFile file = GgufFile.Open(path);
        Assert.Equal(3, root.GetProperty("version").GetInt32());
        Assert.Equal(32, root.GetProperty("alignment").GetInt32());
        Assert.Equal(file.DataOffset, root.GetProperty("data_offset").GetInt64());
        Assert.Equal(file.FileSize, root.GetProperty("file_size").GetInt64());

        var metadata = root.GetProperty("metadata").EnumerateArray().ToDictionary(e => e.GetProperty("key").GetString()!);
        Assert.Equal(file.Metadata.Select(e => e.Key), root.GetProperty("metadata").EnumerateArray().Select(e => e.GetProperty("key").GetString()));
        Assert.Equal("uint64", metadata["t.u64"].GetProperty("type").GetString());
        Assert.Equal(ulong.MaxValue, metadata["t.u64"].GetProperty("value").GetUInt64());
        Assert.Equal(long.MinValue, metadata["t.i64"].GetProperty("value").GetInt64());
        Assert.Equal("0.1", metadata["t.f32"].GetProperty("value").GetRawText());
        Assert.Equal(Math.PI.ToString("R", System.Globalization.CultureInfo.InvariantCulture), metadata["t.f64"].GetProperty("value").GetRawText());
        Assert.True(metadata["t.bool"].GetProperty("value").GetBoolean());
        Assert.Equal("héllo wörld ✓", metadata["t.str"].GetProperty("value").GetString());
        Assert.Equal("c32841", metadata["t.badutf8"].GetProperty("value").GetProperty("hex").GetString());

        JsonElement floats = metadata["a.f32"];
        Assert.Equal("array", floats.GetProperty("type").GetString());
        Assert.Equal("float32", floats.GetProperty("element_type").GetString());
        Assert.Equal(6, floats.GetProperty("count").GetInt32());
        Assert.Equal("[0,-1.5,\"NaN\",\"Infinity\",\"-Infinity\",1E-45]", floats.GetProperty("value").GetRawText());
        Assert.Equal(4, metadata["a.str"].GetProperty("value").GetArrayLength());

        JsonElement nested = metadata["a.nested"];
        Assert.Equal("array", nested.GetProperty("element_type").GetString());
        JsonElement first = nested.GetProperty("value")[0];
        Assert.Equal("int32", first.GetProperty("element_type").GetString());
        Assert.Equal(2, first.GetProperty("count").GetInt32());
        Assert.Equal("[1,2]", first.GetProperty("value").GetRawText());

        JsonElement tensor = root.GetProperty("tensors")[0];
        Assert.Equal("token_embd.weight", tensor.GetProperty("name").GetString());
        Assert.Equal("q4_K", tensor.GetProperty("type").GetString());
        Assert.Equal(12, tensor.GetProperty("type_id").GetInt32());
        Assert.Equal("[256,2]", tensor.GetProperty("shape").GetRawText());
        Assert.Equal(0, tensor.GetProperty("offset").GetInt64());
        Assert.Equal(288, tensor.GetProperty("size").GetInt64());
    }

    [Fact]
    public void Dump_Corpus_TokensAndCountsMatchTheFile()
    {
        string corpus = Repo.RequireCorpus();
        string path = Path.Combine(corpus, "ggml-vocab-gpt-2.gguf");
        (int code, string output, _) = Run("dump", path, "--json");
        Assert.Equal(0, code);

        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement tokens = doc.RootElement.GetProperty("metadata").EnumerateArray().Single(e => e.GetProperty("key").GetString() == "tokenizer.ggml.tokens");
        Assert.Equal(50257, tokens.GetProperty("count").GetInt32());
        Assert.Equal(50257, tokens.GetProperty("value").GetArrayLength());
        using GgufFile file = GgufFile.Open(path);
        Assert.Equal(file.Metadata["tokenizer.ggml.tokens"].GetArray().GetString(50256), tokens.GetProperty("value")[50256].GetString());
    }
}
