using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Gguf.Format;

namespace Gguf.Model;

/// <summary>The metadata of a file: entries in file order and lookup by key.</summary>
public sealed class GgufMetadata : IReadOnlyList<GgufMetadataEntry>
{
    private readonly List<GgufMetadataEntry> _entries;
    private readonly Dictionary<string, int> _byKey;

    internal GgufMetadata(List<GgufMetadataEntry> entries, Dictionary<string, int> byKey)
    {
        _entries = entries;
        _byKey = byKey;
    }

    /// <inheritdoc />
    public int Count => _entries.Count;

    /// <inheritdoc />
    public GgufMetadataEntry this[int index] => _entries[index];

    /// <summary>The entry with the given key.</summary>
    /// <exception cref="KeyNotFoundException">No such key.</exception>
    public GgufMetadataEntry this[string key] =>
        TryGet(key, out GgufMetadataEntry? entry) ? entry : throw new KeyNotFoundException($"metadata key '{key}' is not in the file");

    /// <summary>Whether the key is present.</summary>
    public bool ContainsKey(string key) => _byKey.ContainsKey(key);

    /// <summary>Looks up an entry by key.</summary>
    public bool TryGet(string key, [NotNullWhen(true)] out GgufMetadataEntry? entry)
    {
        if (_byKey.TryGetValue(key, out int index))
        {
            entry = _entries[index];
            return true;
        }

        entry = null;
        return false;
    }

    /// <summary>A STRING value, or false when the key is absent. A present key of another type throws.</summary>
    public bool TryGetString(string key, [NotNullWhen(true)] out string? value)
    {
        value = TryGet(key, out GgufMetadataEntry? e) ? e.GetString() : null;
        return value is not null;
    }

    /// <summary>A UINT32 value, or false when the key is absent. A present key of another type throws.</summary>
    public bool TryGetUInt32(string key, out uint value)
    {
        bool found = TryGet(key, out GgufMetadataEntry? e);
        value = found ? e!.GetUInt32() : 0;
        return found;
    }

    /// <summary>An integer of any width, or false when the key is absent.</summary>
    public bool TryGetInteger(string key, out long value)
    {
        bool found = TryGet(key, out GgufMetadataEntry? e);
        value = found ? e!.GetInteger() : 0;
        return found;
    }

    /// <summary>An ARRAY value, or false when the key is absent.</summary>
    public bool TryGetArray(string key, [NotNullWhen(true)] out GgufArray? value)
    {
        value = TryGet(key, out GgufMetadataEntry? e) ? e.GetArray() : null;
        return value is not null;
    }

    /// <summary>A STRING value, or null when the key is absent.</summary>
    public string? GetStringOrNull(string key) => TryGetString(key, out string? v) ? v : null;

    /// <inheritdoc />
    public IEnumerator<GgufMetadataEntry> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Well-known metadata keys (docs/gguf.md of llama.cpp).</summary>
public static class GgufKeys
{
    /// <summary><c>general.architecture</c>: the model architecture, e.g. <c>llama</c>.</summary>
    public const string Architecture = "general.architecture";
    /// <summary><c>general.name</c>.</summary>
    public const string Name = "general.name";
    /// <summary><c>general.alignment</c>: UINT32 power of two, 32 when absent.</summary>
    public const string Alignment = "general.alignment";
    /// <summary><c>general.quantization_version</c>.</summary>
    public const string QuantizationVersion = "general.quantization_version";
    /// <summary><c>general.file_type</c>: a <c>llama_ftype</c> value.</summary>
    public const string FileType = "general.file_type";
    /// <summary><c>general.description</c>.</summary>
    public const string Description = "general.description";
    /// <summary><c>general.license</c>.</summary>
    public const string License = "general.license";
    /// <summary><c>split.no</c>: 0-based index of this split (UINT16).</summary>
    public const string SplitNo = "split.no";
    /// <summary><c>split.count</c>: number of splits (UINT16).</summary>
    public const string SplitCount = "split.count";
    /// <summary><c>split.tensors.count</c>: tensors across all splits (INT32).</summary>
    public const string SplitTensorsCount = "split.tensors.count";
    /// <summary><c>tokenizer.ggml.model</c>.</summary>
    public const string TokenizerModel = "tokenizer.ggml.model";
    /// <summary><c>tokenizer.ggml.pre</c>.</summary>
    public const string TokenizerPre = "tokenizer.ggml.pre";
    /// <summary><c>tokenizer.ggml.tokens</c>: ARRAY of STRING.</summary>
    public const string TokenizerTokens = "tokenizer.ggml.tokens";
    /// <summary><c>tokenizer.ggml.scores</c>: ARRAY of FLOAT32.</summary>
    public const string TokenizerScores = "tokenizer.ggml.scores";
    /// <summary><c>tokenizer.ggml.token_type</c>: ARRAY of INT32.</summary>
    public const string TokenizerTokenType = "tokenizer.ggml.token_type";
    /// <summary><c>tokenizer.ggml.merges</c>: ARRAY of STRING.</summary>
    public const string TokenizerMerges = "tokenizer.ggml.merges";
    /// <summary><c>tokenizer.ggml.bos_token_id</c>.</summary>
    public const string TokenizerBosId = "tokenizer.ggml.bos_token_id";
    /// <summary><c>tokenizer.ggml.eos_token_id</c>.</summary>
    public const string TokenizerEosId = "tokenizer.ggml.eos_token_id";
    /// <summary><c>tokenizer.chat_template</c>.</summary>
    public const string ChatTemplate = "tokenizer.chat_template";

    /// <summary><c>{arch}.block_count</c>.</summary>
    public static string BlockCount(string architecture) => architecture + ".block_count";
    /// <summary><c>{arch}.context_length</c>.</summary>
    public static string ContextLength(string architecture) => architecture + ".context_length";
    /// <summary><c>{arch}.embedding_length</c>.</summary>
    public static string EmbeddingLength(string architecture) => architecture + ".embedding_length";
    /// <summary><c>{arch}.feed_forward_length</c>.</summary>
    public static string FeedForwardLength(string architecture) => architecture + ".feed_forward_length";
    /// <summary><c>{arch}.attention.head_count</c>.</summary>
    public static string HeadCount(string architecture) => architecture + ".attention.head_count";
    /// <summary><c>{arch}.attention.head_count_kv</c>.</summary>
    public static string HeadCountKv(string architecture) => architecture + ".attention.head_count_kv";
}
