using System.Diagnostics.CodeAnalysis;
using Gguf.Format;
using Gguf.Loading;
using Gguf.Model;

namespace Gguf.Architectures;

/// <summary>One layer's tensors by role: <c>model.Layers[3].AttentionQuery</c> instead of <c>"blk.3.attn_q.weight"</c>.</summary>
/// <typeparam name="T">A tensor in the file (<see cref="GgufTensorInfo"/>) or on a device (<see cref="LoadedTensor"/>).</typeparam>
public sealed class LayerTensors<T>
    where T : class
{
    private readonly Dictionary<TensorRole, T> _byRole;

    internal LayerTensors(int index, Dictionary<TensorRole, T> byRole)
    {
        Index = index;
        _byRole = byRole;
    }

    /// <summary>The layer index.</summary>
    public int Index { get; }

    /// <summary>Every tensor of the layer by role.</summary>
    public IReadOnlyDictionary<TensorRole, T> ByRole => _byRole;

    /// <summary>The tensor of a role, or null when the layer has none.</summary>
    public T? this[TensorRole role] => _byRole.GetValueOrDefault(role);

    /// <summary>The attention norm.</summary>
    public T? AttentionNorm => this[TensorRole.AttentionNorm];

    /// <summary>The query projection.</summary>
    public T? AttentionQuery => this[TensorRole.AttentionQuery];

    /// <summary>The key projection.</summary>
    public T? AttentionKey => this[TensorRole.AttentionKey];

    /// <summary>The value projection.</summary>
    public T? AttentionValue => this[TensorRole.AttentionValue];

    /// <summary>The fused query/key/value projection (phi3).</summary>
    public T? AttentionQkv => this[TensorRole.AttentionQkv];

    /// <summary>The attention output projection.</summary>
    public T? AttentionOutput => this[TensorRole.AttentionOutput];

    /// <summary>The feed-forward norm.</summary>
    public T? FeedForwardNorm => this[TensorRole.FeedForwardNorm];

    /// <summary>The feed-forward gate projection.</summary>
    public T? FeedForwardGate => this[TensorRole.FeedForwardGate];

    /// <summary>The feed-forward up projection.</summary>
    public T? FeedForwardUp => this[TensorRole.FeedForwardUp];

    /// <summary>The feed-forward down projection.</summary>
    public T? FeedForwardDown => this[TensorRole.FeedForwardDown];

    /// <summary>The expert router.</summary>
    public T? ExpertRouter => this[TensorRole.ExpertRouter];

    /// <summary>All experts' gate projections.</summary>
    public T? ExpertGate => this[TensorRole.ExpertGate];

    /// <summary>All experts' up projections.</summary>
    public T? ExpertUp => this[TensorRole.ExpertUp];

    /// <summary>All experts' down projections.</summary>
    public T? ExpertDown => this[TensorRole.ExpertDown];

    /// <summary>The tensor of a role.</summary>
    /// <exception cref="KeyNotFoundException">The layer has no such tensor (the message names it).</exception>
    public T Get(TensorRole role) =>
        _byRole.TryGetValue(role, out T? t) ? t : throw new KeyNotFoundException($"layer {Index} has no tensor '{TensorNames.Of(role, Index)}'");

    /// <summary>The tensor of a role, when present.</summary>
    public bool TryGet(TensorRole role, [NotNullWhen(true)] out T? tensor) => _byRole.TryGetValue(role, out tensor);
}

/// <summary>A model's tensors by role: the input and output tensors and each layer's.</summary>
/// <typeparam name="T">A tensor in the file (<see cref="GgufTensorInfo"/>) or on a device (<see cref="LoadedTensor"/>).</typeparam>
public sealed class ModelTensors<T>
    where T : class
{
    private readonly Dictionary<TensorRole, T> _globals;

    internal ModelTensors(Dictionary<TensorRole, T> globals, IReadOnlyList<LayerTensors<T>> layers)
    {
        _globals = globals;
        Layers = layers;
    }

    /// <summary>The layers, by index.</summary>
    public IReadOnlyList<LayerTensors<T>> Layers { get; }

    /// <summary>A global (non-layer) tensor of a role, or null.</summary>
    public T? this[TensorRole role] => _globals.GetValueOrDefault(role);

    /// <summary>The token embeddings.</summary>
    public T? TokenEmbedding => this[TensorRole.TokenEmbedding];

    /// <summary>The output norm.</summary>
    public T? OutputNorm => this[TensorRole.OutputNorm];

    /// <summary>The output matrix: <c>output.weight</c>, or the token embeddings when the model ties them (llama.cpp's rule).</summary>
    public T? Output => this[TensorRole.Output] ?? TokenEmbedding;

    /// <summary>Whether the output reuses the token embeddings.</summary>
    public bool OutputIsTied => this[TensorRole.Output] is null && TokenEmbedding is not null;
}

/// <summary>Binds tensors to their roles.</summary>
public static class ModelTensors
{
    /// <summary>The tensors of <paramref name="file"/> by role (names llama.cpp does not know are left out).</summary>
    public static ModelTensors<GgufTensorInfo> Bind(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return Bind(file.Tensors.Select(t => (t.Name, t)));
    }

    /// <summary>The tensors of a loaded model by role, each with its offset in device memory.</summary>
    public static ModelTensors<LoadedTensor> Bind(LoadedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Bind(model.Tensors.Select(t => (t.Name, t)));
    }

    /// <summary>The tensors of a model loaded in parts (<see cref="SplitModelLoader"/>) by role.</summary>
    public static ModelTensors<LoadedTensor> Bind(IEnumerable<LoadedModel> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        return Bind(parts.SelectMany(p => p.Tensors).Select(t => (t.Name, t)));
    }

    private static ModelTensors<T> Bind<T>(IEnumerable<(string Name, T Tensor)> tensors)
        where T : class
    {
        var globals = new Dictionary<TensorRole, T>();
        var layers = new List<Dictionary<TensorRole, T>>();
        foreach ((string name, T tensor) in tensors)
        {
            if (!TensorNames.TryParse(name, out TensorRole role, out int layer))
            {
                continue;
            }

            if (layer >= HyperparameterReader.MaxLayers)
            {
                continue; // llama.cpp holds at most this many layers; a larger index in a hostile name must not size a list
            }

            if (layer < 0)
            {
                globals[role] = tensor;
                continue;
            }

            while (layers.Count <= layer)
            {
                layers.Add([]);
            }

            layers[layer][role] = tensor;
        }

        return new ModelTensors<T>(globals, [.. layers.Select((d, i) => new LayerTensors<T>(i, d))]);
    }
}
