using Gguf.Conformance.Native;
using Gguf.Conformance.Support;
using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;

namespace Gguf.Conformance.Models;

/// <summary>
/// A tiny but complete model of a llama.cpp architecture: 2 layers, embedding width 256 (a multiple of the
/// k-quant block, so every quantization applies), every tensor and hyperparameter key the architecture needs,
/// and a SentencePiece tokenizer with byte fallback so any prompt tokenizes. Weights are small random F32 values.
/// </summary>
internal static class TinyModel
{
    public static readonly string[] Architectures = ["llama", "qwen2"];

    /// <summary>The model of <paramref name="arch"/> (qwen2 adds q, k and v biases).</summary>
    public static ModelSpec Spec(string arch) => new()
    {
        Architecture = arch,
        Name = $"conformance-tiny-{arch}",
        FileType = 0, // LLAMA_FTYPE_ALL_F32
        Embedding = 256,
        FeedForward = 512,
        Layers = 2,
        Heads = 4,
        KvHeads = 2,
        EmbeddingType = GgmlType.F32,
        AttentionType = GgmlType.F32,
        FeedForwardType = GgmlType.F32,
        NormType = GgmlType.F32,
        OutputType = GgmlType.F32,
        AttentionBias = arch == "qwen2",
        Seed = 1,
    };

    /// <summary>
    /// The model of <paramref name="arch"/> as our reader sees it (keys and tensor infos as snapshots), for tests that
    /// take parts of it into files they write with llama.cpp's writer.
    /// </summary>
    public static GgufSnapshot Build(string arch)
    {
        using var dir = new TempDirectory("gguf-conf-tiny");
        return OurGguf.Read(ModelGenerator.Build(Spec(arch)).WriteTo(dir.File("tiny.gguf")), withData: false);
    }

    /// <summary>
    /// The model of <paramref name="arch"/> as metadata and tensors (with their bytes) that tests can change and write
    /// again with either writer.
    /// </summary>
    public static (List<KvSnapshot> Metadata, List<TensorSpec> Tensors) BuildParts(string arch)
    {
        using var dir = new TempDirectory("gguf-conf-tiny");
        GgufSnapshot model = OurGguf.Read(ModelGenerator.Build(Spec(arch)).WriteTo(dir.File("tiny.gguf")), withData: true);
        return ([.. model.Metadata], [.. model.Tensors.Select(t => new TensorSpec(t.NameText, t.Type, t.Ne, t.Data!))]);
    }
}
