using System.Buffers.Binary;
using Gguf.Format;
using Gguf.Model;
using Gguf.Writing;

namespace Gguf.Testing;

/// <summary>The tokenizer a generated model carries.</summary>
public enum ModelVocabulary
{
    /// <summary>No tokenizer keys (then <see cref="ModelSpec.Tensors"/> must be given).</summary>
    None,

    /// <summary>
    /// A SentencePiece ("llama") vocabulary: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256 byte tokens (so any text
    /// tokenizes), a few dozen English pieces, padded with plain pieces to a multiple of 32 tokens.
    /// </summary>
    SentencePiece,

    /// <summary><see cref="ModelSpec.VocabularySize"/> tokens named &lt;t0&gt;, &lt;t1&gt;, … (SentencePiece model, no byte tokens).</summary>
    Numbered,
}

/// <summary>How tensor bytes are filled, from <see cref="ModelSpec.Seed"/>.</summary>
public enum WeightFill
{
    /// <summary>
    /// Values a model could hold: norms are ones, F32 weights small random floats, F16 and BF16 small random
    /// halves, quantized blocks random quants under a small fp16 scale, other types random bytes.
    /// </summary>
    Plausible,

    /// <summary>Random bytes (any bit pattern, NaNs included).</summary>
    RandomBytes,

    /// <summary>Zeros.</summary>
    Zeros,
}

/// <summary>A tensor to generate: name, type and shape (ne0 first).</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="Type">Its ggml type.</param>
/// <param name="Shape">Its dimensions, ne0 first.</param>
public sealed record ModelTensor(string Name, GgmlType Type, long[] Shape);

/// <summary>
/// What <see cref="ModelGenerator"/> writes. The defaults are samples/tiny-llama.gguf: a two-layer llama model of
/// width 64 with a SentencePiece vocabulary and plausible weights in Q8_0, Q4_0, F32 and F16.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>general.architecture, and the prefix of the hyperparameter keys.</summary>
    public string Architecture { get; init; } = "llama";

    /// <summary>general.name; null leaves it out.</summary>
    public string? Name { get; init; } = "tiny-llama sample";

    /// <summary>general.file_type (llama_ftype); null leaves it out.</summary>
    public uint? FileType { get; init; } = 7;

    /// <summary>general.quantization_version; null leaves it out.</summary>
    public uint? QuantizationVersion { get; init; } = 2;

    /// <summary>Whether the hyperparameter keys (<c>ARCH.context_length</c> …) are written.</summary>
    public bool Hyperparameters { get; init; } = true;

    /// <summary><c>ARCH.context_length</c>.</summary>
    public int ContextLength { get; init; } = 256;

    /// <summary>Transformer blocks (<c>ARCH.block_count</c>).</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Model width (<c>ARCH.embedding_length</c>): a multiple of every block type's block size used.</summary>
    public int Embedding { get; init; } = 64;

    /// <summary>Feed-forward width (<c>ARCH.feed_forward_length</c>).</summary>
    public int FeedForward { get; init; } = 128;

    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Key/value heads (grouped-query attention when fewer than <see cref="Heads"/>).</summary>
    public int KvHeads { get; init; } = 2;

    /// <summary>The tokenizer.</summary>
    public ModelVocabulary Vocabulary { get; init; } = ModelVocabulary.SentencePiece;

    /// <summary>The token count of <see cref="ModelVocabulary.Numbered"/>.</summary>
    public int VocabularySize { get; init; } = 64;

    /// <summary>The type of token_embd.weight.</summary>
    public GgmlType EmbeddingType { get; init; } = GgmlType.Q8_0;

    /// <summary>The type of the attention projections.</summary>
    public GgmlType AttentionType { get; init; } = GgmlType.Q8_0;

    /// <summary>The type of the feed-forward projections.</summary>
    public GgmlType FeedForwardType { get; init; } = GgmlType.Q4_0;

    /// <summary>The type of the norm weights (and of attention biases).</summary>
    public GgmlType NormType { get; init; } = GgmlType.F32;

    /// <summary>The type of output.weight.</summary>
    public GgmlType OutputType { get; init; } = GgmlType.F16;

    /// <summary>Whether each block has q, k and v biases (qwen2 needs them).</summary>
    public bool AttentionBias { get; init; }

    /// <summary>How many zero-element tensors (shape [<see cref="Embedding"/>, 0]) to add after the others.</summary>
    public int ZeroElementTensors { get; init; }

    /// <summary>Tensors to write instead of the architecture's (with <see cref="WeightFill.Plausible"/> none counts as a norm).</summary>
    public IReadOnlyList<ModelTensor>? Tensors { get; init; }

    /// <summary>How tensor bytes are filled.</summary>
    public WeightFill Fill { get; init; } = WeightFill.Plausible;

    /// <summary>The seed of every random byte.</summary>
    public int Seed { get; init; } = 20261126;
}

