using Gguf.Format;
using Gguf.Model;

namespace Gguf.Architectures;

/// <summary>
/// Reads <c>{arch}.*</c> keys as llama.cpp's model loader does and records, instead of throwing, every problem it would
/// throw or abort on: scalars must have exactly the type llama.cpp reads (a UINT32 key stored as UINT64 or INT32 is an
/// error there: <c>GGUFMeta::validate_type</c>); per-layer keys are a UINT32 scalar or an INT32/UINT32 array of exactly
/// <c>block_count</c> elements (<c>get_key_or_arr</c>).
/// </summary>
internal sealed class HyperparameterReader
{
    /// <summary>llama.cpp's <c>LLAMA_MAX_LAYERS</c>: per-layer arrays hold this many entries.</summary>
    internal const int MaxLayers = 512;

    /// <summary>llama.cpp's <c>LLAMA_MAX_EXPERTS</c>.</summary>
    internal const int MaxExperts = 512;

    private readonly GgufMetadata _metadata;
    private readonly List<ArchitectureProblem> _problems = [];
    private readonly long _architectureOffset;
    private readonly HashSet<string> _absent = new(StringComparer.Ordinal);
    private string _prefix = string.Empty;

    public HyperparameterReader(GgufFile file)
    {
        _metadata = file.Metadata;
        _architectureOffset = ModelHyperparameters.ArchitectureOffset(file);
    }

    public IReadOnlyList<ArchitectureProblem> Problems => _problems;

    public ModelHyperparameters Read()
    {
        if (!_metadata.TryGet(GgufKeys.Architecture, out GgufMetadataEntry? archEntry))
        {
            throw new GgufFormatException(GgufErrorCode.MissingKey, 0, "the file names no architecture", key: GgufKeys.Architecture);
        }

        if (archEntry.Type != GgufValueType.String)
        {
            throw new GgufFormatException(GgufErrorCode.TypeMismatch, archEntry.Offset, $"{GgufKeys.Architecture} is {GgufValueTypes.Name(archEntry.Type)}, not a string", key: GgufKeys.Architecture);
        }

        string arch = archEntry.GetString();
        _prefix = arch + ".";
        ArchitectureKind kind = ArchitectureNames.Parse(arch);
        return kind == ArchitectureKind.Unknown ? ReadGeneric(arch) : ReadKnown(arch, kind);
    }

    private ModelHyperparameters ReadKnown(string arch, ArchitectureKind kind)
    {
        var h = new ModelHyperparameters(arch, kind);
        _ = Str(GgufKeys.Name, prefixed: false);
        ReadInto(h, kind);
        h.AbsentKeys.UnionWith(_absent);
        return h;
    }

