using System.Buffers.Binary;
using System.Text;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Tokenization;

public sealed partial class GgufTokenizer
{
    /// <summary>Builds the tokenizer described by an open file's metadata.</summary>
    /// <exception cref="GgufFormatException">The tokenizer metadata is missing or malformed; the exception names the key.</exception>
    /// <exception cref="TokenizerNotSupportedException">The vocabulary type or pre-tokenizer is not implemented.</exception>
    public static GgufTokenizer FromFile(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return FromMetadata(file.Metadata);
    }

    /// <summary>Builds the tokenizer described by a file's metadata.</summary>
    /// <exception cref="GgufFormatException">The tokenizer metadata is missing or malformed; the exception names the key.</exception>
    /// <exception cref="TokenizerNotSupportedException">The vocabulary type or pre-tokenizer is not implemented.</exception>
    public static GgufTokenizer FromMetadata(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return new GgufTokenizer(new Loader(metadata));
    }

    private GgufTokenizer(Loader v)
    {
        v.Load();
        _tokens = v.Tokens!;
        _scores = v.Scores;
        _attributes = v.Attributes!;
        _specialTokens = v.SpecialTokens;
        _endOfGeneration = v.EndOfGeneration;
        _pre = v.Pre;
        _merges = v.Merges;
        _byteTokens = v.ByteTokens;
        _byteFallback = v.ByteFallback;
        _maxTokenLength = v.MaxTokenLength;
        _cleanSpaces = v.CleanSpaces;
        _lowercase = v.Lowercase;
        _stripAccents = v.StripAccents;
        _spmWordsIndependent = v.SpmWordsIndependent;
        _unigram = v.Unigram;
        Model = v.Model;
        Bos = v.Special[Slot.Bos];
        Eos = v.Special[Slot.Eos];
        Eot = v.Special[Slot.Eot];
        Eom = v.Special[Slot.Eom];
        Unknown = v.Special[Slot.Unk];
        Separator = v.Special[Slot.Sep];
        Padding = v.Special[Slot.Pad];
        Mask = v.Special[Slot.Mask];
        FimPrefix = v.Special[Slot.FimPre];
        FimSuffix = v.Special[Slot.FimSuf];
        FimMiddle = v.Special[Slot.FimMid];
        FimPad = v.Special[Slot.FimPad];
        FimRepository = v.Special[Slot.FimRep];
        FimSeparator = v.Special[Slot.FimSep];
        AddBosToken = v.AddBos;
        AddEosToken = v.AddEos;
        AddSeparatorToken = v.AddSep;
        AddSpacePrefix = v.AddSpacePrefix;
        NewLine = ComputeNewLine();
    }

    /// <summary>llama.cpp's <c>linefeed_id</c>: the byte token of '\n' (SentencePiece), the first token of "\n" (BPE), else padding.</summary>
    private int ComputeNewLine()
    {
        switch (Model)
        {
            case TokenizerModel.SentencePiece:
                return _byteTokens['\n'] >= 0 ? _byteTokens['\n'] : Padding;
            case TokenizerModel.BytePairEncoding:
                {
                    // llama.cpp tokenizes "\n" before its special-token list exists: no partition, no BOS.
                    var output = new ValueList<int>(4);
                    try
                    {
                        EncodeBpeText("\n"u8, ref output);
                        return output.Count > 0 ? output[0] : Padding;
                    }
                    finally
                    {
                        output.Dispose();
                    }
                }

            case TokenizerModel.Unigram:
                {
                    // llama.cpp tokenizes "\n" before reading the special ids: the unknown id is still the default 2.
                    var output = new ValueList<int>(4);
                    try
                    {
                        EncodeUnigram("\n"u8, ref output);
                        int first = output.Count > 0 ? output[0] : Padding;
                        return first == Unknown ? 2 : first;
                    }
                    finally
                    {
                        output.Dispose();
                    }
                }

            default:
                return Padding;
        }
    }

    /// <summary>Indices of the special token slots, in the order llama.cpp reads their keys.</summary>
    private static class Slot
    {
        public const int Bos = 0, Eos = 1, Eot = 2, Eom = 3, Unk = 4, Sep = 5, Pad = 6, Mask = 7;
        public const int FimPre = 8, FimSuf = 9, FimMid = 10, FimPad = 11, FimRep = 12, FimSep = 13;
        public const int Count = 14;
    }

