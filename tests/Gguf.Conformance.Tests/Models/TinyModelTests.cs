using Gguf.Conformance.Native;
using Gguf.Conformance.Support;
using Gguf.LlamaCpp;
using Gguf.Testing;

namespace Gguf.Conformance.Models;

/// <summary>The tiny models, written once by our writer, shared by the tests of this class.</summary>
public sealed class TinyModelFixture : IDisposable
{
    private readonly TempDir dir = new("gguf-conf-models");
    private readonly Dictionary<string, string> paths = [];
    private readonly Lock gate = new();

    internal string Folder => dir.Path;

    /// <summary>The F32 model of <paramref name="arch"/>, written by <see cref="Gguf.Writing.GgufWriter"/>.</summary>
    internal string Model(string arch)
    {
        lock (gate)
        {
            if (!paths.TryGetValue(arch, out string? path))
            {
                var (kvs, tensors) = TinyModel.Build(arch);
                path = dir.File($"tiny-{arch}-f32.gguf");
                OurGguf.Write(path, kvs, tensors);
                paths[arch] = path;
            }

            return path;
        }
    }

    public void Dispose() => dir.Dispose();
}

/// <summary>
/// Issue item 3: tiny llama and qwen2 models built with our writer load and decode in llama.cpp; llama.cpp's
/// quantizer turns them into 12 formats, and we read every result exactly as llama.cpp's gguf reader does.
/// </summary>
public sealed class TinyModelTests(TinyModelFixture models) : IClassFixture<TinyModelFixture>
{
    private const string Prompt = "Hello world, the tiny model is a test.";

    public static TheoryData<string> Architectures => new(TinyModel.Architectures);

    public static TheoryData<string, string> Quantizations
    {
        get
        {
            var data = new TheoryData<string, string>();
            LlamaFtype[] ftypes =
            [
                LlamaFtype.MOSTLY_Q8_0, LlamaFtype.MOSTLY_Q4_0, LlamaFtype.MOSTLY_Q4_1, LlamaFtype.MOSTLY_Q5_0,
                LlamaFtype.MOSTLY_Q5_1, LlamaFtype.MOSTLY_Q2_K, LlamaFtype.MOSTLY_Q3_K_M, LlamaFtype.MOSTLY_Q4_K_M,
                LlamaFtype.MOSTLY_Q5_K_M, LlamaFtype.MOSTLY_Q6_K, LlamaFtype.MOSTLY_IQ4_NL, LlamaFtype.MOSTLY_IQ4_XS,
            ];
            foreach (string arch in TinyModel.Architectures)
            {
                foreach (var f in ftypes)
                {
                    data.Add(arch, f.ToString());
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void OurModel_LoadsTokenizesAndDecodes_InLlamaCpp(string arch)
    {
        Requires.LlamaCpp();
        string path = models.Model(arch);

        var result = LlamaRunner.Decode(path, Prompt);

        TestContext.Current.TestOutputHelper?.WriteLine($"{arch}: {result.Description}, {result.Tokens.Length} tokens: {string.Join(' ', result.Tokens)}");
        Assert.Equal(TinyModel.Build(arch).Metadata.Single(kv => kv.KeyText == "tokenizer.ggml.tokens").Count, (ulong)result.VocabSize);
        Assert.Equal(1, result.Tokens[0]); // BOS
        Assert.True(result.Tokens.Length >= 4);
        Assert.All(result.Logits, v => Assert.True(float.IsFinite(v)));
        Assert.True(result.Logits.Max() > result.Logits.Min(), "logits are not all equal");
    }

    [Theory]
    [MemberData(nameof(Quantizations))]
    public void LlamaCppQuantizes_WeReadEveryTensorAsLlamaCppDoes(string arch, string ftypeName)
    {
        var ftype = Enum.Parse<LlamaFtype>(ftypeName);
        Requires.LlamaCpp();
        string input = models.Model(arch);
        string output = Path.Combine(models.Folder, $"tiny-{arch}-{ftype}.gguf");

        LlamaRunner.Quantize(input, output, ftype);
        var native = NativeGgufReader.TryRead(output, withData: true, out string error);
        var ours = OurGguf.Read(output, withData: true);

        Assert.True(native is not null, error);
        Assert.Null(GgufSnapshot.FirstDifference(native, ours));
        Assert.All(native.Tensors, t => Assert.NotNull(t.Data));
        var types = ours.Tensors.Select(t => GgmlTypeTable.Name(t.Type)).Distinct().Order().ToArray();
        TestContext.Current.TestOutputHelper?.WriteLine($"{arch} {ftype}: {new FileInfo(output).Length} bytes, tensor types {string.Join(' ', types)}");
        Assert.Contains(ours.Tensors, t => t.Type != 0); // something was quantized

        // The quantized file is still a model llama.cpp runs.
        var result = LlamaRunner.Decode(output, Prompt);
        Assert.All(result.Logits, v => Assert.True(float.IsFinite(v)));
        File.Delete(output);
    }
}
