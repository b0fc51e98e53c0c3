using Gguf.Format;
using Gguf.Model;
using Gguf.Writing;

namespace Gguf.Tests.Architectures;

/// <summary>
/// Writes small models of an architecture with our writer (F32 tensors of patterned bytes: these tests are about names, shapes,
/// keys and bytes, and llama.cpp's acceptance of the same layouts is tested in the conformance suite).
/// </summary>
internal sealed class ArchTestModel
{
    public const int E = 128;
    public const int Heads = 4;
    public const int KvHeads = 2;
    public const int HeadDim = E / Heads;
    public const int Ff = 128;
    public const int Vocab = 40;

    public string Arch { get; init; } = "llama";

    public int Layers { get; init; } = 2;

    public Dictionary<string, GgufValue> Keys { get; } = new(StringComparer.Ordinal);

    public List<(string Name, long[] Shape)> Tensors { get; } = [];

    public static ArchTestModel Llama(int layers = 2)
    {
        var m = new ArchTestModel { Arch = "llama", Layers = layers };
        m.Common();
        m.Keys["llama.rope.dimension_count"] = GgufValue.UInt32(HeadDim);
        m.Tensors.Add(("output.weight", [E, Vocab]));
        for (int l = 0; l < layers; l++)
        {
            m.Attention(l);
            m.Tensors.Add(($"blk.{l}.ffn_norm.weight", [E]));
            m.Tensors.Add(($"blk.{l}.ffn_gate.weight", [E, Ff]));
            m.Tensors.Add(($"blk.{l}.ffn_up.weight", [E, Ff]));
            m.Tensors.Add(($"blk.{l}.ffn_down.weight", [Ff, E]));
        }

        return m;
    }

    public static ArchTestModel Gemma2(int layers = 2)
    {
        var m = new ArchTestModel { Arch = "gemma2", Layers = layers };
        m.Common();
        m.Keys["gemma2.attention.sliding_window"] = GgufValue.UInt32(32);
        for (int l = 0; l < layers; l++)
        {
            m.Attention(l);
            m.Tensors.Add(($"blk.{l}.post_attention_norm.weight", [E]));
            m.Tensors.Add(($"blk.{l}.ffn_norm.weight", [E]));
            m.Tensors.Add(($"blk.{l}.ffn_gate.weight", [E, Ff]));
            m.Tensors.Add(($"blk.{l}.ffn_up.weight", [E, Ff]));
            m.Tensors.Add(($"blk.{l}.ffn_down.weight", [Ff, E]));
            m.Tensors.Add(($"blk.{l}.post_ffw_norm.weight", [E]));
        }

        return m;
    }

    public ArchTestModel Without(string tensor)
    {
        Tensors.RemoveAll(t => t.Name == tensor);
        return this;
    }

    public ArchTestModel With(string tensor, params long[] shape)
    {
        int i = Tensors.FindIndex(t => t.Name == tensor);
        if (i >= 0)
        {
            Tensors[i] = (tensor, shape);
        }
        else
        {
            Tensors.Add((tensor, shape));
        }

        return this;
    }

    public string Write(string path)
    {
        var w = new GgufWriter();
        w.AddMetadata("general.architecture", GgufValue.String(Arch));
        foreach ((string key, GgufValue value) in Keys)
        {
            w.AddMetadata(key, value);
        }

        foreach ((string name, long[] shape) in Tensors)
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            var data = new byte[n * 4];
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = (byte)((i * 31) + name.Length);
            }

            w.AddTensor(name, GgmlType.F32, shape, data);
        }

        w.WriteTo(path);
        return path;
    }

    private void Common()
    {
        string a = Arch;
        Keys[$"{a}.context_length"] = GgufValue.UInt32(1024);
        Keys[$"{a}.embedding_length"] = GgufValue.UInt32(E);
        Keys[$"{a}.block_count"] = GgufValue.UInt32((uint)Layers);
        Keys[$"{a}.feed_forward_length"] = GgufValue.UInt32(Ff);
        Keys[$"{a}.attention.head_count"] = GgufValue.UInt32(Heads);
        Keys[$"{a}.attention.head_count_kv"] = GgufValue.UInt32(KvHeads);
        Keys[$"{a}.attention.layer_norm_rms_epsilon"] = GgufValue.Float32(1e-6f);
        Keys["tokenizer.ggml.model"] = GgufValue.String("llama");
        Keys["tokenizer.ggml.tokens"] = GgufValue.FromStrings(Enumerable.Range(0, Vocab).Select(i => $"t{i}"));
        Tensors.Add(("token_embd.weight", [E, Vocab]));
        Tensors.Add(("output_norm.weight", [E]));
    }

    private void Attention(int l)
    {
        Tensors.Add(($"blk.{l}.attn_norm.weight", [E]));
        Tensors.Add(($"blk.{l}.attn_q.weight", [E, E]));
        Tensors.Add(($"blk.{l}.attn_k.weight", [E, KvHeads * HeadDim]));
        Tensors.Add(($"blk.{l}.attn_v.weight", [E, KvHeads * HeadDim]));
        Tensors.Add(($"blk.{l}.attn_output.weight", [E, E]));
    }
}