    /// <summary>The metadata keys read (llama-arch.cpp).</summary>
    private static class Keys
    {
        public const string Model = "tokenizer.ggml.model";
        public const string Pre = "tokenizer.ggml.pre";
        public const string Tokens = "tokenizer.ggml.tokens";
        public const string Scores = "tokenizer.ggml.scores";
        public const string TokenType = "tokenizer.ggml.token_type";
        public const string TokenTypeCount = "tokenizer.ggml.token_type_count";
        public const string Merges = "tokenizer.ggml.merges";
        public const string AddBos = "tokenizer.ggml.add_bos_token";
        public const string AddEos = "tokenizer.ggml.add_eos_token";
        public const string AddSep = "tokenizer.ggml.add_sep_token";
        public const string AddSpacePrefix = "tokenizer.ggml.add_space_prefix";
        public const string RemoveExtraWhitespaces = "tokenizer.ggml.remove_extra_whitespaces";
        public const string PrecompiledCharsmap = "tokenizer.ggml.precompiled_charsmap";
        public const string Lowercase = "tokenizer.ggml.normalizer.lowercase";
        public const string StripAccents = "tokenizer.ggml.normalizer.strip_accents";
        public const string Name = "general.name";
        public const string Architecture = "general.architecture";

        /// <summary>The special-token keys with their slots, in llama.cpp's order (the deprecated FIM keys last).</summary>
        public static readonly (string Key, int Slot)[] SpecialIds =
        [
            ("tokenizer.ggml.bos_token_id", GgufTokenizer.Slot.Bos),
            ("tokenizer.ggml.eos_token_id", GgufTokenizer.Slot.Eos),
            ("tokenizer.ggml.eot_token_id", GgufTokenizer.Slot.Eot),
            ("tokenizer.ggml.eom_token_id", GgufTokenizer.Slot.Eom),
            ("tokenizer.ggml.unknown_token_id", GgufTokenizer.Slot.Unk),
            ("tokenizer.ggml.seperator_token_id", GgufTokenizer.Slot.Sep),
            ("tokenizer.ggml.padding_token_id", GgufTokenizer.Slot.Pad),
            ("tokenizer.ggml.mask_token_id", GgufTokenizer.Slot.Mask),
            ("tokenizer.ggml.fim_pre_token_id", GgufTokenizer.Slot.FimPre),
            ("tokenizer.ggml.fim_suf_token_id", GgufTokenizer.Slot.FimSuf),
            ("tokenizer.ggml.fim_mid_token_id", GgufTokenizer.Slot.FimMid),
            ("tokenizer.ggml.fim_pad_token_id", GgufTokenizer.Slot.FimPad),
            ("tokenizer.ggml.fim_rep_token_id", GgufTokenizer.Slot.FimRep),
            ("tokenizer.ggml.fim_sep_token_id", GgufTokenizer.Slot.FimSep),
            ("tokenizer.ggml.prefix_token_id", GgufTokenizer.Slot.FimPre),
            ("tokenizer.ggml.suffix_token_id", GgufTokenizer.Slot.FimSuf),
            ("tokenizer.ggml.middle_token_id", GgufTokenizer.Slot.FimMid),
        ];
    }

