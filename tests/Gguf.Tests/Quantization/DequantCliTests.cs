using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gguf.Format;
using Gguf.Model;
using Gguf.Quantization;
using Gguf.Testing;
using Gguf.Tests.Support;

namespace Gguf.Tests.Quantization;

/// <summary><c>gguf tensor</c> (raw and .npy output, read back here) and <c>gguf bench dequant</c>.</summary>
public sealed partial class DequantCliTests : IDisposable
{
    private readonly TempDirectory _temp = new("gguf-dequant-cli");

    public void Dispose() => _temp.Dispose();

    private string Model() => _temp.Write("m.gguf", DequantData.Writer(seed: 9, ("blk.0.w", GgmlType.Q4_K, [512, 3, 2]), ("norm", GgmlType.F32, [40]), ("emb", GgmlType.IQ4_NL, [64, 5])));

    private static float[] Expected(string path, string name)
    {
        using GgufFile file = GgufFile.Open(path);
        GgufTensorInfo tensor = file.GetTensor(name);
        var values = new float[tensor.ElementCount];
        Dequantizer.Dequantize(file, tensor, values);
        return values;
    }

    /// <summary>Parses a .npy v1.0 header: the dictionary and where the data starts.</summary>
    private static (string Descr, bool FortranOrder, long[] Shape, int DataOffset) ParseNpy(byte[] bytes)
    {
        Assert.Equal(0x93, bytes[0]);
        Assert.Equal("NUMPY", Encoding.ASCII.GetString(bytes, 1, 5));
        Assert.Equal(1, bytes[6]);
        Assert.Equal(0, bytes[7]);
        int length = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        int dataOffset = 10 + length;
        Assert.Equal(0, dataOffset % 64);
        string header = Encoding.ASCII.GetString(bytes, 10, length);
        Assert.EndsWith("\n", header, StringComparison.Ordinal);
        Match match = NpyDictionary().Match(header);
        Assert.True(match.Success, header);
        long[] shape = [.. match.Groups["shape"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse)];
        return (match.Groups["descr"].Value, match.Groups["fortran"].Value == "True", shape, dataOffset);
    }

    [GeneratedRegex(@"^\{'descr': '(?<descr>[^']+)', 'fortran_order': (?<fortran>True|False), 'shape': \((?<shape>[^)]*)\), \} *\n$")]
    private static partial Regex NpyDictionary();

