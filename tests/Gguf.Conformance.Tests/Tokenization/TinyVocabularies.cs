using System.Text;
using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Writing;

namespace Gguf.Conformance.Tokenization;

/// <summary>
/// Small vocabulary-only GGUF files written with our <see cref="GgufWriter"/>, which llama.cpp loads with
/// <c>vocab_only</c>: a byte-level BPE vocabulary (GPT-2 alphabet, merges learned from the text pools,
/// special tokens) for any pre-tokenizer name, SentencePiece and WordPiece vocabularies, and variations
/// that reach rules the corpus does not (overlapping special tokens, several end-of-turn candidates, …).
/// </summary>
internal static class TinyVocabularies
{
    public const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, ByteType = 6;

    /// <summary>A vocabulary to write: tokens (raw bytes), their types, optional scores and merges, extra keys.</summary>
    public sealed class Spec
    {
        public string Model { get; init; } = "gpt2";
        public string? Pre { get; init; }
        public string Name { get; init; } = "tiny";
        public List<byte[]> Tokens { get; } = [];
        public List<int> Types { get; } = [];
        public List<float> Scores { get; } = [];
        public List<string> Merges { get; } = [];
        public List<(string Key, GgufValue Value)> Extra { get; } = [];
        public bool WriteScores { get; set; }

        /// <summary>Standard keys not to write (a test writes its own version in <see cref="Extra"/>).</summary>
        public HashSet<string> Omit { get; } = [];

        public int Add(string text, int type = Normal, float score = 0) => Add(Encoding.UTF8.GetBytes(text), type, score);

        public int Add(byte[] text, int type = Normal, float score = 0)
        {
            Tokens.Add(text);
            Types.Add(type);
            Scores.Add(score);
            return Tokens.Count - 1;
        }

        public int IndexOf(string text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            return Tokens.FindIndex(t => t.AsSpan().SequenceEqual(bytes));
        }
    }

    /// <summary>Writes <paramref name="spec"/> as a GGUF file llama.cpp can load vocab-only.</summary>
    public static string Write(Spec spec, string path)
    {
        var writer = new GgufWriter();
        string arch = spec.Model switch { "llama" or "t5" => "llama", "bert" => "bert", _ => "gpt2" };
        writer.AddMetadata("general.architecture", GgufValue.String(arch));
        writer.AddMetadata("general.name", GgufValue.String(spec.Name));
        writer.AddMetadata($"{arch}.context_length", GgufValue.UInt32(512));
        writer.AddMetadata($"{arch}.embedding_length", GgufValue.UInt32(64));
        writer.AddMetadata($"{arch}.block_count", GgufValue.UInt32(1));
        writer.AddMetadata($"{arch}.feed_forward_length", GgufValue.UInt32(128));
        writer.AddMetadata($"{arch}.attention.head_count", GgufValue.UInt32(4));
        if (arch == "llama")
        {
            writer.AddMetadata("llama.attention.head_count_kv", GgufValue.UInt32(4));
            writer.AddMetadata("llama.rope.dimension_count", GgufValue.UInt32(16));
            writer.AddMetadata("llama.attention.layer_norm_rms_epsilon", GgufValue.Float32(1e-5f));
        }
        else
        {
            writer.AddMetadata($"{arch}.attention.layer_norm_epsilon", GgufValue.Float32(1e-5f));
        }

        writer.AddMetadata("tokenizer.ggml.model", GgufValue.String(spec.Model));
        if (spec.Pre is not null)
        {
            writer.AddMetadata("tokenizer.ggml.pre", GgufValue.String(spec.Pre));
        }

        writer.AddMetadata("tokenizer.ggml.tokens", GgufValue.FromUtf8Array([.. spec.Tokens]));
        if (spec.WriteScores)
        {
            writer.AddMetadata("tokenizer.ggml.scores", GgufValue.FromArray(spec.Scores.ToArray()));
        }

        if (!spec.Omit.Contains("tokenizer.ggml.token_type"))
        {
            writer.AddMetadata("tokenizer.ggml.token_type", GgufValue.FromArray(spec.Types.ToArray()));
        }
        if (spec.Model == "gpt2" && !spec.Omit.Contains("tokenizer.ggml.merges"))
        {
            writer.AddMetadata("tokenizer.ggml.merges", GgufValue.FromStrings(spec.Merges));
        }

        foreach ((string key, GgufValue value) in spec.Extra)
        {
            writer.AddMetadata(key, value);
        }

        writer.WriteTo(path);
        return path;
    }