    /// <summary>Reads and checks the metadata, applying llama.cpp's loading rules (llama-vocab.cpp, <c>load</c>) in its order.</summary>
    private sealed class Loader(GgufMetadata metadata)
    {
        // Texts llama.cpp recognises (llama-vocab.cpp): end of turn, end of message, fill-in-the-middle, end of generation.
        private static readonly string[] EotTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"];
        private static readonly string[] EomTexts = ["<|eom_id|>"];
        private static readonly string[] FimPreTexts = ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"];
        private static readonly string[] FimSufTexts = ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"];
        private static readonly string[] FimMidTexts = ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"];
        private static readonly string[] FimPadTexts = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
        private static readonly string[] FimRepTexts = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"];
        private static readonly string[] FimSepTexts = ["<|file_sep|>"];
        private static readonly string[] EogTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["];

        /// <summary>The most tokens or merges we index: 64 times the largest real vocabulary (262,144), well inside the hash tables' range.</summary>
        private const int MaxEntries = 1 << 24;

        private int[]? _iterationOrder;

        public TokenizerModel Model;
        public TokenTable? Tokens;
        public float[] Scores = [];
        public TokenAttributes[]? Attributes;
        public int[] SpecialTokens = [];
        public HashSet<int> EndOfGeneration = [];
        public PreTokenizer? Pre;
        public MergeTable? Merges;
        public int[] ByteTokens = [];
        public int[][] ByteFallback = [];
        public int MaxTokenLength;
        public bool AddBos, AddEos, AddSep, AddSpacePrefix, CleanSpaces, IgnoreMerges;
        public bool Lowercase = true, StripAccents = true;
        public bool SpmWordsIndependent;
        public bool RemoveExtraWhitespaces;
        public UnigramModel? Unigram;
        private uint[] _charsmap = [];
        private byte[] _replacements = [];
        public readonly int[] Special = new int[Slot.Count];

        public void Load()
        {
            Array.Fill(Special, NoToken);
            string model = RequiredString(Keys.Model);
            string? preName = OptionalString(Keys.Pre);
            if (metadata.TryGet(Keys.TokenTypeCount, out GgufMetadataEntry? typeCount))
            {
                _ = typeCount.GetUInt32(); // BERT's segment count: type-checked as llama.cpp does, not used
            }
            GgufArray? mergesArray = null;
            switch (model)
            {
                case "llama":
                    Model = TokenizerModel.SentencePiece;
                    Special[Slot.Bos] = 1;
                    Special[Slot.Eos] = 2;
                    Special[Slot.Unk] = 0;
                    AddSpacePrefix = true;
                    CleanSpaces = false;
                    AddBos = true;
                    break;
                case "bert":
                    Model = TokenizerModel.WordPiece;
                    Special[Slot.Bos] = 101;
                    Special[Slot.Unk] = 100;
                    Special[Slot.Sep] = 102;
                    Special[Slot.Pad] = 0;
                    Special[Slot.Mask] = 103;
                    CleanSpaces = true;
                    AddBos = true;
                    AddSep = true;
                    break;
                case "gpt2":
                    Model = TokenizerModel.BytePairEncoding;
                    if (!metadata.TryGet(Keys.Merges, out GgufMetadataEntry? merges))
                    {
                        throw Missing(Keys.Merges, "BPE vocabulary without merges");
                    }

                    mergesArray = merges.GetArray();
                    Special[Slot.Bos] = 11;
                    Special[Slot.Eos] = 11;
                    CleanSpaces = true;
                    string name = string.IsNullOrEmpty(preName) ? "default" : preName;
                    Pre = PreTokenizer.ForName(name)
                        ?? throw new TokenizerNotSupportedException(Keys.Pre, name, "this BPE pre-tokenizer is not implemented");
                    CleanSpaces = Pre.CleanSpaces;
                    IgnoreMerges = Pre.IgnoreMerges;
                    AddBos = Pre.AddBos;
                    AddSep = Pre.AddSep;
                    if (Pre.ClearBos)
                    {
                        Special[Slot.Bos] = NoToken;
                    }

                    break;
                case "t5":
                    Model = TokenizerModel.Unigram;
                    Special[Slot.Eos] = 1;
                    Special[Slot.Unk] = 2;
                    Special[Slot.Pad] = 0;
                    AddEos = true;
                    LoadCharsmap();
                    break;
                default:
                    throw new TokenizerNotSupportedException(Keys.Model, model, "this vocabulary type is not implemented");
            }

            if (metadata.TryGet(Keys.AddSpacePrefix, out GgufMetadataEntry? prefix))
            {
                AddSpacePrefix = prefix.GetBool();
            }

            if (metadata.TryGet(Keys.RemoveExtraWhitespaces, out GgufMetadataEntry? extra))
            {
                RemoveExtraWhitespaces = extra.GetBool(); // only Unigram uses it
            }

            LoadTokens();
            if (Model == TokenizerModel.Unigram)
            {
                BuildUnigram();
            }
            if (mergesArray is not null)
            {
                LoadMerges(mergesArray);
                LoadByteTables();
            }
            else if (Model == TokenizerModel.SentencePiece)
            {
                LoadSpmByteTokens();
            }

            LoadSpecialIds();
            DetectByText();
            BuildSpecialList();
            ValidatePieces();
            ApplyNamedRules();
            SpmWordsIndependent = Model == TokenizerModel.SentencePiece && !Scores.Any(float.IsNaN) && NoTokenJoinsWords();
        }

        /// <summary>
        /// SentencePiece: whether every "▁" inside a token either starts it or follows another "▁". Then
        /// no merge can join a word to the "▁" that starts the next one, and words merge independently.
        /// </summary>
        private bool NoTokenJoinsWords()
        {
            TokenTable tokens = Tokens!;
            ReadOnlySpan<byte> space = [0xE2, 0x96, 0x81];
            for (int id = 0; id < tokens.Count; id++)
            {
                ReadOnlySpan<byte> text = tokens[id];
                for (int at = text.Slice(1).IndexOf(space) + 1; at > 0; at = NextSpace(text, at, space))
                {
                    if (at < 3 || !text.Slice(at - 3, 3).SequenceEqual(space))
                    {
                        return false;
                    }
                }
            }

            return true;

            static int NextSpace(ReadOnlySpan<byte> text, int at, ReadOnlySpan<byte> space)
            {
                int next = text.Slice(at + 1).IndexOf(space);
                return next < 0 ? -1 : at + 1 + next;
            }
        }

        /// <summary>
        /// The checks llama.cpp's piece cache makes while loading: a byte token needs at least 3 bytes of
        /// text ("&lt;0x" prefix), WordPiece has no byte tokens, and a BPE token cannot hold a code point
        /// above U+10FFFF. llama.cpp fails (or aborts) on these; we reject the file.
        /// </summary>
        private void ValidatePieces()
        {
            TokenTable tokens = Tokens!;
            TokenAttributes[] attrs = Attributes!;
            const TokenAttributes Rendered = TokenAttributes.Unknown | TokenAttributes.Control | TokenAttributes.UserDefined;
            for (int id = 0; id < attrs.Length; id++)
            {
                TokenAttributes a = attrs[id];
                if ((a & Rendered) != 0)
                {
                    continue;
                }

                if ((a & TokenAttributes.Normal) != 0)
                {
                    if (Model == TokenizerModel.BytePairEncoding)
                    {
                        ReadOnlySpan<byte> text = tokens[id];
                        for (int i = 0; i < text.Length;)
                        {
                            if (LlamaUnicode.Decode(text.Slice(i), out int length) > 0x10FFFF)
                            {
                                throw Invalid(Keys.Tokens, metadata[Keys.Tokens].ValueOffset, $"token {id} holds a code point above U+10FFFF");
                            }

                            i += length;
                        }
                    }
                }
                else if ((a & TokenAttributes.Byte) != 0 && (Model == TokenizerModel.WordPiece || tokens.Length(id) < 3))
                {
                    throw Invalid(Keys.TokenType, metadata[Keys.Tokens].ValueOffset, $"token {id} is a byte token that cannot be decoded ('{Encoding.UTF8.GetString(tokens[id])}')");
                }
            }
        }

        /// <summary>
        /// <c>tokenizer.ggml.precompiled_charsmap</c> (Unigram): a 32-bit size, that many bytes of the
        /// XOR-compressed double array, then the replacement strings.
        /// </summary>
        private void LoadCharsmap()
        {
            if (!metadata.TryGet(Keys.PrecompiledCharsmap, out GgufMetadataEntry? entry))
            {
                return;
            }

            GgufArray array = entry.GetArray();
            byte[] bytes = array.ElementType switch
            {
                GgufValueType.UInt8 => array.ToArray<byte>(),
                GgufValueType.Int8 => Array.ConvertAll(array.ToArray<sbyte>(), b => (byte)b),
                _ => throw new GgufFormatException(GgufErrorCode.TypeMismatch, entry.ValueOffset, $"value is array of {GgufValueTypes.Name(array.ElementType)}, not array of uint8 or int8", "value", entry.Key),
            };
            if (bytes.Length < 4)
            {
                throw Invalid(entry.Key, entry.ValueOffset, "the charsmap is too small for its size header");
            }

            uint blob = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
            if ((ulong)blob + 4 >= (ulong)bytes.Length)
            {
                throw Invalid(entry.Key, entry.ValueOffset, $"the charsmap's double array ({blob} bytes) does not fit in its {bytes.Length} bytes");
            }

            _charsmap = new uint[blob / 4];
            for (int i = 0; i < _charsmap.Length; i++)
            {
                _charsmap[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4 + (i * 4)));
            }

            _replacements = bytes.AsSpan(4 + (int)blob).ToArray();
        }

