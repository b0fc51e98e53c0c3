using Gguf.Conformance.Models;
using Gguf.LlamaCpp;
using Gguf.Testing;
using Gguf.Conformance.Support;

namespace Gguf.Conformance.Quantization;

/// <summary>
/// Issue 11, bit-exactness on real files: tiny llama and qwen2 models written by our writer, quantized by
/// llama.cpp's <c>llama_model_quantize</c> into every file type it writes without an importance matrix;
/// every tensor of every result decodes to the same float bits as ggml's <c>to_float</c> gives.
/// The files hold f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K…q6_K, iq3_s, iq4_nl, iq4_xs, tq1_0, tq2_0,
/// q1_0 and q2_0. The i-quants that need an importance matrix (IQ2_*, IQ3_XXS, IQ1_*), and the types this
/// build's quantizer does not write as a file type (MXFP4 outside MoE experts, NVFP4) are covered by
/// random and ggml-quantized blocks (<see cref="DequantizeBlocksTests"/>).
/// </summary>
public sealed class QuantizedModelDequantTests(TinyModelFixture models) : IClassFixture<TinyModelFixture>
{
    /// <summary>llama_ftype values (llama.h) that this build quantizes to without an importance matrix.</summary>
    private static readonly (string Name, int Ftype)[] FileTypes =
    [
        ("F16", 1), ("BF16", 32), ("Q8_0", 7), ("Q4_0", 2), ("Q4_1", 3), ("Q5_0", 8), ("Q5_1", 9),
        ("Q2_K", 10), ("Q3_K_S", 11), ("Q3_K_M", 12), ("Q3_K_L", 13), ("Q4_K_S", 14), ("Q4_K_M", 15),
        ("Q5_K_S", 16), ("Q5_K_M", 17), ("Q6_K", 18), ("IQ3_S", 26), ("IQ3_M", 27),
        ("IQ4_NL", 25), ("IQ4_XS", 30), ("TQ1_0", 36), ("TQ2_0", 37), ("Q1_0", 40), ("Q2_0", 41),
    ];

    // qwen2 adds 1-D bias tensors; a few file types suffice for it.
    private static readonly string[] Qwen2FileTypes = ["F16", "Q8_0", "Q4_K_M", "IQ4_XS", "Q2_0"];

    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var (name, _) in FileTypes)
            {
                data.Add("llama", name);
            }

            foreach (string name in Qwen2FileTypes)
            {
                data.Add("qwen2", name);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryTensor_DecodesToGgmlsBits(string arch, string fileType)
    {
        Requires.LlamaCpp();
        int ftype = FileTypes.Single(f => f.Name == fileType).Ftype;
        string output = Path.Combine(models.Folder, $"dequant-{arch}-{fileType}.gguf");
        try
        {
            LlamaRunner.Quantize(models.Model(arch), output, (LlamaFtype)ftype);
            var (problems, types, tensors) = GgmlDequant.CompareFile(output);
            TestContext.Current.TestOutputHelper?.WriteLine($"{arch} {fileType}: {tensors} tensors of {string.Join(' ', types)}");
            Assert.True(problems.Count == 0, string.Join("\n", problems));
            Assert.Contains(types, t => t != "f32");
        }
        finally
        {
            File.Delete(output);
        }
    }
}