/// <summary>A generated model: the writer that holds it and every tensor's bytes.</summary>
public sealed class GeneratedModel
{
    internal GeneratedModel(ModelSpec spec, GgufWriter writer, IReadOnlyList<(string Name, byte[] Bytes)> tensors, int vocabularySize)
    {
        Spec = spec;
        Writer = writer;
        Tensors = tensors;
        VocabularySize = vocabularySize;
    }

    /// <summary>What was generated.</summary>
    public ModelSpec Spec { get; }

    /// <summary>The writer holding the model (write it as often as needed).</summary>
    public GgufWriter Writer { get; }

    /// <summary>Every tensor's name and bytes, in file order.</summary>
    public IReadOnlyList<(string Name, byte[] Bytes)> Tensors { get; }

    /// <summary>The number of tokens of the vocabulary (0 without one).</summary>
    public int VocabularySize { get; }

    /// <summary>The sum of the tensors' sizes.</summary>
    public long TensorBytes => Tensors.Sum(t => (long)t.Bytes.Length);

    /// <summary>The bytes of the tensor named <paramref name="name"/>.</summary>
    public byte[] BytesOf(string name) => Tensors.First(t => t.Name == name).Bytes;

    /// <summary>The file's bytes.</summary>
    public byte[] ToBytes() => Writer.ToBytes();

    /// <summary>Writes the file to <paramref name="path"/> and returns the path.</summary>
    public string WriteTo(string path)
    {
        Writer.WriteTo(path);
        return path;
    }
}

/// <summary>
/// Writes small, deterministic models with our <see cref="GgufWriter"/>: the committed sample, the tiny models
/// llama.cpp loads and quantizes in the conformance tests, fuzz seeds, loader inputs of awkward sizes.
/// </summary>
public static class ModelGenerator
{
    private const int TokenNormal = 1;
    private const int TokenUnknown = 2;
    private const int TokenControl = 3;
    private const int TokenByte = 6;

    private static readonly string[] SamplePieces =
    [
        "▁", "▁the", "▁a", "▁model", "▁loads", "▁fast", "e", "t", "a", "o", "i", "n", "s", "r", "h", "l", "d", "▁is",
        "▁of", "▁and", "▁to", "▁in", "▁it", "ing", "ed", "er", "▁GGUF", "▁file", "▁tensor", "▁mmap", "▁hello", "▁world",
    ];

