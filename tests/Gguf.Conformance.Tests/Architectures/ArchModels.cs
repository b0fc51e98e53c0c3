using Gguf.Format;
using Gguf.LlamaCpp;
using Gguf.Model;
using System.Runtime.InteropServices;
using Gguf.Conformance.Models;
using Gguf.Conformance.Native;
using Gguf.Conformance.Support;

namespace Gguf.Conformance.Architectures;

/// <summary>A model description that tests mutate and write: its metadata and tensors, in order.</summary>
internal sealed class ArchModel
{
    public ArchModel(string name, string arch, List<KvSnapshot> metadata, List<TensorSpec> tensors)
    {
        Name = name;
        Arch = arch;
        Metadata = metadata;
        Tensors = tensors;
    }

    /// <summary>The variant's name (e.g. <c>llama-moe</c>).</summary>
    public string Name { get; }

    public string Arch { get; }

    public List<KvSnapshot> Metadata { get; }

    public List<TensorSpec> Tensors { get; }

    public ArchModel Clone() => new(Name, Arch, [.. Metadata], [.. Tensors]);

    public ArchModel WithoutTensor(string name)
    {
        var m = Clone();
        if (m.Tensors.RemoveAll(t => t.Name == name) != 1)
        {
            throw new InvalidOperationException($"{Name} has no tensor {name}");
        }

        return m;
    }

    public ArchModel WithTensor(string name, params long[] dims)
    {
        var m = Clone();
        m.Tensors.Add(ArchModels.Weights(new Random(name.Length), name, dims));
        return m;
    }

    public ArchModel Reshaped(string name, params long[] dims)
    {
        var m = Clone();
        int i = m.Tensors.FindIndex(t => t.Name == name);
        if (i < 0)
        {
            throw new InvalidOperationException($"{Name} has no tensor {name}");
        }

        m.Tensors[i] = ArchModels.Weights(new Random(i), name, dims);
        return m;
    }

    public ArchModel WithKv(KvSnapshot kv)
    {
        var m = Clone();
        int i = m.Metadata.FindIndex(k => k.KeyText == kv.KeyText);
        if (i < 0)
        {
            m.Metadata.Add(kv);
        }
        else
        {
            m.Metadata[i] = kv;
        }

        return m;
    }

    public ArchModel WithoutKv(string key)
    {
        var m = Clone();
        if (m.Metadata.RemoveAll(k => k.KeyText == key) != 1)
        {
            throw new InvalidOperationException($"{Name} has no key {key}");
        }

        return m;
    }

    public string Write(string path)
    {
        OurGguf.Write(path, Metadata, Tensors);
        return path;
    }
}

/// <summary>
/// Tiny models of every architecture llama.cpp loads and runs: 2 layers, width 128, 4 heads of 32 (2 key/value heads),
/// feed-forward 256, MoE variants with 4 experts (2 used), the SentencePiece vocabulary of <see cref="TinyModel"/>.
/// The tensor lists are written here by hand from llama.cpp's loader, independently of the library's manifest.
/// </summary>
internal static class ArchModels
{
    public const int E = 128;
    public const int Heads = 4;
    public const int KvHeads = 2;
    public const int HeadDim = E / Heads;
    public const int Kv = KvHeads * HeadDim;
    public const int Ff = 256;
    public const int Layers = 2;
    public const int Experts = 4;
    public const int ExpertsUsed = 2;
    public const int ExpertFf = 128;
    public const int Window = 32;

    public static readonly string[] Names = ["llama", "llama-moe", "qwen2", "qwen2moe", "qwen3", "qwen3moe", "phi3", "gemma2", "gemma3", "gpt-oss"];

    /// <summary>The variants' names as theory data.</summary>
    public static TheoryData<string> NameData => new(Names);

    /// <summary>Whether the long campaign runs (<c>GGUF_ARCH_CAMPAIGN=1</c>): every mutation and setting, not a sample.</summary>
    public static bool Campaign => Environment.GetEnvironmentVariable("GGUF_ARCH_CAMPAIGN") == "1";