    /// <summary>The GPT-2 character of a byte.</summary>
    public static string ByteChar(int b)
    {
        int n = 0;
        for (int i = 0; i < 256; i++)
        {
            bool printable = i is (>= 0x21 and <= 0x7E) or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            if (i == b)
            {
                return char.ConvertFromUtf32(printable ? i : 256 + n);
            }

            if (!printable)
            {
                n++;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(b));
    }

    /// <summary>
    /// A byte-level BPE vocabulary: the 256 byte characters, <paramref name="mergeCount"/> merges learned
    /// from the text pools (most frequent pair first, within whitespace-separated words), a few whole
    /// words without merges, and special tokens (control and user-defined).
    /// </summary>
    public static Spec Bpe(string? pre, int mergeCount = 400, string name = "tiny-bpe")
    {
        var spec = new Spec { Model = "gpt2", Pre = pre, Name = name };
        spec.Add("<|endoftext|>", Control);
        spec.Add("<|im_start|>", Control);
        spec.Add("<|im_end|>", Control);
        spec.Add("<|fim_prefix|>", Control);
        spec.Add("<tool_call>", UserDefined);
        spec.Add("</tool_call>", UserDefined);
        spec.Add("<unused_7>", Control);
        for (int b = 0; b < 256; b++)
        {
            spec.Add(ByteChar(b));
        }

        var known = new HashSet<string>(spec.Tokens.Select(t => Encoding.UTF8.GetString(t)), StringComparer.Ordinal);
        foreach ((string left, string right) in LearnMerges(mergeCount))
        {
            spec.Merges.Add(left + " " + right);
            if (known.Add(left + right))
            {
                spec.Add(left + right);
            }
        }

        // Whole pieces reachable only without merges (ignore_merges pre-tokenizers find them).
        foreach (string word in (string[])["ĠHello", "Ġworld", "ĠĠ", "ĊĊ", "123", "Ġnaïve".Replace("ï", "Ã¯", StringComparison.Ordinal)])
        {
            if (known.Add(word))
            {
                spec.Add(word);
            }
        }

        spec.Extra.Add(("tokenizer.ggml.bos_token_id", GgufValue.UInt32(1)));
        spec.Extra.Add(("tokenizer.ggml.eos_token_id", GgufValue.UInt32(0)));
        return spec;
    }

    /// <summary>Byte-level BPE merges learned from the pools, in the GPT-2 characters.</summary>
    private static List<(string Left, string Right)> LearnMerges(int count)
    {
        var corpus = new StringBuilder();
        foreach (string[] pool in TextSet.Pools.Values)
        {
            foreach (string s in pool)
            {
                corpus.Append(' ').Append(s);
            }
        }

        corpus.Append(" the quick brown fox jumps over the lazy dog and the cat sat on the mat while the dog ran in the park");
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string w in corpus.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string encoded = string.Concat(Encoding.UTF8.GetBytes(" " + w).Select(b => ByteChar(b)));
            words[encoded] = words.GetValueOrDefault(encoded) + 1;
        }

        var split = words.ToDictionary(kv => kv.Key, kv => kv.Key.EnumerateRunes().Select(r => r.ToString()).ToList(), StringComparer.Ordinal);
        var merges = new List<(string, string)>();
        for (int m = 0; m < count; m++)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach ((string word, List<string> symbols) in split)
            {
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    var pair = (symbols[i], symbols[i + 1]);
                    pairs[pair] = pairs.GetValueOrDefault(pair) + words[word];
                }
            }

            if (pairs.Count == 0)
            {
                break;
            }

