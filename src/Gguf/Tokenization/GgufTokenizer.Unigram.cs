namespace Gguf.Tokenization;

public sealed partial class GgufTokenizer
{
    /// <summary>
    /// The Unigram (T5) model's data: tries of the matchable and of the user-defined tokens, the score of an
    /// unknown character, and SentencePiece's precompiled normalization (an XOR-compressed double array of
    /// byte prefixes and the NUL-terminated strings they become).
    /// </summary>
    internal sealed class UnigramModel(ByteTrie tokens, ByteTrie userDefined, float unknownScore, uint[] charsmap, byte[] replacements, bool removeExtraWhitespaces)
    {
        public ByteTrie Tokens { get; } = tokens;

        public ByteTrie UserDefined { get; } = userDefined;

        public float UnknownScore { get; } = unknownScore;

        public uint[] Charsmap { get; } = charsmap;

        public byte[] Replacements { get; } = replacements;

        public bool RemoveExtraWhitespaces { get; } = removeExtraWhitespaces;
    }

    /// <summary>
    /// llama.cpp's UGM session on one raw fragment: normalize, then the best segmentation by total score
    /// (Viterbi over the token trie, one step per UTF-8 character, an unknown character costing the lowest
    /// score minus 10), consecutive unknowns merged into one.
    /// </summary>
    private void EncodeUnigram(ReadOnlySpan<byte> text, ref ValueList<int> output)
    {
        UnigramModel model = _unigram!;
        var normalized = new ValueList<byte>(text.Length * 3 + 8);
        var best = new ValueList<Best>(1);
        try
        {
            NormalizeUnigram(model, text, ref normalized);
            ReadOnlySpan<byte> input = normalized.Span;
            int length = input.Length;
            if (length == 0)
            {
                return;
            }

            best.AppendSpan(length + 1).Fill(new Best(Unknown, 0, double.MinValue));
            Span<Best> results = best.Span;
            results[0] = new Best(Unknown, 0, 0);
            for (int offset = 0; offset < length;)
            {
                int charLength = Math.Min(LlamaUnicode.SequenceLength(input[offset]), length - offset);
                double current = results[offset].Score;
                bool wholeCharacter = false;
                int node = model.Tokens.Child(ByteTrie.Root, input[offset]);
                int end = offset + 1;
                while (node >= 0)
                {
                    int id = model.Tokens.Value(node);
                    if (id >= 0)
                    {
                        wholeCharacter |= end - offset == charLength;
                        double score = current + ((_attributes[id] & TokenAttributes.UserDefined) != 0 ? 0.0 : _scores.Length == 0 ? 0.0 : _scores[id]);
                        if (score > results[end].Score)
                        {
                            results[end] = new Best(id, offset, score);
                        }
                    }

                    if (end >= length)
                    {
                        break; // llama.cpp reads the string's terminating NUL here and stops one step later
                    }

                    node = model.Tokens.Child(node, input[end++]);
                }

                if (!wholeCharacter)
                {
                    double score = current + model.UnknownScore;
                    int to = offset + charLength;
                    if (score > results[to].Score)
                    {
                        results[to] = new Best(Unknown, offset, score);
                    }
                }

                offset += charLength;
            }

            int start = output.Count;
            bool previousUnknown = false;
            for (Best at = results[length]; ; at = results[at.Offset])
            {
                bool unknown = at.Token == Unknown;
                if (!(previousUnknown && unknown))
                {
                    output.Add(at.Token);
                }

                if (at.Offset == 0)
                {
                    break;
                }

                previousUnknown = unknown;
            }

            output.Span.Slice(start).Reverse();
        }
        finally
        {
            best.Dispose();
            normalized.Dispose();
        }
    }

    private readonly record struct Best(int Token, int Offset, double Score);

    /// <summary>
    /// llama.cpp's UGM <c>normalize</c>: each prefix normalized (a user-defined token as is, else the
    /// charsmap's replacement, else the character, or U+FFFD for an invalid byte); spaces escaped as "▁",
    /// with a space prefix and merged runs as the vocabulary asks.
    /// </summary>
    private void NormalizeUnigram(UnigramModel model, ReadOnlySpan<byte> input, ref ValueList<byte> output)
    {
        bool prependSpace = AddSpacePrefix; // treat_whitespace_as_suffix is false in llama.cpp's loader
        bool mergeSpaces = model.RemoveExtraWhitespaces;
        bool spacePrepended = false;
        bool inWord = false;
        ReadOnlySpan<byte> replacementChar = [0xEF, 0xBF, 0xBD];
        for (int offset = 0; offset < input.Length;)
        {
            ReadOnlySpan<byte> piece;
            int consumed = model.UserDefined.LongestPath(input.Slice(offset));
            if (consumed > 0)
            {
                piece = input.Slice(offset, consumed);
            }
            else if (CharsmapPrefix(model, input.Slice(offset), out int matched, out ReadOnlySpan<byte> replacement))
            {
                piece = replacement;
                consumed = matched;
            }
            else
            {
                int cp = LlamaUnicode.Decode(input.Slice(offset), out consumed);
                bool invalid = cp == LlamaUnicode.ReplacementCharacter && consumed == 1;
                piece = invalid ? replacementChar : input.Slice(offset, consumed);
            }

            foreach (byte c in piece)
            {
                if (c != (byte)' ')
                {
                    if (!inWord)
                    {
                        inWord = true;
                        if ((prependSpace && !spacePrepended) || mergeSpaces)
                        {
                            output.AddRange(EscapedSpace);
                            spacePrepended = true;
                        }
                    }

                    output.Add(c);
                }
                else
                {
                    inWord = false;
                    if (!mergeSpaces)
                    {
                        output.AddRange(EscapedSpace);
                    }
                }
            }

            offset += consumed;
        }
    }

    /// <summary>
    /// The longest input prefix the precompiled charsmap rewrites (walking the XOR-compressed double array as
    /// llama.cpp does). Where llama.cpp would throw (an index outside the array or the strings), no rewrite.
    /// </summary>
    private static bool CharsmapPrefix(UnigramModel model, ReadOnlySpan<byte> input, out int matched, out ReadOnlySpan<byte> replacement)
    {
        matched = 0;
        replacement = default;
        uint[] xcda = model.Charsmap;
        if (xcda.Length == 0)
        {
            return false;
        }

        // Where llama.cpp reads outside the array it throws (and aborts); we stop with what matched so far.
        long valueOffset = -1;
        uint node = Base(xcda[0]);
        for (int i = 0; i < input.Length; i++)
        {
            byte c = input[i];
            if (c == 0)
            {
                break;
            }

            node ^= c;
            if (node >= (uint)xcda.Length || (xcda[node] & (0x80000000u | 0xFF)) != c)
            {
                break;
            }

            bool leaf = ((xcda[node] >> 8) & 1) != 0;
            node ^= Base(xcda[node]);
            if (leaf)
            {
                if (node >= (uint)xcda.Length)
                {
                    break;
                }

                matched = i + 1;
                valueOffset = xcda[node] & 0x7FFFFFFF;
            }
        }

        if (matched == 0 || valueOffset >= model.Replacements.Length)
        {
            matched = 0;
            return false;
        }

        ReadOnlySpan<byte> rest = model.Replacements.AsSpan((int)valueOffset);
        int nul = rest.IndexOf((byte)0);
        replacement = nul < 0 ? rest : rest.Slice(0, nul);
        return true;

        static uint Base(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);
    }
}