        /// <summary>
        /// The Unigram tries and unknown score, from the token types as read (llama.cpp builds them before
        /// its rules change any attribute).
        /// </summary>
        private void BuildUnigram()
        {
            TokenTable tokens = Tokens!;
            TokenAttributes[] attrs = Attributes!;
            var matcher = new ByteTrie();
            var userDefined = new ByteTrie();
            float min = float.MaxValue;
            for (int id = 0; id < attrs.Length; id++)
            {
                TokenAttributes a = attrs[id];
                if ((a & TokenAttributes.Normal) != 0)
                {
                    min = Math.Min(min, Scores.Length == 0 ? 0f : Scores[id]);
                }

                if ((a & (TokenAttributes.Normal | TokenAttributes.UserDefined | TokenAttributes.Unused)) != 0)
                {
                    matcher.Insert(tokens[id], id);
                }

                if ((a & TokenAttributes.UserDefined) != 0)
                {
                    userDefined.Insert(tokens[id], id);
                }
            }

            Unigram = new UnigramModel(matcher, userDefined, min - 10.0f, _charsmap, _replacements, RemoveExtraWhitespaces);
        }

        private void LoadTokens()
        {
            if (!metadata.TryGet(Keys.Tokens, out GgufMetadataEntry? entry))
            {
                throw Missing(Keys.Tokens, "the vocabulary has no tokens");
            }

            GgufArray tokens = ExpectArray(entry, GgufValueType.String);
            if (tokens.Count > MaxEntries)
            {
                throw Invalid(Keys.Tokens, entry.ValueOffset, $"{tokens.Count} tokens is more than a tokenizer supports ({MaxEntries})");
            }

            int count = (int)tokens.Count;
            var builder = new TokenTable.Builder(count, tokens.DataLength - (8 * count));
            int maxLength = 0;
            long offset = tokens.DataOffset;
            int index = 0;
            tokens.ForEachString(0, (span, _) =>
            {
                int duplicate;
                if (span.IsEmpty)
                {
                    // llama.cpp renames an empty token so that it cannot be matched by text.
                    byte[] renamed = Encoding.UTF8.GetBytes($"[EMPTY_{index}]");
                    duplicate = builder.Add(renamed);
                    maxLength = Math.Max(maxLength, renamed.Length);
                }
                else
                {
                    duplicate = builder.Add(span);
                    maxLength = Math.Max(maxLength, span.Length);
                }

                if (duplicate >= 0)
                {
                    throw Invalid(Keys.Tokens, offset, $"token {index} duplicates token {duplicate} ('{Encoding.UTF8.GetString(span)}')");
                }

                offset += 8 + span.Length;
                index++;
            });
            Tokens = builder.Build();
            MaxTokenLength = maxLength;

            if (metadata.TryGet(Keys.Scores, out GgufMetadataEntry? scoresEntry))
            {
                GgufArray scores = scoresEntry.GetArray();
                CheckLength(scoresEntry, scores, count);
                if (scores.ElementType == GgufValueType.Int32)
                {
                    // llama.cpp (this build) accepts INT32 scores and reads their bits as floats.
                    int[] integers = scores.ToArray<int>();
                    Scores = Array.ConvertAll(integers, BitConverter.Int32BitsToSingle);
                }
                else
                {
                    Scores = ExpectArray(scoresEntry, GgufValueType.Float32).ToArray<float>();
                }
            }

            Attributes = new TokenAttributes[count];
            if (metadata.TryGet(Keys.TokenType, out GgufMetadataEntry? typesEntry))
            {
                GgufArray types = ExpectArray(typesEntry, GgufValueType.Int32);
                CheckLength(typesEntry, types, count);
                int[] values = types.ToArray<int>();
                for (int i = 0; i < count; i++)
                {
                    Attributes[i] = values[i] switch
                    {
                        2 => TokenAttributes.Unknown,
                        5 => TokenAttributes.Unused,
                        1 => TokenAttributes.Normal,
                        3 => TokenAttributes.Control,
                        4 => TokenAttributes.UserDefined,
                        6 => TokenAttributes.Byte,
                        _ => TokenAttributes.Undefined,
                    };
                }
            }
            else
            {
                Array.Fill(Attributes, TokenAttributes.Normal);
            }
        }