            var best = pairs.OrderByDescending(p => p.Value).ThenBy(p => p.Key.Item1 + " " + p.Key.Item2, StringComparer.Ordinal).First().Key;
            merges.Add(best);
            foreach (List<string> symbols in split.Values)
            {
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] == best.Item1 && symbols[i + 1] == best.Item2)
                    {
                        symbols[i] = best.Item1 + best.Item2;
                        symbols.RemoveAt(i + 1);
                    }
                }
            }
        }

        return merges;
    }

    /// <summary>
    /// A SentencePiece vocabulary: unknown, BOS, EOS, the 256 byte tokens, then single characters and
    /// longer pieces whose scores favour longer merges, and user-defined tokens.
    /// </summary>
    public static Spec SentencePiece(string name = "tiny-spm")
    {
        var spec = new Spec { Model = "llama", Name = name, WriteScores = true };
        spec.Add("<unk>", Unknown);
        spec.Add("<s>", Control);
        spec.Add("</s>", Control);
        for (int b = 0; b < 256; b++)
        {
            spec.Add($"<0x{b:X2}>", ByteType);
        }

        var pieces = new List<string> { "▁" };
        pieces.AddRange("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-é中文".Select(c => c.ToString()));
        pieces.AddRange(["▁t", "▁a", "he", "ll", "or", "▁the", "▁Hello", "▁hello", "▁world", "▁wor", "ld", "▁▁", "▁▁▁▁", "in", "▁in", "ing", "▁is", "er", "▁qu", "ck", "12", "123", "中文", "ét"]);
        foreach (string p in pieces.Distinct())
        {
            spec.Add(p, Normal, -1000f + p.Length + (p.Sum(c => c) & 7) * 0.125f);
        }

        spec.Add("<tool>", UserDefined);
        spec.Add("▁<tool>", UserDefined);
        spec.Add("<|im_end|>", Control);
        return spec;
    }

    /// <summary>
    /// A Unigram (T5) vocabulary: pad, EOS, unknown, pieces with log-probability scores, user-defined
    /// tokens; T5's flags (space prefix, merged whitespace) unless a test changes them.
    /// </summary>
    public static Spec Unigram(string name = "tiny-t5")
    {
        var spec = new Spec { Model = "t5", Name = name, WriteScores = true };
        spec.Add("<pad>", Control);
        spec.Add("</s>", Control);
        spec.Add("<unk>", Unknown);
        string[] pieces =
        [
            "▁", "▁the", "▁hello", "▁world", "▁h", "▁w", "he", "ll", "llo", "or", "ld", "▁wor", "▁a", "▁i", "ing", "▁is", "s", "'", "▁'",
            "▁12", "123", "1", "2", "3", ",", ".", "!", "?", "中", "文", "▁中", "é", "e", "a", "b", "c", "d", "h", "i", "l", "o", "r", "t", "w",
            "x", "y", "z", "n", "g", "▁x", "yz", "\t", "<0x41>",
        ];
        var rng = new Random(11);
        foreach (string p in pieces.Distinct())
        {
            spec.Add(p, Normal, -2f - (float)(rng.NextDouble() * 8) + p.Length * 0.5f);
        }

        spec.Add("<extra_id_0>", UserDefined);
        spec.Add("<extra_id_1>", UserDefined);
        spec.Add("▁<b>", UserDefined);
        spec.Add("<unused_9>", Unused);
        spec.Extra.Add(("tokenizer.ggml.add_space_prefix", GgufValue.Bool(true)));
        spec.Extra.Add(("tokenizer.ggml.remove_extra_whitespaces", GgufValue.Bool(true)));
        return spec;
    }

    /// <summary>
    /// A precompiled charsmap (SentencePiece's XOR-compressed double array) rewriting single bytes:
    /// 'A' to "a", tab to a space, 'x' to "yz", '!' to nothing. The root's base is 256 (shift flag), each
    /// key byte's node is a leaf at 256 ^ byte pointing to a value node at the byte's own index.
    /// </summary>
    public static byte[] Charsmap()
    {
        (byte Key, string Replacement)[] map = [((byte)'A', "a"), ((byte)'\t', " "), ((byte)'x', "yz"), ((byte)'!', "")];
        var units = new uint[512];
        units[0] = (1u << 10) | (1u << 9); // base 1 << 8 = 256
        var strings = new List<byte>();
        foreach ((byte key, string replacement) in map)
        {
            uint child = 256u ^ key;
            uint valueNode = key;
            uint childBase = child ^ valueNode;
            units[child] = (childBase << 10) | (1u << 8) | key; // leaf, check byte
            units[valueNode] = 0x80000000u | (uint)strings.Count;
            strings.AddRange(Encoding.UTF8.GetBytes(replacement));
            strings.Add(0);
        }

        var bytes = new List<byte>();
        bytes.AddRange(BitConverter.GetBytes((uint)(units.Length * 4)));
        foreach (uint u in units)
        {
            bytes.AddRange(BitConverter.GetBytes(u));
        }

        bytes.AddRange(strings);
        return [.. bytes];
    }

    /// <summary>A WordPiece vocabulary in llama.cpp's converted form: words "▁"-prefixed, continuations bare.</summary>
    public static Spec WordPiece(string name = "tiny-bert")
    {
        var spec = new Spec { Model = "bert", Pre = "default", Name = name };
        spec.Add("[PAD]", Control);
        for (int i = 0; i < 5; i++)
        {
            spec.Add($"[unused{i}]", Control);
        }

        spec.Add("[UNK]", Unknown);
        spec.Add("[CLS]", Control);
        spec.Add("[SEP]", Control);
        spec.Add("[MASK]", Control);
        foreach (string w in (string[])["▁hello", "▁world", "▁the", "▁quick", "▁brown", "▁fox", "▁cafe", "▁naive", "▁a", "▁b", "▁i", "▁'", "▁,", "▁.", "▁!", "▁?", "▁中", "▁文", "▁1", "▁12", "▁123", "▁x", "▁un", "▁straße"])
        {
            spec.Add(w);
        }

        foreach (string s in (string[])["ing", "s", "ed", "ly", "4", "5", "able", "a", "b", "c", "d", "e", "x", "y", "z", "o", "l", "h"])
        {
            spec.Add(s);
        }

        spec.Extra.Add(("tokenizer.ggml.unknown_token_id", GgufValue.UInt32(6)));
        spec.Extra.Add(("tokenizer.ggml.seperator_token_id", GgufValue.UInt32(8)));
        spec.Extra.Add(("tokenizer.ggml.padding_token_id", GgufValue.UInt32(0)));
        spec.Extra.Add(("tokenizer.ggml.cls_token_id", GgufValue.UInt32(7)));
        spec.Extra.Add(("tokenizer.ggml.bos_token_id", GgufValue.UInt32(7)));
        spec.Extra.Add(("tokenizer.ggml.mask_token_id", GgufValue.UInt32(9)));
        return spec;
    }
}
