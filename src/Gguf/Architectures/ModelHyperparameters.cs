using Gguf.Format;
using Gguf.Model;

namespace Gguf.Architectures;

/// <summary>How rope frequencies are scaled for contexts past the training length (<c>{arch}.rope.scaling.type</c>).</summary>
public enum RopeScalingType
{
    /// <summary><c>none</c>.</summary>
    None,

    /// <summary><c>linear</c> (llama.cpp's default when the key is absent).</summary>
    Linear,

    /// <summary><c>yarn</c>.</summary>
    Yarn,

    /// <summary><c>longrope</c> (per-dimension long/short factors).</summary>
    LongRope,
}

/// <summary>
/// The hyperparameters of a model, read from its <c>{arch}.*</c> keys with llama.cpp's rules (<c>llama_model::load_hparams</c>):
/// the same required keys, the same exact value types, the same defaults and the same per-layer arrays.
/// Sizes are <see cref="long"/> so that derived widths (heads × head size) cannot overflow.
/// </summary>
public sealed class ModelHyperparameters
{
    internal ModelHyperparameters(string architecture, ArchitectureKind kind)
    {
        Architecture = architecture;
        Kind = kind;
    }

    /// <summary>The <c>general.architecture</c> string.</summary>
    public string Architecture { get; }

    /// <summary>The architecture's kind (<see cref="ArchitectureKind.Unknown"/>: a generic view, best effort).</summary>
    public ArchitectureKind Kind { get; }

    /// <summary>Number of repeating blocks (<c>block_count</c>).</summary>
    public int BlockCount { get; internal set; }

    /// <summary>The training context length (<c>context_length</c>).</summary>
    public long ContextLength { get; internal set; }

    /// <summary>The model width (<c>embedding_length</c>).</summary>
    public long EmbeddingLength { get; internal set; }

    /// <summary>Feed-forward width per layer (<c>feed_forward_length</c>, scalar or per-layer array; 0 when absent).</summary>
    public IReadOnlyList<long> FeedForwardLengths { get; internal set; } = [];

    /// <summary>Attention heads per layer (<c>attention.head_count</c>; 0 when absent).</summary>
    public IReadOnlyList<long> HeadCounts { get; internal set; } = [];

    /// <summary>Key/value heads per layer (<c>attention.head_count_kv</c>; the head count when absent).</summary>
    public IReadOnlyList<long> HeadCountsKv { get; internal set; } = [];

    /// <summary>Layer 0's feed-forward width: llama.cpp shapes every layer's feed-forward tensors with it.</summary>
    public long FeedForwardLength => FeedForwardLengths.Count > 0 ? FeedForwardLengths[0] : 0;

    /// <summary>Layer 0's head count: llama.cpp shapes every layer's attention tensors with it.</summary>
    public long HeadCount => HeadCounts.Count > 0 ? HeadCounts[0] : 0;

    /// <summary>Layer 0's key/value head count.</summary>
    public long HeadCountKv => HeadCountsKv.Count > 0 ? HeadCountsKv[0] : 0;

    /// <summary>Size of one key head (<c>attention.key_length</c>; width / heads when absent).</summary>
    public long KeyLength { get; internal set; }

    /// <summary>Size of one value head (<c>attention.value_length</c>; width / heads when absent).</summary>
    public long ValueLength { get; internal set; }

    /// <summary>The keys llama.cpp read that are absent (their defaults apply), without the architecture prefix.</summary>
    internal HashSet<string> AbsentKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether the key length was derived (width / heads) rather than read from <c>attention.key_length</c>.</summary>
    internal bool KeyLengthDerived { get; set; }

    /// <summary>Rotated dimensions per head (<c>rope.dimension_count</c>; the key length when absent).</summary>
    public long RopeDimensionCount { get; internal set; }

    /// <summary><c>rope.freq_base</c> (10000 when absent).</summary>
    public float RopeFreqBase { get; internal set; } = 10000f;

    /// <summary>The frequency scale: 1 / <c>rope.scaling.factor</c> (or the older <c>rope.scale_linear</c>), 1 when absent.</summary>
    public float RopeFreqScale { get; internal set; } = 1f;

    /// <summary><c>rope.scaling.type</c> (linear when absent).</summary>
    public RopeScalingType RopeScaling { get; internal set; } = RopeScalingType.Linear;

    /// <summary><c>rope.scaling.original_context_length</c> (the context length when absent).</summary>
    public long RopeOriginalContextLength { get; internal set; }

    /// <summary><c>rope.scaling.attn_factor</c>, when present.</summary>
    public float? RopeAttentionFactor { get; internal set; }

    /// <summary><c>rope.scaling.finetuned</c> (false when absent).</summary>
    public bool RopeFinetuned { get; internal set; }

