using System.Buffers;
using System.Text;

namespace Gguf.Tokenization;

public sealed partial class GgufTokenizer
{
    // "▁" (U+2581), SentencePiece's escaped space.
    private static ReadOnlySpan<byte> EscapedSpace => [0xE2, 0x96, 0x81];

    /// <summary>
    /// Tokenizes <paramref name="text"/> as llama.cpp's <c>llama_tokenize</c> does with the same flags.
    /// The text is converted to UTF-8 first (a lone surrogate becomes U+FFFD).
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="addSpecial">Add the vocabulary's BOS/EOS (or CLS/SEP) tokens, as its rules say.</param>
    /// <param name="parseSpecial">Recognise control tokens (e.g. <c>&lt;|im_end|&gt;</c>) written in the text; user-defined tokens are always recognised.</param>
    public int[] Encode(string text, bool addSpecial = true, bool parseSpecial = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(text.AsSpan(), addSpecial, parseSpecial);
    }

    /// <summary>Tokenizes UTF-16 text (converted to UTF-8 first; a lone surrogate becomes U+FFFD).</summary>
    /// <inheritdoc cref="Encode(string, bool, bool)"/>
    public int[] Encode(ReadOnlySpan<char> text, bool addSpecial = true, bool parseSpecial = true)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            int length = Encoding.UTF8.GetBytes(text, rented);
            return Encode(rented.AsSpan(0, length), addSpecial, parseSpecial);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Tokenizes UTF-8 bytes exactly as llama.cpp's <c>llama_tokenize</c> does with the same flags; the
    /// bytes need not be valid UTF-8 (llama.cpp's rules for invalid sequences apply).
    /// </summary>
    /// <param name="utf8">The text's bytes.</param>
    /// <param name="addSpecial">Add the vocabulary's BOS/EOS (or CLS/SEP) tokens, as its rules say.</param>
    /// <param name="parseSpecial">Recognise control tokens written in the text; user-defined tokens are always recognised.</param>
    public int[] Encode(ReadOnlySpan<byte> utf8, bool addSpecial = true, bool parseSpecial = true)
    {
        var output = new ValueList<int>(Math.Min(utf8.Length / 3 + 8, 1 << 20));
        try
        {
            EncodeCore(utf8, addSpecial, parseSpecial, ref output);
            return output.Span.ToArray();
        }
        finally
        {
            output.Dispose();
        }
    }

    /// <summary>
    /// Tokenizes UTF-8 bytes into <paramref name="destination"/>. Returns false, with the number of tokens
    /// needed in <paramref name="tokenCount"/>, when it is too small (as <c>llama_tokenize</c> returns a
    /// negative count).
    /// </summary>
    /// <param name="utf8">The text's bytes.</param>
    /// <param name="destination">Where the ids go.</param>
    /// <param name="tokenCount">The number of ids written, or needed when the destination is too small.</param>
    /// <param name="addSpecial">Add the vocabulary's BOS/EOS (or CLS/SEP) tokens.</param>
    /// <param name="parseSpecial">Recognise control tokens written in the text.</param>
    public bool TryEncode(ReadOnlySpan<byte> utf8, Span<int> destination, out int tokenCount, bool addSpecial = true, bool parseSpecial = true)
    {
        var output = new ValueList<int>(Math.Min(utf8.Length / 3 + 8, 1 << 20));
        try
        {
            EncodeCore(utf8, addSpecial, parseSpecial, ref output);
            tokenCount = output.Count;
            if (output.Count > destination.Length)
            {
                return false;
            }

            output.Span.CopyTo(destination);
            return true;
        }
        finally
        {
            output.Dispose();
        }
    }

