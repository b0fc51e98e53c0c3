namespace Gguf.Format;

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
