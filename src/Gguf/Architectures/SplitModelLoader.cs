using Gguf.Format;
using Gguf.Loading;
using Gguf.Model;
using Microsoft.Extensions.Logging;

namespace Gguf.Architectures;

/// <summary>A model loaded across several destinations by a <see cref="ModelPlan"/>: one block per destination.</summary>
public sealed class SplitLoadedModel : IDisposable
{
    private readonly Dictionary<string, int> _partByTensor;

    internal SplitLoadedModel(ModelPlan plan, IReadOnlyList<LoadedModel> parts)
    {
        Plan = plan;
        Parts = parts;
        _partByTensor = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < parts.Count; i++)
        {
            foreach (LoadedTensor t in parts[i].Tensors)
            {
                _partByTensor[t.Name] = i;
            }
        }

        Tensors = ModelTensors.Bind(parts);
    }

    /// <summary>The plan the model was loaded by.</summary>
    public ModelPlan Plan { get; }

    /// <summary>One loaded block per destination of the plan, in its order.</summary>
    public IReadOnlyList<LoadedModel> Parts { get; }

    /// <summary>The loaded tensors by role (each resolves to its offset in its part's block).</summary>
    public ModelTensors<LoadedTensor> Tensors { get; }

    /// <summary>The part (destination) holding a tensor.</summary>
    /// <exception cref="KeyNotFoundException">No part holds a tensor of that name.</exception>
    public LoadedModel PartOf(string tensorName) =>
        _partByTensor.TryGetValue(tensorName, out int i) ? Parts[i] : throw new KeyNotFoundException($"tensor '{tensorName}' is in no part of this model");

    /// <summary>Frees every part.</summary>
    public void Dispose()
    {
        foreach (LoadedModel part in Parts)
        {
            part.Dispose();
        }
    }
}

/// <summary>
/// Loads a model split across destinations as a <see cref="ModelPlan"/> places it: each destination receives exactly the
/// tensors of its layers (and the input/output tensors the plan gives it), each tensor is read from the file once, and each
/// destination's block is exactly <see cref="DevicePlan.WeightBytes"/> (the loader's own layout of that subset).
/// </summary>
/// <remarks>The destinations are loaded one after the other, each in one pass over its tensors in file order.</remarks>
public sealed class SplitModelLoader
{
    private readonly IReadOnlyList<ITensorDestination> _destinations;
    private readonly LoadOptions _options;
    private readonly ILogger? _logger;

    /// <summary>Creates a loader for destinations in the order of the plan's devices.</summary>
    public SplitModelLoader(IReadOnlyList<ITensorDestination> destinations, LoadOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        if (destinations.Count == 0)
        {
            throw new ArgumentException("at least one destination is needed", nameof(destinations));
        }

        _destinations = destinations;
        _options = options ?? LoadOptions.Default;
        _logger = logger;
    }

    /// <summary>Loads <paramref name="file"/> as <paramref name="plan"/> places it.</summary>
    /// <exception cref="ArgumentException">The plan has another number of devices, or another tensor alignment, than this loader.</exception>
    /// <exception cref="InsufficientDeviceMemoryException">A destination lacks room; what was loaded before is freed.</exception>
    public SplitLoadedModel Load(GgufFile file, ModelPlan plan, IProgress<LoadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Devices.Count != _destinations.Count)
        {
            throw new ArgumentException($"the plan has {plan.Devices.Count} devices for {_destinations.Count} destinations", nameof(plan));
        }

        if (plan.Options.TensorAlignment != _options.TensorAlignment)
        {
            throw new ArgumentException($"the plan aligns tensors to {plan.Options.TensorAlignment} bytes, the loader to {_options.TensorAlignment}", nameof(plan));
        }

        var parts = new List<LoadedModel>(_destinations.Count);
        try
        {
            for (int d = 0; d < _destinations.Count; d++)
            {
                var loader = new ModelLoader(_destinations[d], _options, _logger);
                parts.Add(loader.Load(file, plan.Devices[d].Tensors, progress, cancellationToken));
            }
        }
        catch
        {
            foreach (LoadedModel part in parts)
            {
                part.Dispose();
            }

            throw;
        }

        return new SplitLoadedModel(plan, parts);
    }
}