    private void ReadInto(ModelHyperparameters h, ArchitectureKind kind)
    {
        h.ContextLength = U32("context_length", required: true) ?? 0;
        h.EmbeddingLength = U32("embedding_length", required: true) ?? 0;
        long layers = U32("block_count", required: true) ?? 0;
        if (layers > MaxLayers)
        {
            Invalid("block_count", $"{_prefix}block_count is {layers}; llama.cpp holds at most {MaxLayers} layers");
            layers = MaxLayers;
        }

        int n = (int)layers;
        h.BlockCount = n;
        h.ExpertCount = U32("expert_count") ?? 0;
        h.ExpertUsedCount = U32("expert_used_count") ?? 0;
        if (h.ExpertCount > MaxExperts)
        {
            Invalid("expert_count", $"{_prefix}expert_count is {h.ExpertCount}; llama.cpp allows at most {MaxExperts}");
        }

        if (h.ExpertUsedCount > h.ExpertCount)
        {
            Invalid("expert_used_count", $"{_prefix}expert_used_count ({h.ExpertUsedCount}) exceeds {_prefix}expert_count ({h.ExpertCount})");
        }
        else if (h.ExpertCount > 0 && h.ExpertUsedCount == 0)
        {
            Invalid("expert_used_count", $"{_prefix}expert_used_count must be set (and above 0) when {_prefix}expert_count is {h.ExpertCount}");
        }

        h.FeedForwardLengths = PerLayer("feed_forward_length", n, null);
        h.HeadCounts = PerLayer("attention.head_count", n, null);
        h.HeadCountsKv = PerLayer("attention.head_count_kv", n, h.HeadCounts);

        h.RopeFinetuned = Bool("rope.scaling.finetuned") ?? false;
        h.RopeOriginalContextLength = U32("rope.scaling.original_context_length") ?? h.ContextLength;
        h.RopeFreqBase = F32("rope.freq_base") ?? 10000f;
        string? scaling = Str("rope.scaling.type");
        h.RopeScaling = scaling switch
        {
            null or "linear" => RopeScalingType.Linear,
            "none" => RopeScalingType.None,
            "yarn" => RopeScalingType.Yarn,
            "longrope" => RopeScalingType.LongRope,
            _ => InvalidScaling(scaling),
        };
        float factor = F32("rope.scaling.factor") ?? F32("rope.scale_linear") ?? 0f;
        h.RopeFreqScale = factor == 0f ? 1f : 1f / factor;
        h.RopeAttentionFactor = F32("rope.scaling.attn_factor");

        long heads = h.HeadCount;
        if (heads > 0)
        {
            long? keyLength = U32("attention.key_length");
            h.KeyLengthDerived = keyLength is null;
            h.KeyLength = keyLength ?? h.EmbeddingLength / heads;
            h.ValueLength = U32("attention.value_length") ?? h.EmbeddingLength / heads;
            h.RopeDimensionCount = U32("rope.dimension_count") ?? h.KeyLength;
            if (kind == ArchitectureKind.Llama && h.RopeDimensionCount != h.KeyLength)
            {
                Invalid("rope.dimension_count", $"{_prefix}rope.dimension_count is {h.RopeDimensionCount}; llama needs it equal to the key length {h.KeyLength}");
            }
        }

        h.TokenCount = _metadata.TryGet(GgufKeys.TokenizerTokens, out GgufMetadataEntry? tokens) && tokens.Type == GgufValueType.Array ? tokens.Count : 0;
        h.VocabularySize = U32("vocab_size") ?? h.TokenCount;
        if (tokens is null)
        {
            Problem(ArchitectureProblemKind.MissingKey, GgufKeys.TokenizerTokens, $"{GgufKeys.TokenizerTokens} is missing: llama.cpp sizes the embeddings by the vocabulary", null);
        }

        h.RmsNormEpsilon = F32("attention.layer_norm_rms_epsilon", required: true);
        h.SlidingWindowLayers = new bool[n];
        switch (kind)
        {
            case ArchitectureKind.Qwen2 or ArchitectureKind.Qwen3:
                _ = U32("pooling_type");
                break;
            case ArchitectureKind.Qwen2Moe:
                h.ExpertFeedForwardLength = U32("expert_feed_forward_length") ?? 0;
                h.ExpertSharedFeedForwardLength = U32("expert_shared_feed_forward_length") ?? 0;
                RequireExperts(h);
                break;
            case ArchitectureKind.Qwen3Moe:
                h.ExpertFeedForwardLength = U32("expert_feed_forward_length") ?? 0;
                RequireExperts(h);
                break;
            case ArchitectureKind.Phi3:
                // Read, then ignored: llama.cpp disables phi3's sliding window and sizes a full cache.
                _ = U32("attention.sliding_window");
                break;
            case ArchitectureKind.Gemma2:
                h.SlidingWindow = U32("attention.sliding_window") ?? 4096;
                h.AttentionLogitSoftcapping = F32("attn_logit_softcapping") ?? 50f;
                h.FinalLogitSoftcapping = F32("final_logit_softcapping") ?? 30f;
                h.SlidingWindowLayers = Pattern(n, 2);
                break;
            case ArchitectureKind.Gemma3:
                h.SlidingWindow = U32("attention.sliding_window") ?? 0;
                h.FinalLogitSoftcapping = F32("final_logit_softcapping") ?? 0f;
                if (h.SlidingWindow > 0)
                {
                    h.SlidingWindowLayers = Pattern(n, 6);
                }

                break;
            case ArchitectureKind.GptOss:
                h.ExpertFeedForwardLength = U32("expert_feed_forward_length", required: true) ?? 0;
                h.SlidingWindow = U32("attention.sliding_window", required: true) ?? 0;
                h.SlidingWindowLayers = Pattern(n, 2);
                break;
        }
    }