    /// <summary>The number of tokens <see cref="Encode(string, bool, bool)"/> would return.</summary>
    public int CountTokens(string text, bool addSpecial = true, bool parseSpecial = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        var output = new ValueList<int>(Math.Min(text.Length / 3 + 8, 1 << 20));
        try
        {
            int length = Encoding.UTF8.GetBytes(text, rented);
            EncodeCore(rented.AsSpan(0, length), addSpecial, parseSpecial, ref output);
            return output.Count;
        }
        finally
        {
            output.Dispose();
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void EncodeCore(ReadOnlySpan<byte> text, bool addSpecial, bool parseSpecial, ref ValueList<int> output)
    {
        var fragments = new ValueList<Fragment>(8);
        try
        {
            if (!text.IsEmpty)
            {
                fragments.Add(new Fragment(NoToken, 0, text.Length));
                Partition(text, parseSpecial, ref fragments);
            }

            switch (Model)
            {
                case TokenizerModel.SentencePiece:
                    EncodeSentencePiece(text, fragments.Span, addSpecial, ref output);
                    break;
                case TokenizerModel.BytePairEncoding:
                    if (addSpecial && AddBosToken)
                    {
                        output.Add(Bos);
                    }

                    foreach (Fragment f in fragments.Span)
                    {
                        if (f.Token != NoToken)
                        {
                            output.Add(f.Token);
                        }
                        else
                        {
                            EncodeBpeText(text.Slice(f.Offset, f.Length), ref output);
                        }
                    }

                    if (addSpecial && AddEosToken)
                    {
                        output.Add(Eos);
                    }

                    break;
                case TokenizerModel.Unigram:
                    if (addSpecial && AddBosToken)
                    {
                        output.Add(Bos);
                    }

                    foreach (Fragment f in fragments.Span)
                    {
                        if (f.Token != NoToken)
                        {
                            output.Add(f.Token);
                        }
                        else
                        {
                            EncodeUnigram(text.Slice(f.Offset, f.Length), ref output);
                        }
                    }

                    if (addSpecial && AddEosToken)
                    {
                        output.Add(Eos);
                    }

                    break;
                case TokenizerModel.WordPiece:
                    // llama.cpp asserts these ids exist; a vocabulary without them gets none.
                    if (addSpecial && Bos != NoToken)
                    {
                        output.Add(Bos);
                    }

                    foreach (Fragment f in fragments.Span)
                    {
                        if (f.Token != NoToken)
                        {
                            output.Add(f.Token);
                        }
                        else
                        {
                            EncodeWordPiece(text.Slice(f.Offset, f.Length), ref output);
                        }
                    }

                    if (addSpecial && Separator != NoToken)
                    {
                        output.Add(Separator);
                    }

                    break;
            }
        }
        finally
        {
            fragments.Dispose();
        }
    }

    /// <summary>A piece of the input: a special token, or raw text (<see cref="Token"/> = <see cref="NoToken"/>).</summary>
    private readonly record struct Fragment(int Token, int Offset, int Length);

    /// <summary>
    /// llama.cpp's <c>tokenizer_st_partition</c>: for each special token, longest first, split every raw
    /// fragment at each occurrence, left to right; control and unknown tokens only when
    /// <paramref name="parseSpecial"/>; left/right-strip tokens take the whitespace beside them.
    /// </summary>
    private void Partition(ReadOnlySpan<byte> text, bool parseSpecial, ref ValueList<Fragment> fragments)
    {
        var next = new ValueList<Fragment>(fragments.Count + 8);
        try
        {
            foreach (int special in _specialTokens)
            {
                TokenAttributes attrs = _attributes[special];
                if (!parseSpecial && (attrs & (TokenAttributes.Control | TokenAttributes.Unknown)) != 0)
                {
                    continue;
                }

                ReadOnlySpan<byte> token = _tokens[special];
                bool changed = false;
                next.Clear();
                foreach (Fragment f in fragments.Span)
                {
                    if (f.Token != NoToken || text.Slice(f.Offset, f.Length).IndexOf(token) < 0)
                    {
                        next.Add(f);
                        continue;
                    }

                    changed = true;
                    SplitFragment(text, f, special, token, attrs, ref next);
                }

                if (changed)
                {
                    (fragments, next) = (next, fragments);
                }
            }
        }
        finally
        {
            next.Dispose();
        }
    }

    private static void SplitFragment(ReadOnlySpan<byte> text, Fragment f, int special, ReadOnlySpan<byte> token, TokenAttributes attrs, ref ValueList<Fragment> output)
    {
        int start = f.Offset;
        int end = f.Offset + f.Length;
        while (true)
        {
            int found = text.Slice(start, end - start).IndexOf(token);
            if (found < 0)
            {
                break;
            }

            int match = start + found;
            if (match > start)
            {
                int leftLength = match - start;
                if ((attrs & TokenAttributes.LeftStrip) != 0)
                {
                    while (leftLength > 0 && IsCSpace(text[start + leftLength - 1]))
                    {
                        leftLength--;
                    }
                }

                if (leftLength > 0)
                {
                    output.Add(new Fragment(NoToken, start, leftLength));
                }
            }

            output.Add(new Fragment(special, 0, 0));
            int right = match + token.Length;
            if (right < end)
            {
                if ((attrs & TokenAttributes.RightStrip) != 0)
                {
                    while (right < end && IsCSpace(text[right]))
                    {
                        right++;
                    }
                }

                start = right;
            }
            else
            {
                start = end;
                break;
            }
        }

        if (end > start)
        {
            output.Add(new Fragment(NoToken, start, end - start));
        }
    }

    /// <summary>C's <c>isspace</c> in the "C" locale.</summary>
    private static bool IsCSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';

    /// <summary>
    /// SentencePiece: each raw fragment, with a leading space when it follows a special token (or starts
    /// the text) and the vocabulary adds a space prefix, spaces escaped as U+2581, then merged.
    /// </summary>
    private void EncodeSentencePiece(ReadOnlySpan<byte> text, ReadOnlySpan<Fragment> fragments, bool addSpecial, ref ValueList<int> output)
    {
        if (addSpecial && AddBosToken)
        {
            output.Add(Bos);
        }

        bool previousSpecial = true;
        var escaped = new ValueList<byte>(256);
        try
        {
            foreach (Fragment f in fragments)
            {
                if (f.Token != NoToken)
                {
                    output.Add(f.Token);
                    previousSpecial = true;
                    continue;
                }

                escaped.Clear();
                if (AddSpacePrefix && previousSpecial)
                {
                    escaped.AddRange(EscapedSpace);
                }

                foreach (byte b in text.Slice(f.Offset, f.Length))
                {
                    if (b == (byte)' ')
                    {
                        escaped.AddRange(EscapedSpace);
                    }
                    else
                    {
                        escaped.Add(b);
                    }
                }

                SentencePieceMerge(escaped.Span, ref output);
                previousSpecial = false;
            }
        }
        finally
        {
            escaped.Dispose();
        }

        if (addSpecial && AddEosToken)
        {
            output.Add(Eos);
        }
    }

    /// <summary>
    /// llama.cpp's SPM session: UTF-8 characters as symbols, repeatedly merge the adjacent pair whose
    /// concatenation is the highest-scoring token (leftmost on ties), then emit each symbol as its token or
    /// as byte tokens. A linked list of symbols and a heap of candidate pairs: O(n log n).
    /// </summary>
    private void SentencePieceMerge(ReadOnlySpan<byte> text, ref ValueList<int> output)
    {
        var symbols = new ValueList<Symbol>(text.Length + 1);
        var queue = new MergeQueue(text.Length + 1, byRank: false);
        try
        {
            for (int offset = 0; offset < text.Length;)
            {
                int length = Math.Min(LlamaUnicode.SequenceLength(text[offset]), text.Length - offset);
                int index = symbols.Count;
                symbols.Add(new Symbol { Start = offset, Length = length, Prev = index - 1, Next = offset + length == text.Length ? -1 : index + 1 });
                offset += length;
            }

            Span<Symbol> sym = symbols.Span;
            if (_spmWordsIndependent)
            {
                // No token holds "▁" after anything but "▁", so no merge crosses the start of a word: merge
                // word by word (same result, small cache-friendly heaps). Scores order totally here.
                int start = 0;
                for (int i = 1; i <= sym.Length; i++)
                {
                    if (i == sym.Length || (IsEscapedSpace(text, sym[i]) && !IsEscapedSpace(text, sym[i - 1])))
                    {
                        MergeSpmRange(text, sym, start, i, ref queue);
                        start = i;
                    }
                }
            }
            else
            {
                MergeSpmRange(text, sym, 0, sym.Length, ref queue);
            }

            if (sym.Length == 0)
            {
                return;
            }

            for (int i = 0; i != -1; i = sym[i].Next)
            {
                ReadOnlySpan<byte> piece = text.Slice(sym[i].Start, sym[i].Length);
                int id = _tokens.Find(piece);
                if (id >= 0)
                {
                    output.Add(id);
                    continue;
                }

                // Byte fallback. llama.cpp aborts when a byte has no token; we emit the unknown token (or nothing).
                foreach (byte b in piece)
                {
                    int byteToken = _byteTokens[b];
                    if (byteToken >= 0)
                    {
                        output.Add(byteToken);
                    }
                    else if (Unknown != NoToken)
                    {
                        output.Add(Unknown);
                    }
                }
            }
        }
        finally
        {
            queue.Dispose();
            symbols.Dispose();
        }
    }

    /// <summary>Seeds the queue with the pairs of symbols [start, end) and merges until nothing applies.</summary>
    private void MergeSpmRange(ReadOnlySpan<byte> text, Span<Symbol> sym, int start, int end, ref MergeQueue queue)
    {
        for (int i = start + 1; i < end; i++)
        {
            TryAddSpmBigram(text, sym, i - 1, i, ref queue);
        }

        while (queue.Count > 0)
        {
            Bigram bigram = queue.Pop();
            ref Symbol left = ref sym[bigram.Left];
            ref Symbol right = ref sym[bigram.Right];
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Size)
            {
                continue; // one side was merged since
            }

            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0)
            {
                sym[right.Next].Prev = bigram.Left;
            }

            TryAddSpmBigram(text, sym, left.Prev, bigram.Left, ref queue);
            TryAddSpmBigram(text, sym, bigram.Left, left.Next, ref queue);
        }
    }

