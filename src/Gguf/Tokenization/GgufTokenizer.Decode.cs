using System.Text;

namespace Gguf.Tokenization;

public sealed partial class GgufTokenizer
{
    /// <summary>
    /// The text of one token as llama.cpp's <c>llama_token_to_piece</c> renders it: SentencePiece's "▁"
    /// becomes a space, byte tokens become their byte, BPE characters their bytes; control and unknown
    /// tokens render only when <paramref name="special"/> is true.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not a token id.</exception>
    public byte[] TokenToPieceUtf8(int id, bool special = true)
    {
        CheckId(id);
        var piece = new ValueList<byte>(32);
        try
        {
            AppendPiece(id, special, stripLeadingSpace: false, ref piece);
            return piece.Span.ToArray();
        }
        finally
        {
            piece.Dispose();
        }
    }

    /// <summary>The piece of one token (see <see cref="TokenToPieceUtf8"/>) as a string; a partial UTF-8 character becomes U+FFFD.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not a token id.</exception>
    public string TokenToPiece(int id, bool special = true) => Encoding.UTF8.GetString(TokenToPieceUtf8(id, special));

    /// <summary>
    /// Detokenizes as llama.cpp's <c>llama_detokenize</c>: the pieces joined, the space prefix removed,
    /// and for vocabularies that ask for it, spaces before punctuation and contractions cleaned up.
    /// </summary>
    /// <param name="ids">The tokens.</param>
    /// <param name="removeSpecial">Drop a leading BOS and a trailing EOS when the vocabulary adds them.</param>
    /// <param name="unparseSpecial">Render control and unknown tokens as their text (else they render as nothing).</param>
    /// <exception cref="ArgumentOutOfRangeException">An id is not a token id.</exception>
    public byte[] DecodeToUtf8(ReadOnlySpan<int> ids, bool removeSpecial = false, bool unparseSpecial = false)
    {
        foreach (int id in ids)
        {
            CheckId(id);
        }

        var text = new ValueList<byte>(ids.Length * 4 + 16);
        try
        {
            bool removeSpace = AddSpacePrefix;
            if (removeSpecial && AddBosToken && ids.Length > 0 && ids[0] == Bos)
            {
                removeSpace = false;
                ids = ids.Slice(1);
            }

            if (removeSpecial && AddEosToken && ids.Length > 0 && ids[^1] == Eos)
            {
                ids = ids.Slice(0, ids.Length - 1);
            }

            foreach (int id in ids)
            {
                AppendPiece(id, unparseSpecial, removeSpace, ref text);
                removeSpace = false;
            }

            int length = _cleanSpaces ? CleanSpaces(text.Span) : text.Count;
            return text.Span.Slice(0, length).ToArray();
        }
        finally
        {
            text.Dispose();
        }
    }

    /// <summary>Detokenizes (see <see cref="DecodeToUtf8"/>) to a string; invalid UTF-8 becomes U+FFFD.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not a token id.</exception>
    public string Decode(ReadOnlySpan<int> ids, bool removeSpecial = false, bool unparseSpecial = false) =>
        Encoding.UTF8.GetString(DecodeToUtf8(ids, removeSpecial, unparseSpecial));

    /// <summary>llama.cpp's <c>token_to_piece</c> (through its cache), appending to <paramref name="output"/>.</summary>
    private void AppendPiece(int id, bool special, bool stripLeadingSpace, ref ValueList<byte> output)
    {
        TokenAttributes attrs = _attributes[id];
        const TokenAttributes Hidden = TokenAttributes.Unknown | TokenAttributes.Control;
        if (!special && (attrs & Hidden) != 0)
        {
            return;
        }

        int start = output.Count;
        ReadOnlySpan<byte> text = _tokens[id];
        if ((attrs & (Hidden | TokenAttributes.UserDefined)) != 0)
        {
            output.AddRange(text);
        }
        else if ((attrs & TokenAttributes.Normal) != 0)
        {
            if (Model == TokenizerModel.BytePairEncoding)
            {
                AppendBpeDecoded(text, ref output);
            }
            else
            {
                AppendUnescaped(text, ref output);
            }
        }
        else if ((attrs & TokenAttributes.Byte) != 0)
        {
            output.Add(ByteTokenValue(text));
        }

        if (stripLeadingSpace && output.Count > start && output[start] == (byte)' ')
        {
            output.Span.Slice(start + 1).CopyTo(output.Span.Slice(start));
            output.Truncate(output.Count - 1);
        }
    }

