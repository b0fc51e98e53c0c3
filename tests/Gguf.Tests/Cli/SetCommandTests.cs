using System.Text;
using System.Text.Json;
using Gguf.Format;
using Gguf.Model;
using Gguf.Tests.Support;
using Gguf.Tests.Writing;
using Gguf.Writing;

using Gguf.Testing;

namespace Gguf.Tests.Cli;

/// <summary><c>gguf set</c>: value syntax per type, --from-file, --remove, -o, --in-place, --json and the error contract.</summary>
public sealed class SetCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new("gguf-set");

    public void Dispose() => _temp.Dispose();

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private string Model(string name = "m.gguf")
    {
        GgufWriter w = Fixtures.WithTensors();
        w.AddMetadata(GgufKeys.Name, GgufValue.String("before"));
        w.AddMetadata("custom.count", GgufValue.UInt16(7));
        w.AddMetadata("custom.list", GgufValue.FromArray(new[] { 1f, 2f }));
        return _temp.Write(name, w);
    }

    private static GgufMetadataEntry Entry(string path, string key)
    {
        // The entry is read while the file is open; the tests only look at scalars and arrays they copy out.
        using GgufFile file = GgufFile.Open(path);
        return file.Metadata[key];
    }

    private static T Read<T>(string path, Func<GgufFile, T> read)
    {
        using GgufFile file = GgufFile.Open(path);
        return read(file);
    }

    [Fact]
    public void Set_String_SummaryNamesThePathTakenAndTheBytes()
    {
        string path = Model();
        var hashes = GgufEditorTests.TensorHashes(path);
        (int code, string output, string error) = Run("set", path, GgufKeys.Name, "after");

        Assert.Equal(0, code);
        Assert.Empty(error);
        string line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^.*m\.gguf: set general\.name \(str\); saved by (copy_file_range|reflink|read/write copy): [\d,]+ bytes written", line);
        Assert.Equal("after", Read(path, f => f.Metadata[GgufKeys.Name].GetString()));
        Assert.Equal(hashes, GgufEditorTests.TensorHashes(path));
        Assert.Equal("ok", Run("verify", path).Out.Trim());
    }

    [Fact]
    public void Set_ExistingKey_KeepsItsType()
    {
        string path = Model();
        Assert.Equal(0, Run("set", path, "custom.count", "65535").Code);
        Assert.Equal((ushort)65535, Read(path, f => f.Metadata["custom.count"].GetUInt16()));

        Assert.Equal(0, Run("set", path, "custom.list", "0.5, -1e3, nan").Code);
        float[] list = Read(path, f => f.Metadata["custom.list"].GetArray().ToArray<float>());
        Assert.Equal(0.5f, list[0]);
        Assert.Equal(-1000f, list[1]);
        Assert.True(float.IsNaN(list[2]));
    }

    [Fact]
    public void Set_ValueOutOfRangeForTheType_ErrorExitOne_NothingWritten()
    {
        string path = Model();
        byte[] before = File.ReadAllBytes(path);
        (int code, string output, string error) = Run("set", path, "custom.count", "65536");

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Equal("error: '65536' is not a u16 (0 to 65535)", error.Trim());
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Set_NewKeyWithoutType_IsRefused_WellKnownNewKeyTakesItsType()
    {
        string path = Model();
        (int code, _, string error) = Run("set", path, "custom.new", "5");
        Assert.Equal(1, code);
        Assert.Contains("'custom.new' is a new key: give its --type", error);

        Assert.Equal(0, Run("set", path, "tokenizer.ggml.padding_token_id", "3").Code);
        Assert.Equal(GgufValueType.UInt32, Entry(path, "tokenizer.ggml.padding_token_id").Type);
        Assert.Equal(0, Run("set", path, GgufKeys.License, "MIT, or else").Code);
        Assert.Equal("MIT, or else", Read(path, f => f.Metadata[GgufKeys.License].GetString()));
    }

    [Theory]
    [InlineData("u8", "255", GgufValueType.UInt8, "255")]
    [InlineData("i8", "-128", GgufValueType.Int8, "-128")]
    [InlineData("u16", "0xffff", GgufValueType.UInt16, "65535")]
    [InlineData("i16", "-32768", GgufValueType.Int16, "-32768")]
    [InlineData("u32", "4294967295", GgufValueType.UInt32, "4294967295")]
    [InlineData("i32", "-2147483648", GgufValueType.Int32, "-2147483648")]
    [InlineData("u64", "18446744073709551615", GgufValueType.UInt64, "18446744073709551615")]
    [InlineData("i64", "-9223372036854775808", GgufValueType.Int64, "-9223372036854775808")]
    [InlineData("f32", "0.1", GgufValueType.Float32, "0.1")]
    [InlineData("f64", "-inf", GgufValueType.Float64, "-Infinity")]
    [InlineData("bool", "true", GgufValueType.Bool, "True")]
    [InlineData("str", " spaced, and, commas ", GgufValueType.String, " spaced, and, commas ")]
    [InlineData("uint32", "7", GgufValueType.UInt32, "7")]
    public void Set_EveryScalarType(string type, string value, GgufValueType expected, string shown)
    {
        string path = Model();
        (int code, _, string error) = Run("set", path, "custom.v", value, "--type", type);
        Assert.True(code == 0, error);

        using GgufFile file = GgufFile.Open(path);
        GgufMetadataEntry entry = file.Metadata["custom.v"];
        Assert.Equal(expected, entry.Type);
        string actual = expected switch
        {
            GgufValueType.UInt8 => entry.GetUInt8().ToString(),
            GgufValueType.Int8 => entry.GetInt8().ToString(),
            GgufValueType.UInt16 => entry.GetUInt16().ToString(),
            GgufValueType.Int16 => entry.GetInt16().ToString(),
            GgufValueType.UInt32 => entry.GetUInt32().ToString(),
            GgufValueType.Int32 => entry.GetInt32().ToString(),
            GgufValueType.UInt64 => entry.GetUInt64().ToString(),
            GgufValueType.Int64 => entry.GetInt64().ToString(),
            GgufValueType.Float32 => entry.GetFloat32().ToString(System.Globalization.CultureInfo.InvariantCulture),
            GgufValueType.Float64 => entry.GetFloat64().ToString(System.Globalization.CultureInfo.InvariantCulture),
            GgufValueType.Bool => entry.GetBool().ToString(),
            _ => entry.GetString(),
        };
        Assert.Equal(shown, actual);
    }

    [Fact]
    public void Set_Arrays_CommaListJsonListAndNested()
    {
        string path = Model();
        Assert.Equal(0, Run("set", path, "a.u32", "1, 2,3", "--type", "u32[]").Code);
        Assert.Equal(0, Run("set", path, "a.json", "[1, -2, 3]", "--type", "i64[]").Code);
        Assert.Equal(0, Run("set", path, "a.str", "[\"x,y\", \"\", \"ü\"]", "--type", "str[]").Code);
        Assert.Equal(0, Run("set", path, "a.csv", "x,y", "--type", "str[]").Code);
        Assert.Equal(0, Run("set", path, "a.empty", "", "--type", "f32[]").Code);
        Assert.Equal(0, Run("set", path, "a.bool", "true,0,1", "--type", "bool[]").Code);
        Assert.Equal(0, Run("set", path, "a.nested", "[[1,2],[],[3]]", "--type", "i32[][]").Code);

        using GgufFile file = GgufFile.Open(path);
        Assert.Equal([1u, 2u, 3u], file.Metadata["a.u32"].GetArray().ToArray<uint>());
        Assert.Equal([1L, -2L, 3L], file.Metadata["a.json"].GetArray().ToArray<long>());
        Assert.Equal(["x,y", "", "ü"], file.Metadata["a.str"].GetArray().ToStringArray());
        Assert.Equal(["x", "y"], file.Metadata["a.csv"].GetArray().ToStringArray());
        Assert.Equal(0, file.Metadata["a.empty"].GetArray().Count);
        Assert.Equal(GgufValueType.Float32, file.Metadata["a.empty"].GetArray().ElementType);
        Assert.Equal([true, false, true], file.Metadata["a.bool"].GetArray().ToArray<bool>());
        GgufArray nested = file.Metadata["a.nested"].GetArray();
        Assert.Equal(GgufValueType.Array, nested.ElementType);
        Assert.Equal([1, 2], nested.GetArray(0).ToArray<int>());
        Assert.Equal(0, nested.GetArray(1).Count);
        Assert.Equal([3], nested.GetArray(2).ToArray<int>());
    }

    [Theory]
    [InlineData("i32[]", "[1, \"x\"]")]
    [InlineData("i32[]", "[1, 2")]
    [InlineData("i32[][]", "1,2")]
    [InlineData("u8[]", "1,256")]
    [InlineData("q4", "1")]
    public void Set_BadArrayOrType_ErrorExitOne(string type, string value)
    {
        string path = Model();
        byte[] before = File.ReadAllBytes(path);
        (int code, _, string error) = Run("set", path, "a.bad", value, "--type", type);
        Assert.Equal(1, code);
        Assert.StartsWith("error: ", error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Set_FromFile_TakesTheExactBytes()
    {
        string path = Model();
        byte[] template = [.. "{% for m in messages %}\r\n  {{ m.content }}\t\n{% endfor %}\n"u8, 0xFF, 0x0A];
        string source = _temp.Write("t.jinja", template);
        (int code, string output, _) = Run("set", path, GgufKeys.ChatTemplate, "--from-file", source);

        Assert.Equal(0, code);
        Assert.Contains("set tokenizer.chat_template (str)", output);
        Assert.Equal(template, Read(path, f => f.Metadata[GgufKeys.ChatTemplate].GetStringBytes()));
    }

    [Fact]
    public void Set_FromFile_ParsesOtherTypesFromText()
    {
        string path = Model();
        string source = _temp.Write("ids.json", Encoding.UTF8.GetBytes("[1, 2, 3]\n"));
        Assert.Equal(0, Run("set", path, "custom.ids", "--from-file", source, "--type", "u32[]").Code);
        Assert.Equal([1u, 2u, 3u], Read(path, f => f.Metadata["custom.ids"].GetArray().ToArray<uint>()));
    }

    [Fact]
    public void Remove_DropsKeys_MissingKeyIsAnError()
    {
        string path = Model();
        Assert.Equal(0, Run("set", path, "--remove", "custom.count", "--remove", "custom.list").Code);
        Assert.False(Read(path, f => f.Metadata.ContainsKey("custom.count") || f.Metadata.ContainsKey("custom.list")));

        byte[] before = File.ReadAllBytes(path);
        (int code, _, string error) = Run("set", path, "--remove", "custom.count");
        Assert.Equal(1, code);
        Assert.Contains("cannot remove 'custom.count': it is not in", error);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Output_WritesACopy_SourceUnchanged()
    {
        string path = Model();
        byte[] before = File.ReadAllBytes(path);
        string copy = _temp.File("copy.gguf");
        (int code, string output, _) = Run("set", path, GgufKeys.Name, "copy", "-o", copy);

        Assert.Equal(0, code);
        Assert.StartsWith(copy + ": ", output);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal("copy", Read(copy, f => f.Metadata[GgufKeys.Name].GetString()));
        Assert.Equal(GgufEditorTests.TensorHashes(path), GgufEditorTests.TensorHashes(copy));
    }

    [Fact]
    public void InPlace_FitsAndSaysSo_RefusedWhenItDoesNot()
    {
        string path = Model();
        (int code, string output, _) = Run("set", path, GgufKeys.Name, "AFTER!", "--in-place");
        Assert.Equal(0, code);
        Assert.Contains("saved in place", output);
        Assert.Equal("AFTER!", Read(path, f => f.Metadata[GgufKeys.Name].GetString()));

        byte[] before = File.ReadAllBytes(path);
        (code, _, string error) = Run("set", path, GgufKeys.Name, new string('x', 4000), "--in-place");
        Assert.Equal(1, code);
        Assert.Matches("^error: cannot save '.*' in place: the new header needs \\d+ bytes but only \\d+ fit before the tensor data", error);
        Assert.Equal(before, File.ReadAllBytes(path));

        Assert.Equal(1, Run("set", path, GgufKeys.Name, "x", "--in-place", "-o", _temp.File("o.gguf")).Code);
    }

    [Fact]
    public void Json_DescribesTheSave()
    {
        string path = Model();
        (int code, string output, _) = Run("set", path, "custom.count", "9", "--remove", "custom.list", "--json");
        Assert.Equal(0, code);

        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        using GgufFile file = GgufFile.Open(path);
        Assert.Equal(path, root.GetProperty("path").GetString());
        Assert.Contains(root.GetProperty("method").GetString(), new[] { "copy_file_range", "reflink", "read_write" });
        Assert.Equal(file.FileSize, root.GetProperty("file_size").GetInt64());
        Assert.Equal(file.DataOffset, root.GetProperty("data_offset").GetInt64());
        Assert.Equal(32, root.GetProperty("alignment").GetInt32());
        Assert.True(root.GetProperty("bytes_written").GetInt64() >= file.DataOffset);
        Assert.False(root.GetProperty("relaid").GetBoolean());
        JsonElement[] changes = root.GetProperty("changes").EnumerateArray().ToArray();
        Assert.Equal(2, changes.Length);
        Assert.Equal("remove", changes[0].GetProperty("action").GetString());
        Assert.Equal("custom.list", changes[0].GetProperty("key").GetString());
        Assert.Equal("set", changes[1].GetProperty("action").GetString());
        Assert.Equal("u16", changes[1].GetProperty("type").GetString());
    }

    [Fact]
    public void WellKnownKeyOfTheWrongType_OneLineNamingKeyAndType()
    {
        string path = Model();
        (int code, _, string error) = Run("set", path, "tokenizer.ggml.eos_token_id", "2", "--type", "i32");
        Assert.Equal(1, code);
        Assert.Equal("error: metadata key 'tokenizer.ggml.eos_token_id' must be uint32, not int32", error.Trim());
    }

    [Fact]
    public void Usage_NothingToDo_OrValueMissing_ErrorExitOne()
    {
        string path = Model();
        Assert.Equal(1, Run("set", path).Code);
        Assert.Equal(1, Run("set", path, GgufKeys.Name).Code);
        Assert.Equal(1, Run("set", path, GgufKeys.Name, "x", "--from-file", path).Code);
    }

    [Fact]
    public void MalformedFile_FormatErrorExitTwo()
    {
        string path = _temp.Write("bad.gguf", Fixtures.EmptyHeader(1));
        (int code, _, string error) = Run("set", path, GgufKeys.Name, "x");
        Assert.Equal(2, code);
        Assert.StartsWith("error: UnsupportedVersion at offset 4", error);
    }

    [Fact]
    public void MissingFile_IoErrorExitOne()
    {
        (int code, _, string error) = Run("set", _temp.File("none.gguf"), GgufKeys.Name, "x");
        Assert.Equal(1, code);
        Assert.Contains("none.gguf", error);
    }
}
