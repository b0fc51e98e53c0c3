using Gguf.Format;
using Gguf.Model;
namespace Gguf.Architectures;

/// <summary>What a tensor is in the model, independent of its name (llama.cpp's <c>llm_tensor</c>, with the suffix).</summary>
public enum TensorRole
{
    /// <summary><c>token_embd.weight</c>.</summary>
    TokenEmbedding,

    /// <summary><c>output_norm.weight</c>.</summary>
    OutputNorm,

    /// <summary><c>output.weight</c> (the token embeddings when tied).</summary>
    Output,

    /// <summary><c>rope_freqs.weight</c>: per-dimension rope frequency factors.</summary>
    RopeFrequencies,

    /// <summary><c>rope_factors_long.weight</c>.</summary>
    RopeFactorsLong,

    /// <summary><c>rope_factors_short.weight</c>.</summary>
    RopeFactorsShort,

    /// <summary><c>blk.N.attn_norm.weight</c>.</summary>
    AttentionNorm,

    /// <summary><c>blk.N.attn_q.weight</c>.</summary>
    AttentionQuery,

    /// <summary><c>blk.N.attn_k.weight</c>.</summary>
    AttentionKey,

    /// <summary><c>blk.N.attn_v.weight</c>.</summary>
    AttentionValue,

    /// <summary><c>blk.N.attn_qkv.weight</c>: query, key and value fused.</summary>
    AttentionQkv,

    /// <summary><c>blk.N.attn_output.weight</c>.</summary>
    AttentionOutput,

    /// <summary><c>blk.N.attn_q.bias</c>.</summary>
    AttentionQueryBias,

    /// <summary><c>blk.N.attn_k.bias</c>.</summary>
    AttentionKeyBias,

    /// <summary><c>blk.N.attn_v.bias</c>.</summary>
    AttentionValueBias,

    /// <summary><c>blk.N.attn_output.bias</c>.</summary>
    AttentionOutputBias,

    /// <summary><c>blk.N.attn_q_norm.weight</c>: per-head query norm.</summary>
    AttentionQueryNorm,

    /// <summary><c>blk.N.attn_k_norm.weight</c>: per-head key norm.</summary>
    AttentionKeyNorm,

    /// <summary><c>blk.N.post_attention_norm.weight</c>.</summary>
    AttentionPostNorm,

    /// <summary><c>blk.N.attn_sinks.weight</c>: one learned sink logit per head.</summary>
    AttentionSinks,

    /// <summary><c>blk.N.ffn_norm.weight</c>.</summary>
    FeedForwardNorm,

    /// <summary><c>blk.N.ffn_gate.weight</c>.</summary>
    FeedForwardGate,

    /// <summary><c>blk.N.ffn_up.weight</c>.</summary>
    FeedForwardUp,

    /// <summary><c>blk.N.ffn_down.weight</c>.</summary>
    FeedForwardDown,

    /// <summary><c>blk.N.ffn_gate.bias</c>.</summary>
    FeedForwardGateBias,

    /// <summary><c>blk.N.ffn_up.bias</c>.</summary>
    FeedForwardUpBias,

    /// <summary><c>blk.N.ffn_down.bias</c>.</summary>
    FeedForwardDownBias,

    /// <summary><c>blk.N.post_ffw_norm.weight</c>.</summary>
    FeedForwardPostNorm,

    /// <summary><c>blk.N.ffn_gate_inp.weight</c>: the expert router.</summary>
    ExpertRouter,

    /// <summary><c>blk.N.ffn_gate_inp.bias</c>.</summary>
    ExpertRouterBias,

    /// <summary><c>blk.N.ffn_gate_exps.weight</c>: all experts' gate projections.</summary>
    ExpertGate,

    /// <summary><c>blk.N.ffn_up_exps.weight</c>.</summary>
    ExpertUp,

    /// <summary><c>blk.N.ffn_down_exps.weight</c>.</summary>
    ExpertDown,

    /// <summary><c>blk.N.ffn_gate_exps.bias</c>.</summary>
    ExpertGateBias,

    /// <summary><c>blk.N.ffn_up_exps.bias</c>.</summary>
    ExpertUpBias,

    /// <summary><c>blk.N.ffn_down_exps.bias</c>.</summary>
    ExpertDownBias,

    /// <summary><c>blk.N.ffn_gate_inp_shexp.weight</c>: the shared expert's gate logit.</summary>
    SharedExpertRouter,

    /// <summary><c>blk.N.ffn_gate_shexp.weight</c>.</summary>
    SharedExpertGate,

    /// <summary><c>blk.N.ffn_up_shexp.weight</c>.</summary>
    SharedExpertUp,

    /// <summary><c>blk.N.ffn_down_shexp.weight</c>.</summary>
    SharedExpertDown,
}

/// <summary>Tensor names as llama.cpp spells them (<c>LLM_TENSOR_NAMES</c> plus the suffix).</summary>
public static class TensorNames
{
    private static readonly Dictionary<string, TensorRole> GlobalByName = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, TensorRole> LayerByStem = new(StringComparer.Ordinal);

    static TensorNames()
    {
        foreach (TensorRole role in Enum.GetValues<TensorRole>())
        {
            (string stem, string suffix, bool perLayer) = Parts(role);
            if (perLayer)
            {
                LayerByStem[stem + "." + suffix] = role;
            }
            else
            {
                GlobalByName[stem + "." + suffix] = role;
            }
        }
    }