    private static bool IsEscapedSpace(ReadOnlySpan<byte> text, in Symbol symbol) =>
        symbol.Length == 3 && text.Slice(symbol.Start, 3).SequenceEqual(EscapedSpace);

    private void TryAddSpmBigram(ReadOnlySpan<byte> text, Span<Symbol> sym, int left, int right, ref MergeQueue queue)
    {
        if (left == -1 || right == -1)
        {
            return;
        }

        int size = sym[left].Length + sym[right].Length;
        int id = _tokens.Find(text.Slice(sym[left].Start, size));
        if (id < 0)
        {
            return;
        }

        queue.Push(new Bigram { Left = left, Right = right, Size = size, Score = _scores.Length == 0 ? 0f : _scores[id] });
    }

    /// <summary>A symbol of a merge session: a byte range of the text (or word) and its neighbours.</summary>
    private struct Symbol
    {
        public int Start;
        public int Length;
        public int Prev;
        public int Next;
        public int Token;
    }

    /// <summary>
    /// Byte-level BPE on one raw fragment: decode to code points (llama.cpp's decoder), split with the
    /// pre-tokenizer, then merge each piece's bytes.
    /// </summary>
    private void EncodeBpeText(ReadOnlySpan<byte> text, ref ValueList<int> output)
    {
        PreTokenizer pre = _pre!;
        var codePoints = new ValueList<int>(text.Length);
        var canonical = new ValueList<byte>(text.Length);
        var collapsed = new ValueList<int>(pre.NeedsCollapsed ? text.Length : 1);
        var wide = new ValueList<int>(pre.NeedsWide ? text.Length : 1);
        var pieces = new ValueList<int>(64);
        var spare = new ValueList<int>(64);
        var scratch = new SplitRegex.Scratch();
        try
        {
            // llama.cpp rebuilds each piece from its code points, so invalid bytes become U+FFFD's bytes.
            bool valid = true;
            for (int i = 0; i < text.Length;)
            {
                int cp = LlamaUnicode.Decode(text.Slice(i), out int length);
                codePoints.Add(cp);
                valid &= LlamaUnicode.EncodedLength(cp) == length; // false for an invalid byte or an overlong form
                i += length;
            }

            ReadOnlySpan<int> cps = codePoints.Span;
            if (valid)
            {
                canonical.AddRange(text);
            }
            else
            {
                foreach (int cp in cps)
                {
                    LlamaUnicode.Encode(cp, canonical.AppendSpan(4));
                    canonical.Truncate(canonical.Count - 4 + LlamaUnicode.EncodedLength(cp));
                }
            }

            if (pre.NeedsCollapsed)
            {
                foreach (int cp in cps)
                {
                    collapsed.Add(SplitRegex.CollapseCodePoint(cp));
                }
            }

            if (pre.NeedsWide)
            {
                foreach (int cp in cps)
                {
                    wide.Add(SplitRegex.WideCodePoint(cp));
                }
            }

            pre.Split(cps, collapsed.Span, wide.Span, ref pieces, ref spare, ref scratch);

            ReadOnlySpan<byte> bytes = canonical.Span;
            int cpIndex = 0, byteIndex = 0;
            foreach (int pieceLength in pieces.Span)
            {
                int byteLength = 0;
                for (int k = 0; k < pieceLength; k++)
                {
                    byteLength += LlamaUnicode.EncodedLength(cps[cpIndex + k]);
                }

                BpeWord(bytes.Slice(byteIndex, byteLength), ref output);
                cpIndex += pieceLength;
                byteIndex += byteLength;
            }
        }
        finally
        {
            scratch.Dispose();
            spare.Dispose();
            pieces.Dispose();
            wide.Dispose();
            collapsed.Dispose();
            canonical.Dispose();
            codePoints.Dispose();
        }
    }

