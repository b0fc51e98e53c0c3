namespace Gguf.Tokenization;

/// <summary>
/// The file's tokenizer is well formed but of a kind this library does not implement: a
/// <c>tokenizer.ggml.model</c> other than <c>llama</c>, <c>gpt2</c>, <c>bert</c> and <c>t5</c>, or a
/// <c>tokenizer.ggml.pre</c> whose llama.cpp rules are not implemented. <see cref="Key"/> and
/// <see cref="Value"/> name it.
/// </summary>
public sealed class TokenizerNotSupportedException : NotSupportedException
{
    /// <summary>Creates an exception for an unsupported value of a metadata key.</summary>
    public TokenizerNotSupportedException(string key, string value, string detail)
        : base($"{detail} ({key} = '{value}')")
    {
        Key = key;
        Value = value;
    }

    /// <summary>Creates an exception with a message.</summary>
    public TokenizerNotSupportedException()
        : this("tokenizer.ggml.model", "", "unsupported tokenizer")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public TokenizerNotSupportedException(string message)
        : base(message)
    {
        Key = "";
        Value = "";
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public TokenizerNotSupportedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Key = "";
        Value = "";
    }

    /// <summary>The metadata key whose value is not supported.</summary>
    public string Key { get; }

    /// <summary>The unsupported value.</summary>
    public string Value { get; }
}