        /// <summary>Each merge "A B" must name two tokens whose concatenation is a token (the first occurrence of a pair wins).</summary>
        private void LoadMerges(GgufArray merges)
        {
            if (merges.ElementType != GgufValueType.String)
            {
                throw new GgufFormatException(GgufErrorCode.TypeMismatch, merges.DataOffset - 12, $"value is array of {GgufValueTypes.Name(merges.ElementType)}, not array of string", "value", Keys.Merges);
            }

            if (merges.Count > MaxEntries)
            {
                throw Invalid(Keys.Merges, merges.DataOffset, $"{merges.Count} merges is more than a tokenizer supports ({MaxEntries})");
            }

            TokenTable tokens = Tokens!;
            var table = new MergeTable((int)merges.Count);
            long offset = merges.DataOffset;
            int rank = 0;
            byte[] joined = new byte[Math.Max(64, MaxTokenLength * 2)];
            merges.ForEachString(0, (span, _) =>
            {
                int space = span.Length > 1 ? span.Slice(1).IndexOf((byte)' ') : -1;
                if (space < 0)
                {
                    throw Invalid(Keys.Merges, offset, $"merge {rank} ('{Encoding.UTF8.GetString(span)}') has no space between its two tokens");
                }

                ReadOnlySpan<byte> left = span.Slice(0, space + 1);
                ReadOnlySpan<byte> right = span.Slice(space + 2);
                int leftId = tokens.Find(left);
                int rightId = tokens.Find(right);
                if (leftId < 0 || rightId < 0)
                {
                    string which = Encoding.UTF8.GetString(leftId < 0 ? left : right);
                    throw Invalid(Keys.Merges, offset, $"merge {rank} ('{Encoding.UTF8.GetString(span)}') names '{which}', which is not a token");
                }

                int length = left.Length + right.Length;
                if (joined.Length < length)
                {
                    joined = new byte[length];
                }

                left.CopyTo(joined);
                right.CopyTo(joined.AsSpan(left.Length));
                int result = tokens.Find(joined.AsSpan(0, length));
                if (result < 0)
                {
                    throw Invalid(Keys.Merges, offset, $"merge {rank} ('{Encoding.UTF8.GetString(span)}') makes '{Encoding.UTF8.GetString(joined, 0, length)}', which is not a token");
                }

                table.TryAdd(leftId, rightId, rank, result);
                offset += 8 + span.Length;
                rank++;
            });
            Merges = table;
        }

