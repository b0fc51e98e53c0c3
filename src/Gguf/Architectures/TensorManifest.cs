using Gguf.Format;
using Gguf.Model;

namespace Gguf.Architectures;

/// <summary>One tensor llama.cpp creates for a model.</summary>
/// <param name="Name">The tensor's name in the file.</param>
/// <param name="Role">What it is.</param>
/// <param name="Layer">Its layer, or -1 for the input/output tensors.</param>
/// <param name="Shape">Its shape in GGUF (ne) order; missing trailing dimensions count as 1, as in llama.cpp.</param>
/// <param name="Required">False for tensors llama.cpp creates with <c>TENSOR_NOT_REQUIRED</c>.</param>
/// <param name="TiedTo">For an optional output matrix: the tensor llama.cpp uses in its place when it is absent.</param>
public sealed record ExpectedTensor(string Name, TensorRole Role, int Layer, IReadOnlyList<long> Shape, bool Required, string? TiedTo = null)
{
    /// <summary>Whether the tensor is a matrix (or a stack of them): any ggml type, quantized ones included, is allowed.</summary>
    public bool IsMatrix => Shape.Count >= 2;

    /// <summary>Whether a tensor of <paramref name="type"/> suits this role: matrices take any type; vectors (norms, biases, sinks) are F32.</summary>
    public bool AllowsType(GgmlType type) => IsMatrix || type == GgmlType.F32;

