using System.Buffers.Binary;
using Gguf.Format;
using Gguf.Model;
using Gguf.Writing;

namespace Gguf.Tests.Support;

/// <summary>
/// Generates samples/tiny-llama.gguf: a complete two-layer llama-architecture model with a SentencePiece
/// vocabulary (byte tokens included) and seeded random weights in F32, F16, Q8_0 and Q4_0. It is tiny
/// (about 120 KB) and deterministic, so the committed file can be checked against this generator.
/// </summary>
public static class SampleModel
{
    public const int Embedding = 64;
    public const int Heads = 4;
    public const int KvHeads = 2;
    public const int FeedForward = 128;
    public const int Layers = 2;

    public static GgufWriter Build(int seed = 20261126)
    {
        var random = new Random(seed);
        List<string> tokens = ["<unk>", "<s>", "</s>"];
        List<int> types = [2, 3, 3];
        for (int b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(6);
        }

        string[] pieces = ["▁", "▁the", "▁a", "▁model", "▁loads", "▁fast", "e", "t", "a", "o", "i", "n", "s", "r", "h", "l", "d", "▁is", "▁of", "▁and", "▁to", "▁in", "▁it", "ing", "ed", "er", "▁GGUF", "▁file", "▁tensor", "▁mmap", "▁hello", "▁world"];
        foreach (string piece in pieces)
        {
            tokens.Add(piece);
            types.Add(1);
        }

        // Pad the vocabulary to a multiple of 32 with plain pieces.
        while (tokens.Count % 32 != 0)
        {
            tokens.Add($"▁w{tokens.Count}");
            types.Add(1);
        }

        int vocab = tokens.Count;
        float[] scores = tokens.Select((_, i) => i < 259 ? 0f : -(float)(i - 259)).ToArray();

        var w = new GgufWriter();
        w.AddMetadata(GgufKeys.Architecture, GgufValue.String("llama"));
        w.AddMetadata(GgufKeys.Name, GgufValue.String("tiny-llama sample"));
        w.AddMetadata(GgufKeys.FileType, GgufValue.UInt32(7));
        w.AddMetadata(GgufKeys.QuantizationVersion, GgufValue.UInt32(2));
        w.AddMetadata("llama.context_length", GgufValue.UInt32(256));
        w.AddMetadata("llama.embedding_length", GgufValue.UInt32(Embedding));
        w.AddMetadata("llama.block_count", GgufValue.UInt32(Layers));
        w.AddMetadata("llama.feed_forward_length", GgufValue.UInt32(FeedForward));
        w.AddMetadata("llama.attention.head_count", GgufValue.UInt32(Heads));
        w.AddMetadata("llama.attention.head_count_kv", GgufValue.UInt32(KvHeads));
        w.AddMetadata("llama.rope.dimension_count", GgufValue.UInt32(Embedding / Heads));
        w.AddMetadata("llama.rope.freq_base", GgufValue.Float32(10000f));
        w.AddMetadata("llama.attention.layer_norm_rms_epsilon", GgufValue.Float32(1e-5f));
        w.AddMetadata("llama.vocab_size", GgufValue.UInt32((uint)vocab));
        w.AddMetadata(GgufKeys.TokenizerModel, GgufValue.String("llama"));
        w.AddMetadata(GgufKeys.TokenizerPre, GgufValue.String("default"));
        w.AddMetadata(GgufKeys.TokenizerTokens, GgufValue.FromStrings(tokens));
        w.AddMetadata(GgufKeys.TokenizerScores, GgufValue.FromArray(scores));
        w.AddMetadata(GgufKeys.TokenizerTokenType, GgufValue.FromArray(types.ToArray()));
        w.AddMetadata(GgufKeys.TokenizerBosId, GgufValue.UInt32(1));
        w.AddMetadata(GgufKeys.TokenizerEosId, GgufValue.UInt32(2));
        w.AddMetadata("tokenizer.ggml.unknown_token_id", GgufValue.UInt32(0));
        w.AddMetadata("tokenizer.ggml.add_bos_token", GgufValue.Bool(true));

        int kv = Embedding / Heads * KvHeads;
        Add(w, random, "token_embd.weight", GgmlType.Q8_0, Embedding, vocab);
        for (int layer = 0; layer < Layers; layer++)
        {
            string p = $"blk.{layer}.";
            Add(w, random, p + "attn_norm.weight", GgmlType.F32, Embedding);
            Add(w, random, p + "attn_q.weight", GgmlType.Q8_0, Embedding, Embedding);
            Add(w, random, p + "attn_k.weight", GgmlType.Q8_0, Embedding, kv);
            Add(w, random, p + "attn_v.weight", GgmlType.Q8_0, Embedding, kv);
            Add(w, random, p + "attn_output.weight", GgmlType.Q8_0, Embedding, Embedding);
            Add(w, random, p + "ffn_norm.weight", GgmlType.F32, Embedding);
            Add(w, random, p + "ffn_gate.weight", GgmlType.Q4_0, Embedding, FeedForward);
            Add(w, random, p + "ffn_down.weight", GgmlType.Q4_0, FeedForward, Embedding);
            Add(w, random, p + "ffn_up.weight", GgmlType.Q4_0, Embedding, FeedForward);
        }

        Add(w, random, "output_norm.weight", GgmlType.F32, Embedding);
        Add(w, random, "output.weight", GgmlType.F16, Embedding, vocab);
        return w;
    }

    private static void Add(GgufWriter w, Random random, string name, GgmlType type, params long[] shape)
    {
        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        info.TryGetByteSize(shape, out long size);
        var data = new byte[size];
        switch (type)
        {
            case GgmlType.F32:
                // Norm weights: ones, like a freshly initialised RMSNorm.
                for (int i = 0; i < data.Length; i += 4)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i), 1f);
                }

                break;
            case GgmlType.F16:
                for (int i = 0; i < data.Length; i += 2)
                {
                    BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(i), (Half)((random.NextSingle() - 0.5f) * 0.1f));
                }

                break;
            default:
                // Q8_0 and Q4_0 blocks: an fp16 scale followed by random quants.
                random.NextBytes(data);
                for (int block = 0; block < data.Length; block += info.BytesPerBlock)
                {
                    BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(block), (Half)(type == GgmlType.Q8_0 ? 0.0005f : 0.004f));
                }

                break;
        }

        w.AddTensor(name, type, shape, data);
    }
}