    [Fact]
    public void Tensor_Npy_F32_HasRowMajorShapeAndTheDecodedValues()
    {
        string model = Model();
        string output = _temp.File("w.npy");

        (int code, string stdout, string stderr) = CliRunner.Run("tensor", model, "blk.0.w", "-o", output);

        Assert.Equal(0, code);
        Assert.Empty(stderr);
        Assert.Contains("q4_K", stdout, StringComparison.Ordinal);
        byte[] bytes = File.ReadAllBytes(output);
        var (descr, fortran, shape, offset) = ParseNpy(bytes);
        Assert.Equal("<f4", descr);
        Assert.False(fortran);
        Assert.Equal([2L, 3, 512], shape);
        float[] values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(offset)).ToArray();
        DequantData.AssertSameBits(Expected(model, "blk.0.w"), values, "npy data");
    }

    [Fact]
    public void Tensor_Npy_OneDimension_IsAOneTuple()
    {
        string model = Model();
        string output = _temp.File("n.npy");
        Assert.Equal(0, CliRunner.Run("tensor", model, "norm", "-o", output).Code);
        var (descr, _, shape, offset) = ParseNpy(File.ReadAllBytes(output));
        Assert.Equal("<f4", descr);
        Assert.Equal([40L], shape);
        Assert.Equal(offset + (40 * 4), new FileInfo(output).Length);
        Assert.Contains("(40,)", Encoding.ASCII.GetString(File.ReadAllBytes(output), 10, offset - 10), StringComparison.Ordinal);
    }

    [Fact]
    public void Tensor_F16_Raw_IsTheRoundedHalves()
    {
        string model = Model();
        string output = _temp.File("e.f16");
        Assert.Equal(0, CliRunner.Run("tensor", model, "emb", "--as", "f16", "-o", output).Code);
        Half[] halves = MemoryMarshal.Cast<byte, Half>(File.ReadAllBytes(output)).ToArray();
        float[] expected = Expected(model, "emb");
        Assert.Equal(expected.Length, halves.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)expected[i]), BitConverter.HalfToUInt16Bits(halves[i]));
        }

        string npy = _temp.File("e.npy");
        Assert.Equal(0, CliRunner.Run("tensor", model, "emb", "--as", "f16", "-o", npy).Code);
        var (descr, _, shape, _) = ParseNpy(File.ReadAllBytes(npy));
        Assert.Equal("<f2", descr);
        Assert.Equal([5L, 64], shape);
    }

    [Fact]
    public void Tensor_Raw_IsTheStoredBytes()
    {
        string model = Model();
        byte[] stored;
        using (GgufFile file = GgufFile.Open(model))
        {
            stored = DequantData.Bytes(file, file.GetTensor("blk.0.w"));
        }

        string raw = _temp.File("w.bin");
        Assert.Equal(0, CliRunner.Run("tensor", model, "blk.0.w", "--as", "raw", "-o", raw).Code);
        Assert.Equal(stored, File.ReadAllBytes(raw));

        string npy = _temp.File("w-raw.npy");
        Assert.Equal(0, CliRunner.Run("tensor", model, "blk.0.w", "--as", "raw", "-o", npy).Code);
        byte[] bytes = File.ReadAllBytes(npy);
        var (descr, _, shape, offset) = ParseNpy(bytes);
        Assert.Equal("|u1", descr);
        Assert.Equal([2L, 3, 288], shape); // a 512-element q4_K row is 2 blocks of 144 bytes
        Assert.Equal(stored, bytes[offset..]);
    }

    [Fact]
    public void Tensor_UnknownName_FailsWithOneLine()
    {
        (int code, string stdout, string stderr) = CliRunner.Run("tensor", Model(), "nope", "-o", _temp.File("x.bin"));
        Assert.NotEqual(0, code);
        Assert.Empty(stdout);
        Assert.Equal("error: tensor 'nope' is not in", stderr.Trim()[..30]);
    }

    [Fact]
    public void Tensor_BadFormat_IsRejected()
    {
        (int code, _, string stderr) = CliRunner.Run("tensor", Model(), "norm", "--as", "f64", "-o", _temp.File("x.bin"));
        Assert.NotEqual(0, code);
        Assert.Contains("f64", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void BenchDequant_Json_HasOneRowPerTensor_WithTheIssuesFields()
    {
        string model = Model();

        (int code, string stdout, _) = CliRunner.Run("bench", "dequant", model, "--json");

        Assert.Equal(0, code);
        using JsonDocument json = JsonDocument.Parse(stdout);
        JsonElement[] rows = [.. json.RootElement.EnumerateArray()];
        Assert.Equal(["blk.0.w", "norm", "emb"], rows.Select(r => r.GetProperty("tensor").GetString()));
        foreach (JsonElement row in rows)
        {
            Assert.Equal(["tensor", "type", "elements", "median_ns_per_element", "ggml_median_ns_per_element", "ratio"], row.EnumerateObject().Select(p => p.Name));
            Assert.True(row.GetProperty("median_ns_per_element").GetDouble() > 0);
            JsonElement ggml = row.GetProperty("ggml_median_ns_per_element");
            JsonElement ratio = row.GetProperty("ratio");
            Assert.Equal(ggml.ValueKind, ratio.ValueKind);
            if (ggml.ValueKind == JsonValueKind.Number)
            {
                // ratio = ggml's time / ours (rounded to 3 digits; timings on a busy machine can be far apart).
                double expected = ggml.GetDouble() / row.GetProperty("median_ns_per_element").GetDouble();
                Assert.InRange(ratio.GetDouble(), expected - 0.0011 - (expected * 1e-4), expected + 0.0011 + (expected * 1e-4));
            }
        }

        Assert.Equal("q4_K", rows[0].GetProperty("type").GetString());
        Assert.Equal(3072, rows[0].GetProperty("elements").GetInt64());

        // F32 has no to_float in ggml: its baseline is null whether or not the library was found.
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("ggml_median_ns_per_element").ValueKind);
    }

    [Fact]
    public void BenchDequant_WithoutGgml_PrintsNullsAndANote()
    {
        string model = Model();
        string? before = Environment.GetEnvironmentVariable("GGUF_GGML_BASE");
        Environment.SetEnvironmentVariable("GGUF_GGML_BASE", "none");
        try
        {
            (int code, string stdout, string stderr) = CliRunner.Run("bench", "dequant", model, "--tensor", "emb", "--threads", "2", "--json");
            Assert.Equal(0, code);
            Assert.Contains("note: ggml baseline not measured", stderr, StringComparison.Ordinal);
            JsonElement row = Assert.Single(JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToArray());
            Assert.Equal("emb", row.GetProperty("tensor").GetString());
            Assert.Equal(JsonValueKind.Null, row.GetProperty("ggml_median_ns_per_element").ValueKind);
            Assert.Equal(JsonValueKind.Null, row.GetProperty("ratio").ValueKind);
        }
        finally
        {
            Environment.SetEnvironmentVariable("GGUF_GGML_BASE", before);
        }
    }

    [Fact]
    public void BenchDequant_UnknownTensor_Fails()
    {
        (int code, _, string stderr) = CliRunner.Run("bench", "dequant", Model(), "--tensor", "nope");
        Assert.NotEqual(0, code);
        Assert.Contains("'nope'", stderr, StringComparison.Ordinal);
    }
}
