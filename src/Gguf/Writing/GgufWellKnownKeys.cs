using Gguf.Format;
using Gguf.Model;

namespace Gguf.Writing;

/// <summary>
/// A required type for a well-known metadata key: the type the GGUF spec (llama.cpp's docs/gguf.md) gives
/// it and llama.cpp reads it as. llama.cpp's typed reads refuse any other type, so a model whose
/// <c>tokenizer.ggml.eos_token_id</c> became an INT32 no longer loads.
/// </summary>
public sealed class GgufKeyRule
{
    internal GgufKeyRule(string pattern, GgufValueType type, GgufValueType? elementType = null, bool powerOfTwo = false)
    {
        Pattern = pattern;
        Type = type;
        ElementType = elementType;
        PowerOfTwo = powerOfTwo;
    }

    /// <summary>The key, or a pattern with one <c>*</c> standing for any non-empty text.</summary>
    public string Pattern { get; }

    /// <summary>The required value type.</summary>
    public GgufValueType Type { get; }

    /// <summary>The required element type when <see cref="Type"/> is an array.</summary>
    public GgufValueType? ElementType { get; }

    /// <summary>Whether the value must also be a power of two (<c>general.alignment</c>).</summary>
    public bool PowerOfTwo { get; }

    /// <summary>The required type in the names <c>gguf dump</c> uses, e.g. <c>uint32</c> or <c>array of string</c>.</summary>
    public string TypeName => ElementType is GgufValueType element
        ? $"array of {GgufValueTypes.Name(element)}"
        : GgufValueTypes.Name(Type) + (PowerOfTwo ? ", a power of two" : "");

    /// <summary>Whether <paramref name="key"/> is governed by this rule.</summary>
    public bool Matches(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        int star = Pattern.IndexOf('*', StringComparison.Ordinal);
        if (star < 0)
        {
            return key == Pattern;
        }

        string prefix = Pattern[..star];
        string suffix = Pattern[(star + 1)..];
        return key.Length > prefix.Length + suffix.Length
            && key.StartsWith(prefix, StringComparison.Ordinal)
            && key.EndsWith(suffix, StringComparison.Ordinal);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Pattern}: {TypeName}";

    /// <summary>Whether <paramref name="value"/> satisfies the rule.</summary>
    internal bool Accepts(GgufValue value) =>
        value.Type == Type
        && (ElementType is null || value.ElementType == ElementType)
        && (!PowerOfTwo || (value.Bits != 0 && (value.Bits & (value.Bits - 1)) == 0 && value.Bits <= GgufReaderOptions.Default.MaxAlignment));
}

/// <summary>
/// The metadata keys whose type is fixed (docs/editing.md has the table): the editor refuses any other
/// type for them with an <see cref="ArgumentException"/> naming the key and the required type.
/// </summary>
public static class GgufWellKnownKeys
{
    private static readonly GgufKeyRule[] s_rules =
    [
        // The layout: llama.cpp's gguf.cpp rejects any other type or value.
        new(GgufKeys.Alignment, GgufValueType.UInt32, powerOfTwo: true),

        // general.*: the spec's types; llama.cpp reads the architecture and file type with typed getters.
        new(GgufKeys.Architecture, GgufValueType.String),
        new(GgufKeys.QuantizationVersion, GgufValueType.UInt32),
        new(GgufKeys.FileType, GgufValueType.UInt32),
        new(GgufKeys.Name, GgufValueType.String),
        new("general.author", GgufValueType.String),
        new("general.version", GgufValueType.String),
        new("general.organization", GgufValueType.String),
        new("general.basename", GgufValueType.String),
        new("general.finetune", GgufValueType.String),
        new(GgufKeys.Description, GgufValueType.String),
        new("general.quantized_by", GgufValueType.String),
        new("general.size_label", GgufValueType.String),
        new(GgufKeys.License, GgufValueType.String),
        new("general.license.name", GgufValueType.String),
        new("general.license.link", GgufValueType.String),
        new("general.url", GgufValueType.String),
        new("general.doi", GgufValueType.String),
        new("general.uuid", GgufValueType.String),
        new("general.repo_url", GgufValueType.String),
        new("general.tags", GgufValueType.Array, GgufValueType.String),
        new("general.languages", GgufValueType.Array, GgufValueType.String),
        new("general.datasets", GgufValueType.Array, GgufValueType.String),

        // Splits, as llama.cpp's gguf-split writes them and its loader reads them.
        new(GgufKeys.SplitNo, GgufValueType.UInt16),
        new(GgufKeys.SplitCount, GgufValueType.UInt16),
        new(GgufKeys.SplitTensorsCount, GgufValueType.Int32),

        // The tokenizer, as llama.cpp's vocabulary loader reads it.
        new(GgufKeys.TokenizerModel, GgufValueType.String),
        new(GgufKeys.TokenizerPre, GgufValueType.String),
        new(GgufKeys.TokenizerTokens, GgufValueType.Array, GgufValueType.String),
        new(GgufKeys.TokenizerScores, GgufValueType.Array, GgufValueType.Float32),
        new(GgufKeys.TokenizerTokenType, GgufValueType.Array, GgufValueType.Int32),
        new(GgufKeys.TokenizerMerges, GgufValueType.Array, GgufValueType.String),
        new("tokenizer.ggml.add_bos_token", GgufValueType.Bool),
        new("tokenizer.ggml.add_eos_token", GgufValueType.Bool),
        new("tokenizer.ggml.add_sep_token", GgufValueType.Bool),
        new("tokenizer.ggml.add_space_prefix", GgufValueType.Bool),
        new("tokenizer.ggml.remove_extra_whitespaces", GgufValueType.Bool),
        new(GgufKeys.ChatTemplate, GgufValueType.String),

        // Patterns last: exact keys win.
        new("tokenizer.ggml.*_token_id", GgufValueType.UInt32),
        new("tokenizer.chat_template.*", GgufValueType.String),
    ];

    /// <summary>Every rule, exact keys first, then the patterns.</summary>
    public static IReadOnlyList<GgufKeyRule> Rules => s_rules;

    /// <summary>The rule for <paramref name="key"/>, or null when its type is free.</summary>
    public static GgufKeyRule? Find(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        foreach (GgufKeyRule rule in s_rules)
        {
            if (rule.Matches(key))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="value"/> breaks the rule for <paramref name="key"/>.</summary>
    public static void Validate(string key, GgufValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        GgufKeyRule? rule = Find(key);
        if (rule is not null && !rule.Accepts(value))
        {
            throw new ArgumentException($"metadata key '{key}' must be {rule.TypeName}, not {Describe(value)}", nameof(value));
        }
    }

    /// <summary>A value's type as <c>gguf dump</c> names it, with the value for scalars that break a value rule.</summary>
    internal static string Describe(GgufValue value) => value.Type switch
    {
        GgufValueType.Array => $"array of {GgufValueTypes.Name(value.ElementType)}",
        GgufValueType.UInt32 => $"uint32 {value.Bits}",
        _ => GgufValueTypes.Name(value.Type),
    };
}