        /// <summary>BPE: the token of each byte's GPT-2 character, and llama.cpp's fallback when there is none.</summary>
        private void LoadByteTables()
        {
            TokenTable tokens = Tokens!;
            ByteTokens = new int[256];
            ByteFallback = new int[256][];
            Span<byte> encoded = stackalloc byte[2];
            for (int b = 0; b < 256; b++)
            {
                int length = ByteEncoding.Encode((byte)b, encoded);
                ByteTokens[b] = tokens.Find(encoded.Slice(0, length));

                // No token for the character: each byte of its UTF-8 form alone, where that is a token.
                var fallback = new List<int>(2);
                for (int i = 0; i < length; i++)
                {
                    int id = tokens.Find(encoded.Slice(i, 1));
                    if (id >= 0)
                    {
                        fallback.Add(id);
                    }
                }

                ByteFallback[b] = fallback.ToArray();
            }
        }

        /// <summary>SentencePiece: the token of each byte, <c>&lt;0xXX&gt;</c> or else the byte itself (llama.cpp's <c>byte_to_token</c>).</summary>
        private void LoadSpmByteTokens()
        {
            TokenTable tokens = Tokens!;
            ByteTokens = new int[256];
            Span<byte> hex = stackalloc byte[6];
            Span<byte> single = stackalloc byte[1];
            for (int b = 0; b < 256; b++)
            {
                "<0x"u8.CopyTo(hex);
                hex[3] = (byte)"0123456789ABCDEF"[b >> 4];
                hex[4] = (byte)"0123456789ABCDEF"[b & 15];
                hex[5] = (byte)'>';
                int id = tokens.Find(hex);
                if (id < 0)
                {
                    single[0] = (byte)b;
                    id = tokens.Find(single);
                }

                ByteTokens[b] = id;
            }
        }

        private void LoadSpecialIds()
        {
            int count = Tokens!.Count;
            foreach ((string key, int slot) in Keys.SpecialIds)
            {
                if (Special[slot] >= count)
                {
                    Special[slot] = NoToken; // a default beyond the vocabulary is disabled
                }

                if (!metadata.TryGet(key, out GgufMetadataEntry? entry))
                {
                    continue;
                }

                uint id = entry.GetUInt32();
                if (id >= (uint)count)
                {
                    throw Invalid(key, entry.ValueOffset, $"token id {id} is out of range (the vocabulary has {count} tokens)");
                }

                Special[slot] = (int)id;
            }

            if (metadata.TryGet(Keys.AddBos, out GgufMetadataEntry? addBos))
            {
                AddBos = addBos.GetBool();
            }

            if (metadata.TryGet(Keys.AddEos, out GgufMetadataEntry? addEos))
            {
                AddEos = addEos.GetBool();
            }

            if (metadata.TryGet(Keys.AddSep, out GgufMetadataEntry? addSep))
            {
                AddSep = addSep.GetBool();
            }

            RequireToken(AddBos, Slot.Bos, Keys.AddBos, "tokenizer.ggml.bos_token_id");
            RequireToken(AddEos, Slot.Eos, Keys.AddEos, "tokenizer.ggml.eos_token_id");

            // llama.cpp (this build) does not require a separator id when add_sep is set; nor do we.

            if (metadata.TryGet(Keys.Lowercase, out GgufMetadataEntry? lowercase))
            {
                Lowercase = lowercase.GetBool();
            }

            StripAccents = Lowercase;
            if (metadata.TryGet(Keys.StripAccents, out GgufMetadataEntry? strip))
            {
                StripAccents = strip.GetBool();
            }
        }

        private void RequireToken(bool add, int slot, string addKey, string idKey)
        {
            if (add && Special[slot] == NoToken)
            {
                long offset = metadata.TryGet(addKey, out GgufMetadataEntry? e) ? e.ValueOffset : 0;
                throw Invalid(addKey, offset, $"{addKey} is true, but {idKey} is not set");
            }
        }

