using Gguf.Format;
using Gguf.Model;

namespace Gguf.Architectures;

/// <summary>The outcome of <see cref="ArchitectureCheck.Run"/>.</summary>
public sealed class ArchitectureReport
{
    internal ArchitectureReport(string? architecture, ModelHyperparameters? hyperparameters, TensorManifest? manifest, IReadOnlyList<ArchitectureProblem> problems)
    {
        Architecture = architecture;
        Hyperparameters = hyperparameters;
        Manifest = manifest;
        Problems = problems;
    }

    /// <summary>The <c>general.architecture</c> string, or null when the file names none.</summary>
    public string? Architecture { get; }

    /// <summary>The kind of architecture (<see cref="ArchitectureKind.Unknown"/>: only the generic view was checked).</summary>
    public ArchitectureKind Kind => Hyperparameters?.Kind ?? ArchitectureKind.Unknown;

    /// <summary>The hyperparameters as read (best effort when there are key problems); null when the file names no architecture.</summary>
    public ModelHyperparameters? Hyperparameters { get; }

    /// <summary>The expected tensors; null for an unknown architecture.</summary>
    public TensorManifest? Manifest { get; }

    /// <summary>Every problem found, keys first, then tensors in manifest order, then unexpected tensors in file order.</summary>
    public IReadOnlyList<ArchitectureProblem> Problems { get; }

    /// <summary>The problems llama.cpp would refuse the file for.</summary>
    public IEnumerable<ArchitectureProblem> Errors => Problems.Where(p => p.IsError);

    /// <summary>Whether llama.cpp's model loader would accept the file's hyperparameters and tensors.</summary>
    public bool IsValid => !Problems.Any(p => p.IsError);
}

/// <summary>
/// Compares a file with what llama.cpp's loader expects of its architecture: the hyperparameter keys, then every tensor
/// (missing, unexpected, mis-shaped), reporting all problems at once rather than the first one llama.cpp would throw.
/// </summary>
public static class ArchitectureCheck
{
    /// <summary>Checks <paramref name="file"/>. Unknown architectures yield no problems (there is nothing to compare with).</summary>
    public static ArchitectureReport Run(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        ModelHyperparameters hyperparameters;
        IReadOnlyList<ArchitectureProblem> keyProblems;
        try
        {
            hyperparameters = ModelHyperparameters.Read(file, out keyProblems);
        }
        catch (GgufFormatException e) when (e.Key == GgufKeys.Architecture)
        {
            var problem = new ArchitectureProblem(
                e.Code == GgufErrorCode.MissingKey ? ArchitectureProblemKind.MissingKey : ArchitectureProblemKind.WrongKeyType,
                GgufKeys.Architecture,
                e.Description + " (llama.cpp: unknown model architecture)",
                e.Code == GgufErrorCode.MissingKey ? null : e.Offset);
            return new ArchitectureReport(null, null, null, [problem]);
        }

        var problems = new List<ArchitectureProblem>(keyProblems);
        TensorManifest? manifest = TensorManifest.For(hyperparameters);
        // Without a layer count or a width every tensor would be reported; the key problem says it all.
        string prefix = hyperparameters.Architecture + ".";
        bool structural = keyProblems.Any(p => p.Subject == prefix + "block_count" || p.Subject == prefix + "embedding_length");
        if (manifest is not null && !structural)
        {
            CompareTensors(file, manifest, problems);
        }

        return new ArchitectureReport(hyperparameters.Architecture, hyperparameters, manifest, problems);
    }

