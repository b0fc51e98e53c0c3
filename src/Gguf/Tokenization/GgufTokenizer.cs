using System.Text;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Tokenization;

/// <summary>
/// The tokenizer a GGUF file describes in its <c>tokenizer.ggml.*</c> metadata, giving the same token ids
/// as llama.cpp's <c>llama_tokenize</c> and the same text as <c>llama_detokenize</c>: SentencePiece
/// (<c>llama</c>), byte-level BPE (<c>gpt2</c>, with llama.cpp's pre-tokenizers), WordPiece (<c>bert</c>)
/// and Unigram (<c>t5</c>), with special and control tokens, byte fallback and llama.cpp's BOS/EOS rules.
/// </summary>
/// <remarks>
/// <para>Built from an open file without loading the model: token texts are copied once into one UTF-8
/// buffer with a hash index, scores and types into arrays; no string is allocated per token.</para>
/// <para>Immutable once built; any number of threads may encode and decode at the same time.</para>
/// <para>Malformed tokenizer metadata throws <see cref="GgufFormatException"/> (codes
/// <see cref="GgufErrorCode.MissingKey"/>, <see cref="GgufErrorCode.InvalidTokenizer"/>,
/// <see cref="GgufErrorCode.TypeMismatch"/>) naming the key; a well-formed tokenizer of a kind not
/// implemented here throws <see cref="TokenizerNotSupportedException"/>. No input text makes encoding
/// throw.</para>
/// </remarks>
public sealed partial class GgufTokenizer
{
    /// <summary>The id llama.cpp uses for "no token" (<c>LLAMA_TOKEN_NULL</c>).</summary>
    public const int NoToken = -1;

    private readonly TokenTable _tokens;
    private readonly float[] _scores;
    private readonly TokenAttributes[] _attributes;
    private readonly int[] _specialTokens;
    private readonly HashSet<int> _endOfGeneration;
    private readonly PreTokenizer? _pre;
    private readonly MergeTable? _merges;
    private readonly int[] _byteTokens;
    private readonly int[][] _byteFallback;
    private readonly int _maxTokenLength;
    private readonly bool _cleanSpaces;
    private readonly bool _lowercase;
    private readonly bool _stripAccents;
    private readonly bool _spmWordsIndependent;
    private readonly UnigramModel? _unigram;

    /// <summary>The kind of vocabulary.</summary>
    public TokenizerModel Model { get; }

    /// <summary>The BPE pre-tokenizer's name (<c>tokenizer.ggml.pre</c>, <c>default</c> when absent), or null for other models.</summary>
    public string? PreTokenizerName => _pre?.Name;

    /// <summary>The number of tokens.</summary>
    public int VocabularySize => _tokens.Count;

    /// <summary>Beginning-of-sequence token (the CLS token of WordPiece), or <see cref="NoToken"/>.</summary>
    public int Bos { get; }

    /// <summary>End-of-sequence token, or <see cref="NoToken"/>.</summary>
    public int Eos { get; }

    /// <summary>End-of-turn token (from metadata, else found by text the way llama.cpp does), or <see cref="NoToken"/>.</summary>
    public int Eot { get; }

    /// <summary>End-of-message token, or <see cref="NoToken"/>.</summary>
    public int Eom { get; }

    /// <summary>Unknown token, or <see cref="NoToken"/>.</summary>
    public int Unknown { get; }

    /// <summary>Separator token (the SEP of WordPiece), or <see cref="NoToken"/>.</summary>
    public int Separator { get; }

    /// <summary>Padding token, or <see cref="NoToken"/>.</summary>
    public int Padding { get; }

    /// <summary>Mask token, or <see cref="NoToken"/>.</summary>
    public int Mask { get; }

    /// <summary>The token llama.cpp uses for a newline, or <see cref="NoToken"/>.</summary>
    public int NewLine { get; }

    /// <summary>Fill-in-the-middle prefix token, or <see cref="NoToken"/>.</summary>
    public int FimPrefix { get; }

    /// <summary>Fill-in-the-middle suffix token, or <see cref="NoToken"/>.</summary>
    public int FimSuffix { get; }

    /// <summary>Fill-in-the-middle middle token, or <see cref="NoToken"/>.</summary>
    public int FimMiddle { get; }

    /// <summary>Fill-in-the-middle padding token, or <see cref="NoToken"/>.</summary>
    public int FimPad { get; }

    /// <summary>Fill-in-the-middle repository token, or <see cref="NoToken"/>.</summary>
    public int FimRepository { get; }

    /// <summary>Fill-in-the-middle file separator token, or <see cref="NoToken"/>.</summary>
    public int FimSeparator { get; }

    /// <summary>Whether <c>Encode(…, addSpecial: true)</c> starts with <see cref="Bos"/>.</summary>
    public bool AddBosToken { get; }

    /// <summary>Whether <c>Encode(…, addSpecial: true)</c> ends with <see cref="Eos"/>.</summary>
    public bool AddEosToken { get; }

    /// <summary>Whether the vocabulary asks for a separator at the end (llama.cpp's <c>add_sep</c>; WordPiece always adds it).</summary>
    public bool AddSeparatorToken { get; }

    /// <summary>Whether SentencePiece text gets a leading space (<c>tokenizer.ggml.add_space_prefix</c>).</summary>
    public bool AddSpacePrefix { get; }

    /// <summary>The length in bytes of the longest token.</summary>
    public int MaxTokenLength => _maxTokenLength;

    /// <summary>The UTF-8 bytes of token <paramref name="id"/> as stored in the vocabulary.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not a token id.</exception>
    public ReadOnlySpan<byte> GetTokenUtf8(int id)
    {
        CheckId(id);
        return _tokens[id];
    }

    /// <summary>The text of token <paramref name="id"/> as stored in the vocabulary (invalid UTF-8 becomes U+FFFD).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not a token id.</exception>
    public string GetTokenText(int id) => Encoding.UTF8.GetString(GetTokenUtf8(id));

    /// <summary>The score of token <paramref name="id"/> (0 when the file has no scores).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not a token id.</exception>
    public float GetScore(int id)
    {
        CheckId(id);
        return _scores.Length == 0 ? 0f : _scores[id];
    }

    /// <summary>The attributes of token <paramref name="id"/>, as llama.cpp's <c>llama_vocab_get_attr</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not a token id.</exception>
    public TokenAttributes GetAttributes(int id)
    {
        CheckId(id);
        return _attributes[id];
    }

    /// <summary>Whether <paramref name="id"/> ends generation (llama.cpp's <c>llama_vocab_is_eog</c>).</summary>
    public bool IsEndOfGeneration(int id) => id != NoToken && _endOfGeneration.Contains(id);

    /// <summary>The id of the token whose text is exactly <paramref name="utf8"/>.</summary>
    public bool TryGetTokenId(ReadOnlySpan<byte> utf8, out int id)
    {
        id = _tokens.Find(utf8);
        return id >= 0;
    }

    /// <summary>The id of the token whose text is exactly <paramref name="text"/>.</summary>
    public bool TryGetTokenId(string text, out int id)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryGetTokenId(Encoding.UTF8.GetBytes(text), out id);
    }

    private void CheckId(int id)
    {
        if ((uint)id >= (uint)_tokens.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"token ids are 0 to {_tokens.Count - 1}");
        }
    }
}
