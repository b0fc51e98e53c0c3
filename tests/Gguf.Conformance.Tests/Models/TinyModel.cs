using System.Runtime.InteropServices;
using Gguf.Conformance.Native;
using Gguf.Conformance.Support;

namespace Gguf.Conformance.Models;

/// <summary>
/// A tiny but complete model of a llama.cpp architecture: 2 layers, embedding width 256 (a multiple of the
/// k-quant block), every tensor and hyperparameter key the architecture needs, and a SentencePiece-style
/// tokenizer with byte fallback so any prompt tokenizes. Weights are small random F32 values from a seed.
/// </summary>
internal static class TinyModel
{
    public const int Embedding = 256;
    public const int FeedForward = 512;
    public const int Layers = 2;
    public const int Heads = 4;
    public const int KvHeads = 2;
    public const int HeadDim = Embedding / Heads;
    public const int KvWidth = KvHeads * HeadDim;

    public static readonly string[] Architectures = ["llama", "qwen2"];

    /// <summary>Builds the metadata and tensors of a tiny model of <paramref name="arch"/>.</summary>
    public static (List<KvSnapshot> Metadata, List<TensorSpec> Tensors) Build(string arch, int seed = 1)
    {
        var (tokens, scores, types) = Vocabulary();
        var kvs = new List<KvSnapshot>
        {
            Kv.Str("general.architecture", arch),
            Kv.Str("general.name", $"conformance-tiny-{arch}"),
            Kv.U32("general.file_type", 0), // LLAMA_FTYPE_ALL_F32
            Kv.U32($"{arch}.context_length", 256),
            Kv.U32($"{arch}.embedding_length", Embedding),
            Kv.U32($"{arch}.block_count", Layers),
            Kv.U32($"{arch}.feed_forward_length", FeedForward),
            Kv.U32($"{arch}.attention.head_count", Heads),
            Kv.U32($"{arch}.attention.head_count_kv", KvHeads),
            Kv.F32($"{arch}.rope.freq_base", 10000f),
            Kv.F32($"{arch}.attention.layer_norm_rms_epsilon", 1e-5f),
        };
        if (arch == "llama")
        {
            kvs.Add(Kv.U32("llama.rope.dimension_count", HeadDim));
            kvs.Add(Kv.U32("llama.vocab_size", (uint)tokens.Count));
        }

        kvs.Add(Kv.Str("tokenizer.ggml.model", "llama"));
        kvs.Add(Kv.Strings("tokenizer.ggml.tokens", tokens));
        kvs.Add(Kv.F32s("tokenizer.ggml.scores", scores));
        kvs.Add(Kv.I32s("tokenizer.ggml.token_type", types));
        kvs.Add(Kv.U32("tokenizer.ggml.unknown_token_id", 0));
        kvs.Add(Kv.U32("tokenizer.ggml.bos_token_id", 1));
        kvs.Add(Kv.U32("tokenizer.ggml.eos_token_id", 2));
        kvs.Add(Kv.Bool("tokenizer.ggml.add_bos_token", true));
        kvs.Add(Kv.Bool("tokenizer.ggml.add_eos_token", false));

        var rng = new Random(seed);
        int vocab = tokens.Count;
        var tensors = new List<TensorSpec>
        {
            Weights(rng, "token_embd.weight", Embedding, vocab),
            Ones("output_norm.weight", Embedding),
            Weights(rng, "output.weight", Embedding, vocab),
        };
        for (int l = 0; l < Layers; l++)
        {
            string b = $"blk.{l}.";
            tensors.Add(Ones(b + "attn_norm.weight", Embedding));
            tensors.Add(Weights(rng, b + "attn_q.weight", Embedding, Embedding));
            tensors.Add(Weights(rng, b + "attn_k.weight", Embedding, KvWidth));
            tensors.Add(Weights(rng, b + "attn_v.weight", Embedding, KvWidth));
            if (arch == "qwen2")
            {
                tensors.Add(Weights(rng, b + "attn_q.bias", Embedding));
                tensors.Add(Weights(rng, b + "attn_k.bias", KvWidth));
                tensors.Add(Weights(rng, b + "attn_v.bias", KvWidth));
            }

            tensors.Add(Weights(rng, b + "attn_output.weight", Embedding, Embedding));
            tensors.Add(Ones(b + "ffn_norm.weight", Embedding));
            tensors.Add(Weights(rng, b + "ffn_gate.weight", Embedding, FeedForward));
            tensors.Add(Weights(rng, b + "ffn_down.weight", FeedForward, Embedding));
            tensors.Add(Weights(rng, b + "ffn_up.weight", Embedding, FeedForward));
        }

        return (kvs, tensors);
    }

    /// <summary>&lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256 byte tokens, then pieces and words with scores that favour longer merges.</summary>
    private static (List<string> Tokens, List<float> Scores, List<int> Types) Vocabulary()
    {
        const int Normal = 1, Unknown = 2, Control = 3, Byte = 6;
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { Unknown, Control, Control };
        var scores = new List<float> { 0, 0, 0 };
        for (int b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(Byte);
            scores.Add(0);
        }

        var pieces = new List<string> { "▁" };
        pieces.AddRange("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?".Select(c => c.ToString()));
        pieces.AddRange(["▁t", "▁a", "he", "ll", "or", "▁the", "▁Hello", "▁hello", "▁world", "▁model", "▁tiny", "▁is", "▁a"]);
        foreach (string p in pieces.Distinct())
        {
            tokens.Add(p);
            types.Add(Normal);
            scores.Add(-1000f + p.Length); // SPM merges the highest-scoring pair first
        }

        return (tokens, scores, types);
    }

    private static TensorSpec Weights(Random rng, string name, params long[] dims)
    {
        var values = new float[dims.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((rng.NextDouble() - 0.5) * 0.08);
        }

        return new TensorSpec(name, 0, dims, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }

    private static TensorSpec Ones(string name, long n)
    {
        var values = Enumerable.Repeat(1f, (int)n).ToArray();
        return new TensorSpec(name, 0, [n], MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }
}