    private static void CompareTensors(GgufFile file, TensorManifest manifest, List<ArchitectureProblem> problems)
    {
        string arch = manifest.Hyperparameters.Architecture;
        foreach (ExpectedTensor expected in manifest.Tensors)
        {
            if (!file.TryGetTensor(expected.Name, out GgufTensorInfo? found))
            {
                if (expected.Required)
                {
                    problems.Add(new ArchitectureProblem(
                        ArchitectureProblemKind.MissingTensor,
                        expected.Name,
                        $"tensor '{expected.Name}' is missing; {arch} requires it with shape {ArchitectureProblem.Shape(expected.Shape)}",
                        Expected: expected.Shape));
                }

                continue;
            }

            if (!expected.Matches(found.DimensionsSpan))
            {
                problems.Add(new ArchitectureProblem(
                    ArchitectureProblemKind.WrongShape,
                    expected.Name,
                    $"tensor '{expected.Name}' has shape {ArchitectureProblem.Shape(found.Dimensions)}; expected {ArchitectureProblem.Shape(expected.Shape)}{Hint(expected, manifest.Hyperparameters)}",
                    found.InfoOffset,
                    expected.Shape,
                    found.Dimensions));
            }
            else if (!expected.AllowsType(found.Type))
            {
                problems.Add(new ArchitectureProblem(
                    ArchitectureProblemKind.UnusualType,
                    expected.Name,
                    $"tensor '{expected.Name}' is {found.TypeInfo.Name}; llama.cpp loads it but computes with vectors like it in F32",
                    found.InfoOffset));
            }
        }

        foreach (GgufTensorInfo tensor in file.Tensors)
        {
            if (manifest.Find(tensor.Name) is null)
            {
                problems.Add(new ArchitectureProblem(
                    ArchitectureProblemKind.UnexpectedTensor,
                    tensor.Name,
                    $"tensor '{tensor.Name}' is not part of {arch}{UnexpectedHint(tensor.Name, manifest)}; llama.cpp refuses files with tensors it does not use (\"wrong number of tensors\")",
                    tensor.InfoOffset,
                    Found: tensor.Dimensions));
            }
        }
    }

    /// <summary>Names the absent or odd keys a wrong shape comes from, so the message points at the key as well as the tensor.</summary>
    private static string Hint(ExpectedTensor expected, ModelHyperparameters h)
    {
        string p = h.Architecture + ".";
        var causes = new List<string>();
        bool kvWidth = expected.Role is TensorRole.AttentionKey or TensorRole.AttentionValue or TensorRole.AttentionKeyBias
            or TensorRole.AttentionValueBias or TensorRole.AttentionQkv;
        if (kvWidth && h.AbsentKeys.Contains("attention.head_count_kv"))
        {
            causes.Add($"{p}attention.head_count_kv is absent, so it defaults to {p}attention.head_count = {h.HeadCount}");
        }

        if (h.KeyLengthDerived && h.HeadCount > 0 && h.EmbeddingLength % h.HeadCount != 0 && expected.Role is not (TensorRole.TokenEmbedding or TensorRole.Output))
        {
            causes.Add($"{p}attention.head_count {h.HeadCount} does not divide {p}embedding_length {h.EmbeddingLength}: heads of {h.KeyLength}");
        }

        if (expected.Shape.Contains(0))
        {
            foreach (string key in new[] { "feed_forward_length", "attention.head_count", "expert_feed_forward_length", "expert_count" })
            {
                if (h.AbsentKeys.Contains(key))
                {
                    causes.Add($"{p}{key} is absent");
                }
            }
        }

        if (expected.Role == TensorRole.AttentionQkv && h.AbsentKeys.Contains("attention.head_count"))
        {
            causes.Add($"{p}attention.head_count is absent");
        }

        return causes.Count == 0 ? string.Empty : " (" + string.Join("; ", causes) + ")";
    }

    private static string UnexpectedHint(string name, TensorManifest manifest)
    {
        int layer = TensorNames.LayerOf(name);
        if (layer >= manifest.Hyperparameters.BlockCount)
        {
            return $" (layer {layer} is past {manifest.Hyperparameters.Architecture}.block_count = {manifest.Hyperparameters.BlockCount})";
        }

        return name == TensorNames.Of(TensorRole.Output) && manifest.Hyperparameters.Kind == ArchitectureKind.Gemma2
            ? " (gemma2 always ties the output to token_embd.weight)"
            : string.Empty;
    }
}