    /// <summary>Generates the model <paramref name="spec"/> describes.</summary>
    public static GeneratedModel Build(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var random = new Random(spec.Seed);
        var writer = new GgufWriter();
        string arch = spec.Architecture;
        writer.AddMetadata(GgufKeys.Architecture, GgufValue.String(arch));
        if (spec.Name is not null)
        {
            writer.AddMetadata(GgufKeys.Name, GgufValue.String(spec.Name));
        }

        if (spec.FileType is uint fileType)
        {
            writer.AddMetadata(GgufKeys.FileType, GgufValue.UInt32(fileType));
        }

        if (spec.QuantizationVersion is uint quantizationVersion)
        {
            writer.AddMetadata(GgufKeys.QuantizationVersion, GgufValue.UInt32(quantizationVersion));
        }

        (List<string> tokens, List<float> scores, List<int> types) = Vocabulary(spec);
        int vocab = tokens.Count;
        if (spec.Hyperparameters)
        {
            writer.AddMetadata($"{arch}.context_length", GgufValue.UInt32((uint)spec.ContextLength));
            writer.AddMetadata($"{arch}.embedding_length", GgufValue.UInt32((uint)spec.Embedding));
            writer.AddMetadata($"{arch}.block_count", GgufValue.UInt32((uint)spec.Layers));
            writer.AddMetadata($"{arch}.feed_forward_length", GgufValue.UInt32((uint)spec.FeedForward));
            writer.AddMetadata($"{arch}.attention.head_count", GgufValue.UInt32((uint)spec.Heads));
            writer.AddMetadata($"{arch}.attention.head_count_kv", GgufValue.UInt32((uint)spec.KvHeads));
            writer.AddMetadata($"{arch}.rope.dimension_count", GgufValue.UInt32((uint)(spec.Embedding / spec.Heads)));
            writer.AddMetadata($"{arch}.rope.freq_base", GgufValue.Float32(10000f));
            writer.AddMetadata($"{arch}.attention.layer_norm_rms_epsilon", GgufValue.Float32(1e-5f));
            if (vocab > 0)
            {
                writer.AddMetadata($"{arch}.vocab_size", GgufValue.UInt32((uint)vocab));
            }
        }

        if (vocab > 0)
        {
            writer.AddMetadata(GgufKeys.TokenizerModel, GgufValue.String("llama"));
            writer.AddMetadata(GgufKeys.TokenizerPre, GgufValue.String("default"));
            writer.AddMetadata(GgufKeys.TokenizerTokens, GgufValue.FromStrings(tokens));
            writer.AddMetadata(GgufKeys.TokenizerScores, GgufValue.FromArray(scores.ToArray()));
            writer.AddMetadata(GgufKeys.TokenizerTokenType, GgufValue.FromArray(types.ToArray()));
            writer.AddMetadata(GgufKeys.TokenizerBosId, GgufValue.UInt32(1));
            writer.AddMetadata(GgufKeys.TokenizerEosId, GgufValue.UInt32(2));
            writer.AddMetadata("tokenizer.ggml.unknown_token_id", GgufValue.UInt32(0));
            writer.AddMetadata("tokenizer.ggml.add_bos_token", GgufValue.Bool(true));
        }

        var written = new List<(string, byte[])>();
        foreach ((ModelTensor tensor, bool norm) in spec.Tensors is { } given ? given.Select(t => (t, false)) : ArchitectureTensors(spec, vocab))
        {
            if (!GgmlTypeInfo.Get(tensor.Type).TryGetByteSize(tensor.Shape, out long size))
            {
                throw new ArgumentException($"tensor '{tensor.Name}': shape [{string.Join(", ", tensor.Shape)}] does not fit {tensor.Type}", nameof(spec));
            }

            byte[] data = new byte[size];
            Fill(data, tensor.Type, norm, spec.Fill, random);
            writer.AddTensor(tensor.Name, tensor.Type, tensor.Shape, data);
            written.Add((tensor.Name, data));
        }

        for (int i = 0; i < spec.ZeroElementTensors; i++)
        {
            writer.AddTensor($"zero.{i}.weight", spec.NormType, [spec.Embedding, 0], Array.Empty<byte>());
            written.Add(($"zero.{i}.weight", []));
        }

        return new GeneratedModel(spec, writer, written, vocab);
    }

