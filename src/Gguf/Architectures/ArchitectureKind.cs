using Gguf.Format;
using Gguf.Model;
namespace Gguf.Architectures;

/// <summary>The model architectures whose hyperparameters and tensors this library knows as llama.cpp does.</summary>
public enum ArchitectureKind
{
    /// <summary>Any other architecture: a generic view of the common keys, no tensor expectations.</summary>
    Unknown,

    /// <summary><c>llama</c> (also Mistral, and Mixtral-style experts when <c>llama.expert_count</c> is set).</summary>
    Llama,

    /// <summary><c>qwen2</c>: llama with q/k/v biases.</summary>
    Qwen2,

    /// <summary><c>qwen2moe</c>: routed experts plus a gated shared expert.</summary>
    Qwen2Moe,

    /// <summary><c>qwen3</c>: llama with per-head q/k norms.</summary>
    Qwen3,

    /// <summary><c>qwen3moe</c>: qwen3 with routed experts.</summary>
    Qwen3Moe,

    /// <summary><c>phi3</c>: fused qkv and gate/up projections.</summary>
    Phi3,

    /// <summary><c>gemma2</c>: sliding-window attention on every other layer, soft-capping, post norms, tied output.</summary>
    Gemma2,

    /// <summary><c>gemma3</c>: five sliding-window layers in six, q/k norms, post norms.</summary>
    Gemma3,

    /// <summary><c>gpt-oss</c> (llama.cpp's OPENAI_MOE): experts with biases, attention sinks, sliding window on every other layer.</summary>
    GptOss,
}

/// <summary>The architecture strings of <c>general.architecture</c> (llama.cpp's <c>LLM_ARCH_NAMES</c>).</summary>
public static class ArchitectureNames
{
    private static readonly Dictionary<string, ArchitectureKind> ByName = new(StringComparer.Ordinal)
    {
        ["llama"] = ArchitectureKind.Llama,
        ["qwen2"] = ArchitectureKind.Qwen2,
        ["qwen2moe"] = ArchitectureKind.Qwen2Moe,
        ["qwen3"] = ArchitectureKind.Qwen3,
        ["qwen3moe"] = ArchitectureKind.Qwen3Moe,
        ["phi3"] = ArchitectureKind.Phi3,
        ["gemma2"] = ArchitectureKind.Gemma2,
        ["gemma3"] = ArchitectureKind.Gemma3,
        ["gpt-oss"] = ArchitectureKind.GptOss,
    };

    /// <summary>The architectures this library checks, by their <c>general.architecture</c> string.</summary>
    public static IReadOnlyCollection<string> Known => ByName.Keys;

    /// <summary>The kind of an architecture string (<see cref="ArchitectureKind.Unknown"/> for any other string or null).</summary>
    public static ArchitectureKind Parse(string? name) =>
        name is not null && ByName.TryGetValue(name, out ArchitectureKind kind) ? kind : ArchitectureKind.Unknown;

    /// <summary>The <c>general.architecture</c> string of a known kind.</summary>
    public static string NameOf(ArchitectureKind kind) => kind switch
    {
        ArchitectureKind.Llama => "llama",
        ArchitectureKind.Qwen2 => "qwen2",
        ArchitectureKind.Qwen2Moe => "qwen2moe",
        ArchitectureKind.Qwen3 => "qwen3",
        ArchitectureKind.Qwen3Moe => "qwen3moe",
        ArchitectureKind.Phi3 => "phi3",
        ArchitectureKind.Gemma2 => "gemma2",
        ArchitectureKind.Gemma3 => "gemma3",
        ArchitectureKind.GptOss => "gpt-oss",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a known architecture"),
    };
}