    public static ArchModel Build(string name)
    {
        string arch = name == "llama-moe" ? "llama" : name;
        var rng = new Random(name.Sum(c => c));
        var tokenizer = TinyModel.Build("llama").Metadata.Where(k => k.KeyText.StartsWith("tokenizer.", StringComparison.Ordinal)).ToList();
        if (name == "phi3")
        {
            // llama.cpp's vocabulary loader looks phi3's end-of-turn token up by its text.
            AppendControlTokens(tokenizer, "<|end|>", "<|endoftext|>");
        }

        long vocab = (long)tokenizer.Single(k => k.KeyText == "tokenizer.ggml.tokens").Count;
        var kv = new List<KvSnapshot>
        {
            Support.Kv.Str("general.architecture", arch),
            Support.Kv.Str("general.name", $"arch-tiny-{name}"),
            Support.Kv.U32("general.file_type", 0),
            Support.Kv.U32($"{arch}.context_length", 512),
            Support.Kv.U32($"{arch}.embedding_length", E),
            Support.Kv.U32($"{arch}.block_count", Layers),
            Support.Kv.U32($"{arch}.feed_forward_length", Ff),
            Support.Kv.U32($"{arch}.attention.head_count", Heads),
            Support.Kv.U32($"{arch}.attention.head_count_kv", KvHeads),
            Support.Kv.F32($"{arch}.rope.freq_base", 10000f),
            Support.Kv.F32($"{arch}.attention.layer_norm_rms_epsilon", 1e-5f),
        };
        bool moe = name is "llama-moe" or "qwen2moe" or "qwen3moe" or "gpt-oss";
        if (moe)
        {
            kv.Add(Support.Kv.U32($"{arch}.expert_count", Experts));
            kv.Add(Support.Kv.U32($"{arch}.expert_used_count", ExpertsUsed));
        }

        if (name is "qwen2moe" or "qwen3moe" or "gpt-oss")
        {
            kv.Add(Support.Kv.U32($"{arch}.expert_feed_forward_length", ExpertFf));
        }

        if (name == "qwen2moe")
        {
            kv.Add(Support.Kv.U32($"{arch}.expert_shared_feed_forward_length", Ff));
        }

        if (name is "gemma2" or "gemma3" or "gpt-oss")
        {
            kv.Add(Support.Kv.U32($"{arch}.attention.sliding_window", Window));
        }

        if (name == "gemma2")
        {
            kv.Add(Support.Kv.F32($"{arch}.attn_logit_softcapping", 50f));
            kv.Add(Support.Kv.F32($"{arch}.final_logit_softcapping", 30f));
        }

        if (arch == "llama")
        {
            kv.Add(Support.Kv.U32("llama.rope.dimension_count", HeadDim));
            kv.Add(Support.Kv.U32("llama.vocab_size", (uint)vocab));
        }

        kv.AddRange(tokenizer);

        var t = new List<TensorSpec> { Weights(rng, "token_embd.weight", E, vocab), Ones("output_norm.weight", E) };
        if (name != "gemma2")
        {
            t.Add(Weights(rng, "output.weight", E, vocab));
        }

        for (int l = 0; l < Layers; l++)
        {
            string b = $"blk.{l}.";
            t.Add(Ones(b + "attn_norm.weight", E));
            if (name == "phi3")
            {
                t.Add(Weights(rng, b + "attn_qkv.weight", E, E + (2 * Kv)));
            }
            else
            {
                t.Add(Weights(rng, b + "attn_q.weight", E, E));
                t.Add(Weights(rng, b + "attn_k.weight", E, Kv));
                t.Add(Weights(rng, b + "attn_v.weight", E, Kv));
            }

            t.Add(Weights(rng, b + "attn_output.weight", E, E));
            if (name is "qwen2" or "qwen2moe" or "gpt-oss")
            {
                t.Add(Weights(rng, b + "attn_q.bias", E));
                t.Add(Weights(rng, b + "attn_k.bias", Kv));
                t.Add(Weights(rng, b + "attn_v.bias", Kv));
            }

            if (name == "gpt-oss")
            {
                t.Add(Weights(rng, b + "attn_output.bias", E));
                t.Add(Weights(rng, b + "attn_sinks.weight", Heads));
                t.Add(Ones(b + "post_attention_norm.weight", E));
            }
            else
            {
                t.Add(Ones(b + "ffn_norm.weight", E));
            }

            if (name is "qwen3" or "qwen3moe" or "gemma3")
            {
                t.Add(Ones(b + "attn_q_norm.weight", HeadDim));
                t.Add(Ones(b + "attn_k_norm.weight", HeadDim));
            }

            if (name is "gemma2" or "gemma3")
            {
                t.Add(Ones(b + "post_attention_norm.weight", E));
                t.Add(Ones(b + "post_ffw_norm.weight", E));
            }

            switch (name)
            {
                case "phi3":
                    t.Add(Weights(rng, b + "ffn_up.weight", E, 2 * Ff));
                    t.Add(Weights(rng, b + "ffn_down.weight", Ff, E));
                    break;
                case "llama-moe":
                    t.Add(Weights(rng, b + "ffn_gate_inp.weight", E, Experts));
                    Experts3(t, rng, b, Ff);
                    break;
                case "qwen2moe" or "qwen3moe" or "gpt-oss":
                    t.Add(Weights(rng, b + "ffn_gate_inp.weight", E, Experts));
                    Experts3(t, rng, b, ExpertFf);
                    if (name == "qwen2moe")
                    {
                        t.Add(Weights(rng, b + "ffn_gate_inp_shexp.weight", E));
                        t.Add(Weights(rng, b + "ffn_gate_shexp.weight", E, Ff));
                        t.Add(Weights(rng, b + "ffn_up_shexp.weight", E, Ff));
                        t.Add(Weights(rng, b + "ffn_down_shexp.weight", Ff, E));
                    }

                    if (name == "gpt-oss")
                    {
                        t.Add(Weights(rng, b + "ffn_gate_inp.bias", Experts));
                        t.Add(Weights(rng, b + "ffn_gate_exps.bias", ExpertFf, Experts));
                        t.Add(Weights(rng, b + "ffn_up_exps.bias", ExpertFf, Experts));
                        t.Add(Weights(rng, b + "ffn_down_exps.bias", E, Experts));
                    }

                    break;
                default:
                    t.Add(Weights(rng, b + "ffn_gate.weight", E, Ff));
                    t.Add(Weights(rng, b + "ffn_up.weight", E, Ff));
                    t.Add(Weights(rng, b + "ffn_down.weight", Ff, E));
                    break;
            }
        }

        return new ArchModel(name, arch, kv, t);
    }