    /// <summary>token_embd, each block's attention and feed-forward, output_norm, output; each flagged when it is a norm.</summary>
    private static IEnumerable<(ModelTensor Tensor, bool Norm)> ArchitectureTensors(ModelSpec spec, int vocab)
    {
        if (vocab == 0)
        {
            throw new ArgumentException("an architecture's tensors need a vocabulary; give Tensors instead", nameof(spec));
        }

        int embedding = spec.Embedding;
        int kvWidth = spec.Embedding / spec.Heads * spec.KvHeads;
        yield return (new ModelTensor("token_embd.weight", spec.EmbeddingType, [embedding, vocab]), false);
        for (int layer = 0; layer < spec.Layers; layer++)
        {
            string b = $"blk.{layer}.";
            yield return (new ModelTensor(b + "attn_norm.weight", spec.NormType, [embedding]), true);
            yield return (new ModelTensor(b + "attn_q.weight", spec.AttentionType, [embedding, embedding]), false);
            yield return (new ModelTensor(b + "attn_k.weight", spec.AttentionType, [embedding, kvWidth]), false);
            yield return (new ModelTensor(b + "attn_v.weight", spec.AttentionType, [embedding, kvWidth]), false);
            if (spec.AttentionBias)
            {
                yield return (new ModelTensor(b + "attn_q.bias", spec.NormType, [embedding]), false);
                yield return (new ModelTensor(b + "attn_k.bias", spec.NormType, [kvWidth]), false);
                yield return (new ModelTensor(b + "attn_v.bias", spec.NormType, [kvWidth]), false);
            }

            yield return (new ModelTensor(b + "attn_output.weight", spec.AttentionType, [embedding, embedding]), false);
            yield return (new ModelTensor(b + "ffn_norm.weight", spec.NormType, [embedding]), true);
            yield return (new ModelTensor(b + "ffn_gate.weight", spec.FeedForwardType, [embedding, spec.FeedForward]), false);
            yield return (new ModelTensor(b + "ffn_down.weight", spec.FeedForwardType, [spec.FeedForward, embedding]), false);
            yield return (new ModelTensor(b + "ffn_up.weight", spec.FeedForwardType, [embedding, spec.FeedForward]), false);
        }

        yield return (new ModelTensor("output_norm.weight", spec.NormType, [embedding]), true);
        yield return (new ModelTensor("output.weight", spec.OutputType, [embedding, vocab]), false);
    }

    private static (List<string> Tokens, List<float> Scores, List<int> Types) Vocabulary(ModelSpec spec)
    {
        var tokens = new List<string>();
        var scores = new List<float>();
        var types = new List<int>();
        switch (spec.Vocabulary)
        {
            case ModelVocabulary.SentencePiece:
                tokens.AddRange(["<unk>", "<s>", "</s>"]);
                types.AddRange([TokenUnknown, TokenControl, TokenControl]);
                for (int b = 0; b < 256; b++)
                {
                    tokens.Add($"<0x{b:X2}>");
                    types.Add(TokenByte);
                }

                foreach (string piece in SamplePieces)
                {
                    tokens.Add(piece);
                    types.Add(TokenNormal);
                }

                // Pad the vocabulary to a multiple of 32 with plain pieces.
                while (tokens.Count % 32 != 0)
                {
                    tokens.Add($"▁w{tokens.Count}");
                    types.Add(TokenNormal);
                }

                // Control and byte tokens score 0; SentencePiece merges the best-scoring pair first.
                scores.AddRange(tokens.Select((_, i) => i < 259 ? 0f : -(float)(i - 259)));
                break;
            case ModelVocabulary.Numbered:
                for (int i = 0; i < spec.VocabularySize; i++)
                {
                    tokens.Add($"<t{i}>");
                    scores.Add(-(float)i);
                    types.Add(TokenNormal);
                }

                break;
        }

        return (tokens, scores, types);
    }

    private static void Fill(byte[] data, GgmlType type, bool norm, WeightFill fill, Random random)
    {
        if (fill == WeightFill.Zeros)
        {
            return;
        }

        if (fill == WeightFill.RandomBytes)
        {
            random.NextBytes(data);
            return;
        }

        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < data.Length; i += 4)
                {
                    // Norm weights: ones, like a freshly initialised RMSNorm.
                    BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i), norm ? 1f : (float)((random.NextDouble() - 0.5) * 0.08));
                }

                break;
            case GgmlType.F16:
                for (int i = 0; i < data.Length; i += 2)
                {
                    BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(i), norm ? Half.One : (Half)((random.NextSingle() - 0.5f) * 0.1f));
                }

                break;
            case GgmlType.BF16:
                for (int i = 0; i < data.Length; i += 2)
                {
                    float value = norm ? 1f : (random.NextSingle() - 0.5f) * 0.1f;
                    BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(i), (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16));
                }

                break;
            default:
                random.NextBytes(data);
                GgmlTypeInfo info = GgmlTypeInfo.Get(type);
                if (info.BlockSize > 1)
                {
                    // Quantized blocks: an fp16 scale first, then random quants.
                    for (int block = 0; block < data.Length; block += info.BytesPerBlock)
                    {
                        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(block), (Half)(type == GgmlType.Q8_0 ? 0.0005f : 0.004f));
                    }
                }

                break;
        }
    }
}
