namespace Gguf.Tokenization;

/// <summary>
/// What a token is, as llama.cpp's <c>llama_token_attr</c> (same values): derived from
/// <c>tokenizer.ggml.token_type</c>, then adjusted by llama.cpp's rules (control-looking end-of-generation
/// tokens become control, control tokens named "unused" become unused, phi-3's special tokens strip the
/// whitespace on their right, …).
/// </summary>
[Flags]
public enum TokenAttributes
{
    /// <summary>No attribute (token type 0, or an unknown token type).</summary>
    Undefined = 0,

    /// <summary>The unknown token (type 2).</summary>
    Unknown = 1 << 0,

    /// <summary>An unused token (type 5, or a control token whose text contains "unused").</summary>
    Unused = 1 << 1,

    /// <summary>An ordinary token (type 1).</summary>
    Normal = 1 << 2,

    /// <summary>A control token (type 3): split out of text only when special tokens are parsed; decoded only on request.</summary>
    Control = 1 << 3,

    /// <summary>A user-defined token (type 4): always split out of text before the model's own algorithm runs.</summary>
    UserDefined = 1 << 4,

    /// <summary>A byte token such as <c>&lt;0x0A&gt;</c> (type 6).</summary>
    Byte = 1 << 5,

    /// <summary>Normalized (unused by llama.cpp's tokenizers).</summary>
    Normalized = 1 << 6,

    /// <summary>Whitespace to the token's left is removed when it is split out of text.</summary>
    LeftStrip = 1 << 7,

    /// <summary>Whitespace to the token's right is removed when it is split out of text.</summary>
    RightStrip = 1 << 8,

    /// <summary>Single word (unused by llama.cpp's tokenizers).</summary>
    SingleWord = 1 << 9,
}