    /// <summary>Whatever common keys exist, read leniently: an unknown architecture never yields a problem.</summary>
    private ModelHyperparameters ReadGeneric(string arch)
    {
        var h = new ModelHyperparameters(arch, ArchitectureKind.Unknown)
        {
            ContextLength = Loose("context_length"),
            EmbeddingLength = Loose("embedding_length"),
            BlockCount = (int)Math.Clamp(Loose("block_count"), 0, MaxLayers),
            ExpertCount = Loose("expert_count"),
            ExpertUsedCount = Loose("expert_used_count"),
            ExpertFeedForwardLength = Loose("expert_feed_forward_length"),
            ExpertSharedFeedForwardLength = Loose("expert_shared_feed_forward_length"),
            SlidingWindow = Loose("attention.sliding_window"),
            RopeFreqBase = LooseFloat("rope.freq_base") ?? 10000f,
            RmsNormEpsilon = LooseFloat("attention.layer_norm_rms_epsilon"),
            LayerNormEpsilon = LooseFloat("attention.layer_norm_epsilon"),
        };
        int n = h.BlockCount;
        h.FeedForwardLengths = LoosePerLayer("feed_forward_length", n, null);
        h.HeadCounts = LoosePerLayer("attention.head_count", n, null);
        h.HeadCountsKv = LoosePerLayer("attention.head_count_kv", n, h.HeadCounts);
        h.SlidingWindowLayers = new bool[n];
        long heads = h.HeadCount;
        h.KeyLength = Loose("attention.key_length", heads > 0 ? h.EmbeddingLength / heads : 0);
        h.ValueLength = Loose("attention.value_length", heads > 0 ? h.EmbeddingLength / heads : 0);
        h.RopeDimensionCount = Loose("rope.dimension_count", h.KeyLength);
        h.RopeOriginalContextLength = h.ContextLength;
        h.TokenCount = _metadata.TryGet(GgufKeys.TokenizerTokens, out GgufMetadataEntry? tokens) && tokens.Type == GgufValueType.Array ? tokens.Count : 0;
        h.VocabularySize = Loose("vocab_size", h.TokenCount);
        return h;
    }

    private void RequireExperts(ModelHyperparameters h)
    {
        if (h.ExpertCount == 0)
        {
            Invalid("expert_count", $"{_prefix}expert_count must be above 0 for {h.Architecture}");
        }
        else if (h.ExpertUsedCount == 0 && !_problems.Any(p => p.Subject == _prefix + "expert_used_count"))
        {
            Invalid("expert_used_count", $"{_prefix}expert_used_count must be above 0 for {h.Architecture}");
        }
    }

    private RopeScalingType InvalidScaling(string value)
    {
        Invalid("rope.scaling.type", $"{_prefix}rope.scaling.type '{value}' is not none, linear, yarn or longrope");
        return RopeScalingType.Linear;
    }

    /// <summary>llama.cpp's <c>set_swa_pattern(n)</c>: in each group of n layers all but the last use the window.</summary>
    private static bool[] Pattern(int layers, int period)
    {
        var swa = new bool[layers];
        for (int il = 0; il < layers; il++)
        {
            swa[il] = il % period < period - 1;
        }

        return swa;
    }

    private long? U32(string name, bool required = false)
    {
        GgufMetadataEntry? e = Entry(name, required);
        if (e is null)
        {
            return null;
        }

        if (e.Type != GgufValueType.UInt32)
        {
            WrongType(e, "UINT32");
            return null;
        }

        return e.GetUInt32();
    }

    private float? F32(string name, bool required = false)
    {
        GgufMetadataEntry? e = Entry(name, required);
        if (e is null)
        {
            return null;
        }

        if (e.Type != GgufValueType.Float32)
        {
            WrongType(e, "FLOAT32");
            return null;
        }

        return e.GetFloat32();
    }

    private bool? Bool(string name)
    {
        GgufMetadataEntry? e = Entry(name, false);
        if (e is null)
        {
            return null;
        }

        if (e.Type != GgufValueType.Bool)
        {
            WrongType(e, "BOOL");
            return null;
        }

        return e.GetBool();
    }

    private string? Str(string name, bool prefixed = true)
    {
        GgufMetadataEntry? e = prefixed ? Entry(name, false) : (_metadata.TryGet(name, out GgufMetadataEntry? g) ? g : null);
        if (e is null)
        {
            return null;
        }

        if (e.Type != GgufValueType.String)
        {
            WrongType(e, "STRING");
            return null;
        }

        return e.GetString();
    }