    /// <summary>
    /// llama.cpp's BPE session on one piece: bytes (as their GPT-2 characters) are the symbols; repeatedly
    /// merge the adjacent pair of lowest rank (leftmost on ties); emit each symbol's token, or for a
    /// character the vocabulary lacks, the tokens of its UTF-8 bytes where those exist.
    /// </summary>
    private void BpeWord(ReadOnlySpan<byte> word, ref ValueList<int> output)
    {
        if (word.IsEmpty)
        {
            return;
        }

        if (TryWholePiece(word, ref output))
        {
            return;
        }

        if (word.Length == 1)
        {
            EmitByteSymbol(word[0], ref output);
            return;
        }

        MergeTable merges = _merges!;
        var symbols = new ValueList<Symbol>(word.Length);
        var queue = new MergeQueue(word.Length, byRank: true);
        try
        {
            for (int i = 0; i < word.Length; i++)
            {
                symbols.Add(new Symbol { Start = i, Length = 1, Prev = i - 1, Next = i + 1 == word.Length ? -1 : i + 1, Token = _byteTokens[word[i]] });
            }

            Span<Symbol> sym = symbols.Span;
            for (int i = 1; i < sym.Length; i++)
            {
                TryAddBpeBigram(merges, sym, i - 1, i, ref queue);
            }

            while (queue.Count > 0)
            {
                Bigram bigram = queue.Pop();
                ref Symbol left = ref sym[bigram.Left];
                ref Symbol right = ref sym[bigram.Right];
                if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Size)
                {
                    continue; // outdated
                }

                left.Length += right.Length;
                left.Token = bigram.Result;
                right.Length = 0;
                left.Next = right.Next;
                if (right.Next >= 0)
                {
                    sym[right.Next].Prev = bigram.Left;
                }

                TryAddBpeBigram(merges, sym, left.Prev, bigram.Left, ref queue);
                TryAddBpeBigram(merges, sym, bigram.Left, left.Next, ref queue);
            }

            for (int i = 0; i != -1; i = sym[i].Next)
            {
                if (sym[i].Token >= 0)
                {
                    output.Add(sym[i].Token);
                }
                else
                {
                    EmitByteSymbol(word[sym[i].Start], ref output);
                }
            }
        }
        finally
        {
            queue.Dispose();
            symbols.Dispose();
        }
    }

    /// <summary>With <c>ignore_merges</c>, a piece that is a token as a whole is that token.</summary>
    private bool TryWholePiece(ReadOnlySpan<byte> word, ref ValueList<int> output)
    {
        if (!_pre!.IgnoreMerges)
        {
            return false;
        }

        Span<byte> encoded = word.Length <= 128 ? stackalloc byte[word.Length * 2] : new byte[word.Length * 2];
        int length = 0;
        foreach (byte b in word)
        {
            length += ByteEncoding.Encode(b, encoded.Slice(length));
        }

        int id = _tokens.Find(encoded.Slice(0, length));
        if (id < 0)
        {
            return false;
        }

        output.Add(id);
        return true;
    }

    private void EmitByteSymbol(byte b, ref ValueList<int> output)
    {
        int id = _byteTokens[b];
        if (id >= 0)
        {
            output.Add(id);
            return;
        }

        output.AddRange(_byteFallback[b]);
    }

    private static void TryAddBpeBigram(MergeTable merges, Span<Symbol> sym, int left, int right, ref MergeQueue queue)
    {
        if (left == -1 || right == -1)
        {
            return;
        }

        int leftToken = sym[left].Token, rightToken = sym[right].Token;
        if (leftToken < 0 || rightToken < 0 || !merges.TryGet(leftToken, rightToken, out int rank, out int result))
        {
            return;
        }

        queue.Push(new Bigram { Left = left, Right = right, Size = sym[left].Length + sym[right].Length, Rank = rank, Result = result });
    }

    /// <summary>
    /// WordPiece on one raw fragment: BERT's normalization (llama.cpp's <c>preprocess</c>), then per word,
    /// "▁" + word matched greedily by the longest token at each position; a word with an unmatched
    /// position is the unknown token.
    /// </summary>
    private void EncodeWordPiece(ReadOnlySpan<byte> text, ref ValueList<int> output)
    {
        var word = new ValueList<byte>(64);
        Span<byte> utf8 = stackalloc byte[4];
        try
        {
            word.AddRange(EscapedSpace);
            for (int i = 0; i < text.Length;)
            {
                int cp = LlamaUnicode.Decode(text.Slice(i), out int length);
                i += length;
                if (_stripAccents)
                {
                    cp = LlamaUnicode.Nfd(cp);
                }

                byte flags = LlamaUnicode.Flags(cp);
                if (LlamaUnicode.IsWhitespace(flags))
                {
                    FinishWord(ref word, ref output);
                    continue;
                }

                int category = LlamaUnicode.Category(flags);
                if (cp == 0 || cp == LlamaUnicode.ReplacementCharacter || category == LlamaUnicode.CategoryControl)
                {
                    continue;
                }

                if (_stripAccents && category == LlamaUnicode.CategoryAccentMark)
                {
                    continue;
                }

                int written = LlamaUnicode.Encode(_lowercase ? LlamaUnicode.ToLower(cp) : cp, utf8);
                if (category == LlamaUnicode.CategoryPunctuation || (cp < 0x7F && category == LlamaUnicode.CategorySymbol) || IsChineseChar(cp))
                {
                    FinishWord(ref word, ref output);
                    word.AddRange(utf8.Slice(0, written));
                    FinishWord(ref word, ref output);
                }
                else
                {
                    word.AddRange(utf8.Slice(0, written));
                }
            }

            FinishWord(ref word, ref output);
        }
        finally
        {
            word.Dispose();
        }
    }

    /// <summary>Tokenizes the word collected so far ("▁" + word) and starts the next one.</summary>
    private void FinishWord(ref ValueList<byte> word, ref ValueList<int> output)
    {
        if (word.Count > EscapedSpace.Length)
        {
            WordPieceWord(word.Span, ref output);
        }

        word.Truncate(EscapedSpace.Length);
    }

    private void WordPieceWord(ReadOnlySpan<byte> word, ref ValueList<int> output)
    {
        int n = word.Length;
        int before = output.Count;
        for (int i = 0; i < n; i++)
        {
            bool matched = false;
            for (int j = Math.Min(n, i + _maxTokenLength + 1); j > i; j--)
            {
                int id = _tokens.Find(word.Slice(i, j - i));
                if (id >= 0)
                {
                    output.Add(id);
                    matched = true;
                    i = j - 1;
                    break;
                }
            }

            if (!matched)
            {
                output.Truncate(before);
                break;
            }
        }

        if (output.Count == before)
        {
            output.Add(Unknown); // NoToken when the vocabulary has none, as llama.cpp
        }
    }

    /// <summary>The CJK ranges BERT splits into single characters (llama.cpp's list, including its 0x2B920 start).</summary>
    private static bool IsChineseChar(int cp) =>
        (cp >= 0x04E00 && cp <= 0x09FFF) ||
        (cp >= 0x03400 && cp <= 0x04DBF) ||
        (cp >= 0x20000 && cp <= 0x2A6DF) ||
        (cp >= 0x2A700 && cp <= 0x2B73F) ||
        (cp >= 0x2B740 && cp <= 0x2B81F) ||
        (cp >= 0x2B920 && cp <= 0x2CEAF) ||
        (cp >= 0x0F900 && cp <= 0x0FAFF) ||
        (cp >= 0x2F800 && cp <= 0x2FA1F);
}