        /// <summary>
        /// llama.cpp's detection by text: EOT, EOM and FIM tokens when their keys are absent (several
        /// candidates: the first in its hash map's order), then unused and end-of-generation tokens.
        /// </summary>
        private void DetectByText()
        {
            TokenAttributes[] attrs = Attributes!;
            DetectSlot(Slot.Eot, EotTexts);
            DetectSlot(Slot.Eom, EomTexts);
            DetectSlot(Slot.FimPre, FimPreTexts);
            DetectSlot(Slot.FimSuf, FimSufTexts);
            DetectSlot(Slot.FimMid, FimMidTexts);
            DetectSlot(Slot.FimPad, FimPadTexts);
            DetectSlot(Slot.FimRep, FimRepTexts);
            DetectSlot(Slot.FimSep, FimSepTexts);

            // Control tokens named "unused" (up to a NUL, as strstr reads them) are unused.
            TokenTable tokens = Tokens!;
            for (int id = 0; id < attrs.Length; id++)
            {
                if ((attrs[id] & TokenAttributes.Control) != 0 && (attrs[id] & TokenAttributes.Unused) == 0)
                {
                    ReadOnlySpan<byte> text = tokens[id];
                    int nul = text.IndexOf((byte)0);
                    if ((nul < 0 ? text : text.Slice(0, nul)).IndexOf("unused"u8) >= 0)
                    {
                        attrs[id] |= TokenAttributes.Unused;
                    }
                }
            }

            var eog = new SortedSet<int>();
            foreach (int slot in new[] { Slot.FimPad, Slot.FimRep, Slot.FimSep })
            {
                if (Special[slot] != NoToken)
                {
                    eog.Add(Special[slot]);
                }
            }

            foreach (string text in EogTexts)
            {
                int id = Find(text);
                if (id >= 0)
                {
                    eog.Add(id);
                    attrs[id] |= TokenAttributes.Control;
                }
            }

            // gpt-oss: these are always rendered.
            foreach (string text in (string[])["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"])
            {
                int id = Find(text);
                if (id >= 0)
                {
                    attrs[id] = TokenAttributes.UserDefined;
                }
            }

            foreach (int slot in new[] { Slot.Eos, Slot.Eot, Slot.Eom })
            {
                if (Special[slot] != NoToken)
                {
                    eog.Add(Special[slot]);
                }
            }

            // o200k_harmony and solar-open: "<|end|>" does not end generation when "<|return|>"/"<|call|>" (or "<|calls|>"/"<|flush|>") do.
            bool hasReturn = false, hasCall = false, hasFlush = false;
            int endId = NoToken;
            foreach (int id in eog)
            {
                ReadOnlySpan<byte> text = tokens[id];
                if (text.SequenceEqual("<|return|>"u8))
                {
                    hasReturn = true;
                }
                else if (text.SequenceEqual("<|call|>"u8) || text.SequenceEqual("<|calls|>"u8))
                {
                    hasCall = true;
                }
                else if (text.SequenceEqual("<|flush|>"u8))
                {
                    hasFlush = true;
                }
                else if (text.SequenceEqual("<|end|>"u8))
                {
                    endId = id;
                }
            }

            if (endId != NoToken && ((hasReturn && hasCall) || (hasCall && hasFlush)))
            {
                eog.Remove(endId);
                attrs[endId] = TokenAttributes.UserDefined;
            }

            // gemma4 and paddleocr: "</s>" does not end generation when "<|tool_response>" does.
            int toolResponse = Find("<|tool_response>");
            int closing = Find("</s>");
            if (toolResponse >= 0 && closing >= 0 && eog.Contains(toolResponse) && eog.Contains(closing))
            {
                eog.Remove(closing);
                attrs[closing] = TokenAttributes.Normal;
            }

            EndOfGeneration = [.. eog];
        }

        private void DetectSlot(int slot, string[] candidates)
        {
            if (Special[slot] != NoToken)
            {
                return;
            }

            int chosen = NoToken;
            int found = 0;
            foreach (string text in candidates)
            {
                int id = Find(text);
                if (id >= 0)
                {
                    found++;
                    chosen = id;
                }
            }

            if (found > 1)
            {
                // Several candidates: the first one llama.cpp's unordered_map yields.
                _iterationOrder ??= LibstdcxxOrder.UnorderedMapIterationOrder(Tokens!);
                var set = new HashSet<int>(candidates.Select(Find).Where(i => i >= 0));
                chosen = _iterationOrder.First(set.Contains);
            }

            if (chosen != NoToken)
            {
                Special[slot] = chosen;
                Attributes![chosen] |= TokenAttributes.Control;
            }
        }