    /// <summary>Whether <paramref name="dimensions"/> (as stored) match <see cref="Shape"/> with llama.cpp's rule: equal where given, 1 beyond.</summary>
    public bool Matches(ReadOnlySpan<long> dimensions)
    {
        int n = Math.Max(dimensions.Length, Shape.Count);
        for (int i = 0; i < n; i++)
        {
            long expected = i < Shape.Count ? Shape[i] : 1;
            long found = i < dimensions.Length ? dimensions[i] : 1;
            if (expected != found)
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// The tensors llama.cpp's <c>llama_model::load_tensors</c> creates for an architecture and its hyperparameters: names,
/// shapes, which are optional, which may be absent because another tensor stands in for them. llama.cpp loads a file
/// only when every required tensor is present with its shape and the file has no tensor outside this set
/// (<c>done_getting_tensors</c>: "wrong number of tensors").
/// </summary>
public sealed class TensorManifest
{
    private readonly Dictionary<string, ExpectedTensor> _byName;

    private TensorManifest(ModelHyperparameters hyperparameters, List<ExpectedTensor> tensors)
    {
        Hyperparameters = hyperparameters;
        Tensors = tensors;
        _byName = new Dictionary<string, ExpectedTensor>(tensors.Count, StringComparer.Ordinal);
        foreach (ExpectedTensor t in tensors)
        {
            _byName.TryAdd(t.Name, t);
        }
    }

    /// <summary>The hyperparameters the shapes come from.</summary>
    public ModelHyperparameters Hyperparameters { get; }

    /// <summary>Every tensor, input tensors first, then layer by layer, then the output.</summary>
    public IReadOnlyList<ExpectedTensor> Tensors { get; }

    /// <summary>The tensor of that name, or null.</summary>
    public ExpectedTensor? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The manifest of <paramref name="hyperparameters"/>; null for an unknown architecture.</summary>
    public static TensorManifest? For(ModelHyperparameters hyperparameters)
    {
        ArgumentNullException.ThrowIfNull(hyperparameters);
        if (hyperparameters.Kind == ArchitectureKind.Unknown)
        {
            return null;
        }

        var b = new Builder(hyperparameters);
        b.Build();
        return new TensorManifest(hyperparameters, b.Tensors);
    }

    /// <summary>Reads the hyperparameters of <paramref name="file"/> and returns its manifest (null for an unknown architecture).</summary>
    /// <exception cref="GgufFormatException">The hyperparameters are incomplete or mistyped (see <see cref="ModelHyperparameters.Read(GgufFile)"/>).</exception>
    public static TensorManifest? For(GgufFile file) => For(ModelHyperparameters.Read(file));

    private sealed class Builder(ModelHyperparameters h)
    {
        public List<ExpectedTensor> Tensors { get; } = [];

        private long E => h.EmbeddingLength;

        private long V => h.TokenCount;

        public void Build()
        {
            Global(TensorRole.TokenEmbedding, E, V);
            switch (h.Kind)
            {
                case ArchitectureKind.Llama:
                    Llama();
                    break;
                case ArchitectureKind.Qwen2:
                    Qwen2();
                    break;
                case ArchitectureKind.Qwen2Moe:
                    Qwen2Moe();
                    break;
                case ArchitectureKind.Qwen3 or ArchitectureKind.Qwen3Moe:
                    Qwen3(h.Kind == ArchitectureKind.Qwen3Moe);
                    break;
                case ArchitectureKind.Phi3:
                    Phi3();
                    break;
                case ArchitectureKind.Gemma2 or ArchitectureKind.Gemma3:
                    Gemma(h.Kind == ArchitectureKind.Gemma3);
                    break;
                case ArchitectureKind.GptOss:
                    GptOss();
                    break;
            }
        }

        private void OutputNormAndOutput(bool outputOptional)
        {
            Global(TensorRole.OutputNorm, E);
            Add(TensorRole.Output, -1, [E, V], required: !outputOptional, tiedTo: outputOptional ? TensorNames.Of(TensorRole.TokenEmbedding) : null);
        }

        private void Llama()
        {
            OutputNormAndOutput(outputOptional: true);
            long q = h.KeyLength * h.HeadCount;
            for (int il = 0; il < h.BlockCount; il++)
            {
                Layer(TensorRole.AttentionNorm, il, E);
                Layer(TensorRole.AttentionQuery, il, E, q);
                Layer(TensorRole.AttentionKey, il, E, h.KeyWidth(0));
                Layer(TensorRole.AttentionValue, il, E, h.ValueWidth(0));
                Layer(TensorRole.AttentionOutput, il, q, E);
                Optional(TensorRole.AttentionQueryBias, il, E);
                Optional(TensorRole.AttentionKeyBias, il, h.ValueWidth(0));
                Optional(TensorRole.AttentionValueBias, il, h.ValueWidth(0));
                Optional(TensorRole.AttentionOutputBias, il, E);
                Layer(TensorRole.FeedForwardNorm, il, E);
                RopeFactors(il);
                long ff = h.FeedForwardLength;
                if (h.ExpertCount == 0)
                {
                    Layer(TensorRole.FeedForwardGate, il, E, ff);
                    Layer(TensorRole.FeedForwardDown, il, ff, E);
                    Layer(TensorRole.FeedForwardUp, il, E, ff);
                    Optional(TensorRole.FeedForwardGateBias, il, ff);
                    Optional(TensorRole.FeedForwardDownBias, il, E);
                    Optional(TensorRole.FeedForwardUpBias, il, ff);
                }
                else
                {
                    Layer(TensorRole.ExpertRouter, il, E, h.ExpertCount);
                    Experts(il, ff, gateRequired: false);
                }
            }
        }

        private void Qwen2()
        {
            OutputNormAndOutput(outputOptional: true);
            for (int il = 0; il < h.BlockCount; il++)
            {
                Qwen2Attention(il);
                Layer(TensorRole.FeedForwardNorm, il, E);
                Dense(il, h.FeedForwardLength);
            }
        }

        private void Qwen2Moe()
        {
            OutputNormAndOutput(outputOptional: false);
            long expertWidth = h.ExpertFeedForwardLength != 0 ? h.ExpertFeedForwardLength : h.ExpertUsedCount > 0 ? h.FeedForwardLength / h.ExpertUsedCount : 0;
            long sharedWidth = h.ExpertSharedFeedForwardLength != 0 ? h.ExpertSharedFeedForwardLength : h.FeedForwardLength;
            for (int il = 0; il < h.BlockCount; il++)
            {
                Qwen2Attention(il);
                Layer(TensorRole.FeedForwardNorm, il, E);
                Layer(TensorRole.ExpertRouter, il, E, h.ExpertCount);
                Experts(il, expertWidth);
                Layer(TensorRole.SharedExpertRouter, il, E);
                Layer(TensorRole.SharedExpertGate, il, E, sharedWidth);
                Layer(TensorRole.SharedExpertDown, il, sharedWidth, E);
                Layer(TensorRole.SharedExpertUp, il, E, sharedWidth);
            }
        }

        private void Qwen2Attention(int il)
        {
            Layer(TensorRole.AttentionNorm, il, E);
            Layer(TensorRole.AttentionQuery, il, E, E);
            Layer(TensorRole.AttentionKey, il, E, h.ValueWidth(0));
            Layer(TensorRole.AttentionValue, il, E, h.ValueWidth(0));
            Layer(TensorRole.AttentionOutput, il, E, E);
            Optional(TensorRole.AttentionQueryBias, il, E);
            Optional(TensorRole.AttentionKeyBias, il, h.ValueWidth(0));
            Optional(TensorRole.AttentionValueBias, il, h.ValueWidth(0));
        }

        private void Qwen3(bool experts)
        {
            OutputNormAndOutput(outputOptional: true);
            long q = h.KeyLength * h.HeadCount;
            long expertWidth = h.ExpertFeedForwardLength != 0 ? h.ExpertFeedForwardLength : h.ExpertUsedCount > 0 ? h.FeedForwardLength / h.ExpertUsedCount : 0;
            for (int il = 0; il < h.BlockCount; il++)
            {
                Layer(TensorRole.AttentionNorm, il, E);
                Layer(TensorRole.AttentionQuery, il, E, q);
                Layer(TensorRole.AttentionKey, il, E, h.KeyWidth(0));
                Layer(TensorRole.AttentionValue, il, E, h.ValueWidth(0));
                Layer(TensorRole.AttentionOutput, il, q, E);
                Layer(TensorRole.AttentionKeyNorm, il, h.KeyLength);
                Layer(TensorRole.AttentionQueryNorm, il, h.KeyLength);
                Layer(TensorRole.FeedForwardNorm, il, E);
                if (experts)
                {
                    Layer(TensorRole.ExpertRouter, il, E, h.ExpertCount);
                    Experts(il, expertWidth);
                }
                else
                {
                    Dense(il, h.FeedForwardLength);
                }
            }
        }

        private void Phi3()
        {
            OutputNormAndOutput(outputOptional: true);
            long ff = h.FeedForwardLength;
            for (int il = 0; il < h.BlockCount; il++)
            {
                Layer(TensorRole.AttentionNorm, il, E);
                // llama.cpp creates the fused projection as optional and no separate q/k/v for phi3 (measured: a file
                // without it loads; one with attn_q is refused).
                Optional(TensorRole.AttentionQkv, il, E, E + (2 * h.ValueWidth(0)));
                Layer(TensorRole.AttentionOutput, il, E, E);
                Layer(TensorRole.FeedForwardNorm, il, E);
                Layer(TensorRole.FeedForwardDown, il, ff, E);
                Layer(TensorRole.FeedForwardUp, il, E, 2 * ff);
                Add(TensorRole.RopeFactorsLong, il, [h.RopeDimensionCount / 2], required: false);
                Add(TensorRole.RopeFactorsShort, il, [h.RopeDimensionCount / 2], required: false);
            }
        }

        private void Gemma(bool gemma3)
        {
            // gemma2 always reads the output through the token embeddings; gemma3 takes an output matrix when present.
            Global(TensorRole.OutputNorm, E);
            if (gemma3)
            {
                Add(TensorRole.Output, -1, [E, V], required: false, tiedTo: TensorNames.Of(TensorRole.TokenEmbedding));
            }

            long q = h.KeyLength * h.HeadCount;
            for (int il = 0; il < h.BlockCount; il++)
            {
                Layer(TensorRole.AttentionNorm, il, E);
                Layer(TensorRole.AttentionQuery, il, E, q);
                Layer(TensorRole.AttentionKey, il, E, h.KeyWidth(0));
                Layer(TensorRole.AttentionValue, il, E, h.ValueWidth(0));
                Layer(TensorRole.AttentionOutput, il, q, E);
                Layer(TensorRole.AttentionPostNorm, il, E);
                if (gemma3)
                {
                    Layer(TensorRole.AttentionKeyNorm, il, h.KeyLength);
                    Layer(TensorRole.AttentionQueryNorm, il, h.KeyLength);
                }

                Layer(TensorRole.FeedForwardNorm, il, E);
                Layer(TensorRole.FeedForwardGate, il, E, h.FeedForwardLength);
                Layer(TensorRole.FeedForwardUp, il, E, h.FeedForwardLength);
                Layer(TensorRole.FeedForwardDown, il, h.FeedForwardLength, E);
                Layer(TensorRole.FeedForwardPostNorm, il, E);
            }
        }

        private void GptOss()
        {
            OutputNormAndOutput(outputOptional: false);
            long rot = h.RopeDimensionCount;
            long ffe = h.ExpertFeedForwardLength;
            long x = h.ExpertCount;
            for (int il = 0; il < h.BlockCount; il++)
            {
                Layer(TensorRole.AttentionNorm, il, E);
                Layer(TensorRole.AttentionPostNorm, il, E);
                Layer(TensorRole.AttentionQuery, il, E, h.HeadCount * rot);
                Layer(TensorRole.AttentionKey, il, E, h.HeadCountKv * rot);
                Layer(TensorRole.AttentionValue, il, E, h.HeadCountKv * rot);
                Layer(TensorRole.AttentionOutput, il, h.HeadCount * rot, E);
                Layer(TensorRole.AttentionSinks, il, h.HeadCount);
                Layer(TensorRole.ExpertRouter, il, E, x);
                Layer(TensorRole.ExpertGate, il, E, ffe, x);
                Layer(TensorRole.ExpertDown, il, ffe, E, x);
                Layer(TensorRole.ExpertUp, il, E, ffe, x);
                Optional(TensorRole.AttentionQueryBias, il, h.HeadCount * rot);
                Optional(TensorRole.AttentionKeyBias, il, h.HeadCountKv * rot);
                Optional(TensorRole.AttentionValueBias, il, h.HeadCountKv * rot);
                Layer(TensorRole.AttentionOutputBias, il, E);
                Layer(TensorRole.ExpertRouterBias, il, x);
                Layer(TensorRole.ExpertGateBias, il, ffe, x);
                Layer(TensorRole.ExpertDownBias, il, E, x);
                Layer(TensorRole.ExpertUpBias, il, ffe, x);
            }
        }

        private void Dense(int il, long ff)
        {
            Layer(TensorRole.FeedForwardGate, il, E, ff);
            Layer(TensorRole.FeedForwardDown, il, ff, E);
            Layer(TensorRole.FeedForwardUp, il, E, ff);
        }

        private void Experts(int il, long width, bool gateRequired = true)
        {
            Add(TensorRole.ExpertGate, il, [E, width, h.ExpertCount], gateRequired);
            Layer(TensorRole.ExpertDown, il, width, E, h.ExpertCount);
            Layer(TensorRole.ExpertUp, il, E, width, h.ExpertCount);
        }

        /// <summary>llama's optional per-dimension rope factors: one tensor shared by every layer (llama.cpp duplicates it).</summary>
        private void RopeFactors(int il)
        {
            long half = h.RopeDimensionCount / 2;
            if (h.RopeScaling == RopeScalingType.LongRope)
            {
                Add(TensorRole.RopeFactorsLong, il, [half], required: false);
                Add(TensorRole.RopeFactorsShort, il, [half], required: false);
            }
            else
            {
                Add(TensorRole.RopeFrequencies, il, [half], required: false);
            }
        }

        private void Global(TensorRole role, params long[] shape) => Add(role, -1, shape, required: true);

        private void Layer(TensorRole role, int il, params long[] shape) => Add(role, il, shape, required: true);

        private void Optional(TensorRole role, int il, params long[] shape) => Add(role, il, shape, required: false);

        private void Add(TensorRole role, int il, long[] shape, bool required, string? tiedTo = null)
        {
            bool perLayer = TensorNames.IsPerLayer(role);
            string name = perLayer ? TensorNames.Of(role, il) : TensorNames.Of(role);

            // Global tensors requested from every layer (rope factors) are one tensor: llama.cpp marks the repeats duplicated.
            if (!perLayer && Tensors.Exists(t => t.Name == name))
            {
                return;
            }

            Tensors.Add(new ExpectedTensor(name, role, perLayer ? il : -1, shape, required, tiedTo));
        }
    }
}