    /// <summary><c>attention.layer_norm_rms_epsilon</c>, when present (required by every known architecture).</summary>
    public float? RmsNormEpsilon { get; internal set; }

    /// <summary><c>attention.layer_norm_epsilon</c>, when present.</summary>
    public float? LayerNormEpsilon { get; internal set; }

    /// <summary>Routed experts per MoE layer (<c>expert_count</c>; 0 for dense models).</summary>
    public long ExpertCount { get; internal set; }

    /// <summary>Experts used per token (<c>expert_used_count</c>).</summary>
    public long ExpertUsedCount { get; internal set; }

    /// <summary>The width of one routed expert (<c>expert_feed_forward_length</c>; 0 when absent).</summary>
    public long ExpertFeedForwardLength { get; internal set; }

    /// <summary>The width of the shared expert (<c>expert_shared_feed_forward_length</c>; 0 when absent).</summary>
    public long ExpertSharedFeedForwardLength { get; internal set; }

    /// <summary>The sliding-window size in tokens (<c>attention.sliding_window</c> or the architecture's default; 0: none).</summary>
    public long SlidingWindow { get; internal set; }

    /// <summary>Which layers attend through the sliding window (all false when the model has none).</summary>
    public IReadOnlyList<bool> SlidingWindowLayers { get; internal set; } = [];

    /// <summary>Attention logit soft-capping (<c>attn_logit_softcapping</c>; 0: none).</summary>
    public float AttentionLogitSoftcapping { get; internal set; }

    /// <summary>Final logit soft-capping (<c>final_logit_softcapping</c>; 0: none).</summary>
    public float FinalLogitSoftcapping { get; internal set; }

    /// <summary>The vocabulary size: <c>{arch}.vocab_size</c> when present, else the length of <c>tokenizer.ggml.tokens</c>.</summary>
    public long VocabularySize { get; internal set; }

    /// <summary>The length of <c>tokenizer.ggml.tokens</c> (0 when absent): llama.cpp sizes the embeddings and output with it.</summary>
    public long TokenCount { get; internal set; }

    /// <summary>Whether the model routes tokens to experts.</summary>
    public bool HasExperts => ExpertCount > 0;

    /// <summary>Whether any layer uses the sliding window.</summary>
    public bool HasSlidingWindow => SlidingWindowLayers.Any(s => s);

    /// <summary>The head count of a layer.</summary>
    public long HeadCountAt(int layer) => HeadCounts[layer];

    /// <summary>The key/value head count of a layer.</summary>
    public long HeadCountKvAt(int layer) => HeadCountsKv[layer];

    /// <summary>The feed-forward width of a layer.</summary>
    public long FeedForwardLengthAt(int layer) => FeedForwardLengths[layer];

    /// <summary>The width of a layer's keys, all key/value heads together (llama.cpp's <c>n_embd_k_gqa(il)</c>).</summary>
    public long KeyWidth(int layer) => KeyLength * HeadCountsKv[layer];

    /// <summary>The width of a layer's values (llama.cpp's <c>n_embd_v_gqa(il)</c>).</summary>
    public long ValueWidth(int layer) => ValueLength * HeadCountsKv[layer];

    /// <summary>Whether a layer attends through the sliding window.</summary>
    public bool IsSlidingWindowLayer(int layer) => SlidingWindowLayers.Count > layer && SlidingWindowLayers[layer];

    /// <summary>Reads the hyperparameters of <paramref name="file"/>.</summary>
    /// <exception cref="GgufFormatException">
    /// A required key is missing, a key has another type than llama.cpp reads, or a value is unusable; the exception names the
    /// key and its offset (for a missing key, the offset of <c>general.architecture</c>). Unknown architectures never throw.
    /// </exception>
    public static ModelHyperparameters Read(GgufFile file)
    {
        ModelHyperparameters result = Read(file, out IReadOnlyList<ArchitectureProblem> problems);
        if (problems.Count > 0)
        {
            throw problems[0].ToException(ArchitectureOffset(file));
        }

        return result;
    }

    /// <summary>Reads the hyperparameters, collecting every problem instead of throwing at the first.</summary>
    /// <exception cref="GgufFormatException">The file has no <c>general.architecture</c> string.</exception>
    public static ModelHyperparameters Read(GgufFile file, out IReadOnlyList<ArchitectureProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(file);
        var reader = new HyperparameterReader(file);
        ModelHyperparameters result = reader.Read();
        problems = reader.Problems;
        return result;
    }

    internal static long ArchitectureOffset(GgufFile file) =>
        file.Metadata.TryGet(GgufKeys.Architecture, out GgufMetadataEntry? e) ? e.Offset : 0;
}