        /// <summary>Control, user-defined and unknown tokens, longest first, in libstdc++'s std::sort order.</summary>
        private void BuildSpecialList()
        {
            TokenAttributes[] attrs = Attributes!;
            const TokenAttributes SpecialKinds = TokenAttributes.Control | TokenAttributes.UserDefined | TokenAttributes.Unknown;
            var list = new List<int>();
            for (int id = 0; id < attrs.Length; id++)
            {
                if ((attrs[id] & SpecialKinds) != 0)
                {
                    list.Add(id);
                }
            }

            int[] special = list.ToArray();
            TokenTable tokens = Tokens!;
            LibstdcxxOrder.Sort(special, (a, b) => tokens.Length(a) > tokens.Length(b));
            SpecialTokens = special;
        }

        /// <summary>llama.cpp's per-model attribute rules, by pre-tokenizer, architecture and lowercase model name.</summary>
        private void ApplyNamedRules()
        {
            TokenAttributes[] attrs = Attributes!;
            string name = AsciiLower(OptionalString(Keys.Name) ?? "");
            string pre = OptionalString(Keys.Pre) ?? "";
            string arch = OptionalString(Keys.Architecture) ?? "";
            if (ContainsAny(pre, "jina-v2-de", "jina-v2-es", "jina-v2-code") || ContainsAny(arch, "nomic-bert-moe", "jina-bert-v3"))
            {
                int mask = Find("<mask>");
                if (mask >= 0)
                {
                    attrs[mask] |= TokenAttributes.LeftStrip;
                }
            }
            else if (ContainsAny(name, "phi-3", "phi3"))
            {
                foreach (int id in SpecialTokens)
                {
                    attrs[id] |= TokenAttributes.RightStrip;
                }

                attrs[Required("</s>")] |= TokenAttributes.RightStrip;
                foreach (string text in (string[])["<unk>", "<s>", "<|endoftext|>"])
                {
                    attrs[Required(text)] &= ~TokenAttributes.RightStrip;
                }
            }
            else if (ContainsAny(name, "modern-bert"))
            {
                int mask = Find("[MASK]");
                if (mask >= 0)
                {
                    attrs[mask] |= TokenAttributes.LeftStrip;
                }
            }
        }

        private int Required(string text)
        {
            int id = Find(text);
            return id >= 0 ? id : throw Invalid(Keys.Tokens, metadata[Keys.Tokens].ValueOffset, $"the phi-3 rules need the token '{text}', which the vocabulary lacks");
        }

        private static bool ContainsAny(string value, params string[] parts) => parts.Any(p => value.Contains(p, StringComparison.Ordinal));

        /// <summary>std::tolower in the C locale: ASCII only.</summary>
        private static string AsciiLower(string value) => string.Create(value.Length, value, static (span, v) =>
        {
            for (int i = 0; i < v.Length; i++)
            {
                span[i] = v[i] is >= 'A' and <= 'Z' ? (char)(v[i] + 32) : v[i];
            }
        });

        private int Find(string text) => Tokens!.Find(Encoding.UTF8.GetBytes(text));

        private string RequiredString(string key) =>
            metadata.TryGet(key, out GgufMetadataEntry? entry) ? entry.GetString() : throw Missing(key, "the file has no tokenizer");

        private string? OptionalString(string key) => metadata.TryGet(key, out GgufMetadataEntry? entry) ? entry.GetString() : null;

        private static GgufArray ExpectArray(GgufMetadataEntry entry, GgufValueType elementType)
        {
            GgufArray array = entry.GetArray();
            if (array.ElementType != elementType)
            {
                throw new GgufFormatException(GgufErrorCode.TypeMismatch, entry.ValueOffset, $"value is array of {GgufValueTypes.Name(array.ElementType)}, not array of {GgufValueTypes.Name(elementType)}", "value", entry.Key);
            }

            return array;
        }

        private static void CheckLength(GgufMetadataEntry entry, GgufArray array, int tokens)
        {
            if (array.ElementType is not (GgufValueType.Float32 or GgufValueType.Int32))
            {
                throw new GgufFormatException(GgufErrorCode.TypeMismatch, entry.ValueOffset, $"value is array of {GgufValueTypes.Name(array.ElementType)}, not array of {(entry.Key == Keys.Scores ? "float32" : "int32")}", "value", entry.Key);
            }

            if (array.Count != tokens)
            {
                throw Invalid(entry.Key, entry.ValueOffset, $"has {array.Count} elements for {tokens} tokens");
            }
        }

        private static GgufFormatException Missing(string key, string why) =>
            new(GgufErrorCode.MissingKey, 0, $"{why}: key '{key}' is missing", "key", key);

        private static GgufFormatException Invalid(string key, long offset, string description) =>
            new(GgufErrorCode.InvalidTokenizer, offset, description, "value", key);
    }
}