    /// <summary>"▁" (U+2581) back to spaces.</summary>
    private static void AppendUnescaped(ReadOnlySpan<byte> text, ref ValueList<byte> output)
    {
        while (true)
        {
            int index = text.IndexOf(EscapedSpace);
            if (index < 0)
            {
                output.AddRange(text);
                return;
            }

            output.AddRange(text.Slice(0, index));
            output.Add((byte)' ');
            text = text.Slice(index + EscapedSpace.Length);
        }
    }

    /// <summary>
    /// llama.cpp's <c>llama_decode_text</c>: each character back to the byte it stands for; a character
    /// that stands for none becomes "[UNK_BYTE_0x" + its UTF-8 in hex + the whole token + "]".
    /// </summary>
    private static void AppendBpeDecoded(ReadOnlySpan<byte> text, ref ValueList<byte> output)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < text.Length;)
        {
            int cp = LlamaUnicode.Decode(text.Slice(i), out int length);
            i += length;
            int b = ByteEncoding.Decode(cp);
            if (b >= 0)
            {
                output.Add((byte)b);
                continue;
            }

            output.AddRange("[UNK_BYTE_0x"u8);
            int written = LlamaUnicode.Encode(cp, utf8);
            foreach (byte u in utf8.Slice(0, written))
            {
                output.Add((byte)"0123456789abcdef"[u >> 4]);
                output.Add((byte)"0123456789abcdef"[u & 15]);
            }

            output.AddRange(text);
            output.Add((byte)']');
        }
    }

    /// <summary>
    /// llama.cpp's <c>token_to_byte</c>: <c>strtol(text.substr(3, 2), 16)</c> as a byte (the load rejects
    /// byte tokens shorter than 3 bytes, where llama.cpp fails too).
    /// </summary>
    internal static byte ByteTokenValue(ReadOnlySpan<byte> text)
    {
        ReadOnlySpan<byte> digits = text.Slice(3, Math.Min(2, text.Length - 3));
        int i = 0;
        while (i < digits.Length && IsCSpace(digits[i]))
        {
            i++;
        }

        bool negative = false;
        if (i < digits.Length && (digits[i] == '+' || digits[i] == '-'))
        {
            negative = digits[i] == '-';
            i++;
        }

        // A "0x" prefix counts only when a hex digit follows; two characters leave no room for one.
        long value = 0;
        for (; i < digits.Length && HexValue(digits[i]) >= 0; i++)
        {
            value = (value * 16) + HexValue(digits[i]);
        }

        return (byte)(negative ? -value : value);
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>
    /// llama.cpp's <c>clean_spaces</c>, in place and in its three passes: drop a space before <c>? ! . ,</c>;
    /// drop the spaces around a lone apostrophe; drop a space before <c>'s 'm 're 've</c>. Returns the new length.
    /// </summary>
    private static int CleanSpaces(Span<byte> text)
    {
        int total1 = text.Length;
        int total = total1 > 0 ? 1 : 0;
        for (int i = 1; i < total1; i++)
        {
            byte x = text[i];
            if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ','))
            {
                total--;
            }

            text[total++] = x;
        }

        int total2 = total;
        total = total2 > 0 ? 1 : 0;
        for (int i = 1; i < total2; i++)
        {
            byte x = text[i];
            if (x == '\'' && i + 1 < total2 && text[i - 1] == ' ' && text[i + 1] == ' ')
            {
                total--;
                text[++i] = 0;
            }

            text[total++] = x;
        }

        int total3 = total;
        total = total3 > 0 ? 1 : 0;
        for (int i = 1; i < total3; i++)
        {
            byte x = text[i];
            if (text[i - 1] == ' ' && x == '\'' && i + 1 < total3)
            {
                byte x1 = text[i + 1];
                if (x1 == 's' || x1 == 'm')
                {
                    total--;
                }
                else if (x1 != 't' && x1 != 'd' && i + 2 < total3)
                {
                    byte x2 = text[i + 2];
                    if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e'))
                    {
                        total--;
                    }
                }
            }

            text[total++] = x;
        }

        return total;
    }
}