    private static void AppendControlTokens(List<KvSnapshot> tokenizer, params string[] extra)
    {
        int Find(string key) => tokenizer.FindIndex(k => k.KeyText == key);
        int ti = Find("tokenizer.ggml.tokens"), si = Find("tokenizer.ggml.scores"), yi = Find("tokenizer.ggml.token_type");
        var tokens = tokenizer[ti].Strings!.Select(b => System.Text.Encoding.UTF8.GetString(b)).Concat(extra).ToList();
        var scores = MemoryMarshal.Cast<byte, float>(tokenizer[si].Raw).ToArray().Concat(extra.Select(_ => 0f)).ToList();
        var types = MemoryMarshal.Cast<byte, int>(tokenizer[yi].Raw).ToArray().Concat(extra.Select(_ => 3)).ToList();
        tokenizer[ti] = Support.Kv.Strings("tokenizer.ggml.tokens", tokens);
        tokenizer[si] = Support.Kv.F32s("tokenizer.ggml.scores", scores);
        tokenizer[yi] = Support.Kv.I32s("tokenizer.ggml.token_type", types);
    }

    private static void Experts3(List<TensorSpec> t, Random rng, string b, int ff)
    {
        t.Add(Weights(rng, b + "ffn_gate_exps.weight", E, ff, Experts));
        t.Add(Weights(rng, b + "ffn_up_exps.weight", E, ff, Experts));
        t.Add(Weights(rng, b + "ffn_down_exps.weight", ff, E, Experts));
    }

    public static TensorSpec Weights(Random rng, string name, params long[] dims)
    {
        var values = new float[dims.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((rng.NextDouble() - 0.5) * 0.1);
        }

        return new TensorSpec(name, 0, dims, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }

    private static TensorSpec Ones(string name, long n)
    {
        var values = Enumerable.Repeat(1f, (int)n).ToArray();
        return new TensorSpec(name, 0, [n], MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }
}