    /// <summary>Whether tensors of this role belong to a layer (<c>blk.N.</c>).</summary>
    public static bool IsPerLayer(TensorRole role) => Parts(role).PerLayer;

    /// <summary>The name of a global tensor.</summary>
    public static string Of(TensorRole role)
    {
        (string stem, string suffix, bool perLayer) = Parts(role);
        return perLayer ? throw new ArgumentException($"{role} belongs to a layer; pass the layer", nameof(role)) : stem + "." + suffix;
    }

    /// <summary>The name of a layer's tensor, e.g. <c>blk.3.attn_q.weight</c>.</summary>
    public static string Of(TensorRole role, int layer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        (string stem, string suffix, bool perLayer) = Parts(role);
        return perLayer ? $"blk.{layer}.{stem}.{suffix}" : stem + "." + suffix;
    }

    /// <summary>The layer of a <c>blk.N.</c> tensor name, or -1.</summary>
    public static int LayerOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!name.StartsWith("blk.", StringComparison.Ordinal))
        {
            return -1;
        }

        int dot = name.IndexOf('.', 4);
        return dot > 4 && int.TryParse(name.AsSpan(4, dot - 4), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int layer) ? layer : -1;
    }

    /// <summary>The role and layer (-1 for globals) a tensor name stands for, when it is one llama.cpp knows.</summary>
    public static bool TryParse(string name, out TensorRole role, out int layer)
    {
        ArgumentNullException.ThrowIfNull(name);
        layer = LayerOf(name);
        if (layer < 0)
        {
            return GlobalByName.TryGetValue(name, out role);
        }

        string rest = name[(name.IndexOf('.', 4) + 1)..];
        return LayerByStem.TryGetValue(rest, out role);
    }

    private static (string Stem, string Suffix, bool PerLayer) Parts(TensorRole role) => role switch
    {
        TensorRole.TokenEmbedding => ("token_embd", "weight", false),
        TensorRole.OutputNorm => ("output_norm", "weight", false),
        TensorRole.Output => ("output", "weight", false),
        TensorRole.RopeFrequencies => ("rope_freqs", "weight", false),
        TensorRole.RopeFactorsLong => ("rope_factors_long", "weight", false),
        TensorRole.RopeFactorsShort => ("rope_factors_short", "weight", false),
        TensorRole.AttentionNorm => ("attn_norm", "weight", true),
        TensorRole.AttentionQuery => ("attn_q", "weight", true),
        TensorRole.AttentionKey => ("attn_k", "weight", true),
        TensorRole.AttentionValue => ("attn_v", "weight", true),
        TensorRole.AttentionQkv => ("attn_qkv", "weight", true),
        TensorRole.AttentionOutput => ("attn_output", "weight", true),
        TensorRole.AttentionQueryBias => ("attn_q", "bias", true),
        TensorRole.AttentionKeyBias => ("attn_k", "bias", true),
        TensorRole.AttentionValueBias => ("attn_v", "bias", true),
        TensorRole.AttentionOutputBias => ("attn_output", "bias", true),
        TensorRole.AttentionQueryNorm => ("attn_q_norm", "weight", true),
        TensorRole.AttentionKeyNorm => ("attn_k_norm", "weight", true),
        TensorRole.AttentionPostNorm => ("post_attention_norm", "weight", true),
        TensorRole.AttentionSinks => ("attn_sinks", "weight", true),
        TensorRole.FeedForwardNorm => ("ffn_norm", "weight", true),
        TensorRole.FeedForwardGate => ("ffn_gate", "weight", true),
        TensorRole.FeedForwardUp => ("ffn_up", "weight", true),
        TensorRole.FeedForwardDown => ("ffn_down", "weight", true),
        TensorRole.FeedForwardGateBias => ("ffn_gate", "bias", true),
        TensorRole.FeedForwardUpBias => ("ffn_up", "bias", true),
        TensorRole.FeedForwardDownBias => ("ffn_down", "bias", true),
        TensorRole.FeedForwardPostNorm => ("post_ffw_norm", "weight", true),
        TensorRole.ExpertRouter => ("ffn_gate_inp", "weight", true),
        TensorRole.ExpertRouterBias => ("ffn_gate_inp", "bias", true),
        TensorRole.ExpertGate => ("ffn_gate_exps", "weight", true),
        TensorRole.ExpertUp => ("ffn_up_exps", "weight", true),
        TensorRole.ExpertDown => ("ffn_down_exps", "weight", true),
        TensorRole.ExpertGateBias => ("ffn_gate_exps", "bias", true),
        TensorRole.ExpertUpBias => ("ffn_up_exps", "bias", true),
        TensorRole.ExpertDownBias => ("ffn_down_exps", "bias", true),
        TensorRole.SharedExpertRouter => ("ffn_gate_inp_shexp", "weight", true),
        TensorRole.SharedExpertGate => ("ffn_gate_shexp", "weight", true),
        TensorRole.SharedExpertUp => ("ffn_up_shexp", "weight", true),
        TensorRole.SharedExpertDown => ("ffn_down_shexp", "weight", true),
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "unknown tensor role"),
    };
}