    /// <summary>llama.cpp's <c>get_key_or_arr</c>: absent → <paramref name="fallback"/> (or zeros); a UINT32 scalar for every layer; or an array of exactly one value per layer.</summary>
    private long[] PerLayer(string name, int layers, IReadOnlyList<long>? fallback)
    {
        var values = new long[layers];
        if (fallback is not null)
        {
            for (int i = 0; i < layers; i++)
            {
                values[i] = fallback[i];
            }
        }

        GgufMetadataEntry? e = Entry(name, false);
        if (e is null)
        {
            return values;
        }

        if (e.Type == GgufValueType.Array)
        {
            GgufArray array = e.GetArray();
            if (array.ElementType is not (GgufValueType.UInt32 or GgufValueType.Int32))
            {
                Problem(ArchitectureProblemKind.WrongKeyType, e.Key, $"{e.Key} is an array of {GgufValueTypes.Name(array.ElementType)}; llama.cpp reads an array of UINT32 or INT32", e.Offset);
                return values;
            }

            if (array.Count != layers)
            {
                Problem(ArchitectureProblemKind.InvalidHyperparameter, e.Key, $"{e.Key} has {array.Count} elements; llama.cpp needs one per layer ({layers})", e.Offset);
                return values;
            }

            for (int i = 0; i < layers; i++)
            {
                // INT32 elements land in llama.cpp's uint32 array bit for bit.
                values[i] = (uint)array.GetScalarBits(i);
            }

            return values;
        }

        if (e.Type != GgufValueType.UInt32)
        {
            WrongType(e, "UINT32 (or an array of one per layer)");
            return values;
        }

        Array.Fill(values, e.GetUInt32());
        return values;
    }

    private GgufMetadataEntry? Entry(string name, bool required)
    {
        string key = _prefix + name;
        if (_metadata.TryGet(key, out GgufMetadataEntry? e))
        {
            return e;
        }

        _absent.Add(name);
        if (required)
        {
            Problem(ArchitectureProblemKind.MissingKey, key, $"{key} is missing; llama.cpp requires it for {_prefix.TrimEnd('.')}", null);
        }

        return null;
    }

    private void WrongType(GgufMetadataEntry e, string expected) =>
        Problem(ArchitectureProblemKind.WrongKeyType, e.Key, $"{e.Key} is {GgufValueTypes.Name(e.Type)}; llama.cpp reads it as {expected}", e.Offset);

    private void Invalid(string name, string message)
    {
        string key = _prefix + name;
        long? offset = _metadata.TryGet(key, out GgufMetadataEntry? e) ? e.Offset : null;
        Problem(ArchitectureProblemKind.InvalidHyperparameter, key, message, offset);
    }

    private void Problem(ArchitectureProblemKind kind, string key, string message, long? offset) =>
        _problems.Add(new ArchitectureProblem(kind, key, message, offset ?? (kind == ArchitectureProblemKind.MissingKey ? _architectureOffset : null)));

    private long Loose(string name, long fallback = 0)
    {
        if (!_metadata.TryGet(_prefix + name, out GgufMetadataEntry? e))
        {
            return fallback;
        }

        if (e.Type == GgufValueType.Array)
        {
            GgufArray a = e.GetArray();
            return a.Count > 0 && a.ElementType is GgufValueType.UInt32 or GgufValueType.Int32 ? (uint)a.GetScalarBits(0) : fallback;
        }

        return e.Type is GgufValueType.Bool or GgufValueType.Float32 or GgufValueType.Float64 or GgufValueType.String
            ? fallback
            : TryInteger(e, fallback);
    }

    private static long TryInteger(GgufMetadataEntry e, long fallback)
    {
        try
        {
            return Math.Max(0, e.GetInteger());
        }
        catch (GgufFormatException)
        {
            return fallback;
        }
    }

    private float? LooseFloat(string name) =>
        _metadata.TryGet(_prefix + name, out GgufMetadataEntry? e) && e.Type == GgufValueType.Float32 ? e.GetFloat32() : null;

    private long[] LoosePerLayer(string name, int layers, IReadOnlyList<long>? fallback)
    {
        var values = new long[layers];
        if (_metadata.TryGet(_prefix + name, out GgufMetadataEntry? e) && e.Type == GgufValueType.Array)
        {
            GgufArray a = e.GetArray();
            if (a.ElementType is GgufValueType.UInt32 or GgufValueType.Int32)
            {
                for (int i = 0; i < layers && i < a.Count; i++)
                {
                    values[i] = (uint)a.GetScalarBits(i);
                }

                return values;
            }
        }

        long scalar = Loose(name, -1);
        for (int i = 0; i < layers; i++)
        {
            values[i] = scalar >= 0 ? scalar : fallback?[i] ?? 0;
        }

        return values;
    }
}
