using System.Text;
using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;
using Gguf.Tokenization;
using Gguf.Writing;

namespace Gguf.Tests.Tokenization;

/// <summary>Small tokenizer files written with <see cref="GgufWriter"/>, and a way to break them one key at a time.</summary>
internal static class TestVocabularies
{
    public const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, ByteType = 6;

    /// <summary>The metadata of a file as an ordered list that a test can edit before writing.</summary>
    public sealed class Vocabulary
    {
        public List<(string Key, GgufValue Value)> Entries { get; } = [];

        public Vocabulary Set(string key, GgufValue value)
        {
            int index = Entries.FindIndex(e => e.Key == key);
            if (index >= 0)
            {
                Entries[index] = (key, value);
            }
            else
            {
                Entries.Add((key, value));
            }

            return this;
        }

        public Vocabulary Remove(string key)
        {
            Entries.RemoveAll(e => e.Key == key);
            return this;
        }

        public string Write(TempDirectory dir, string name)
        {
            var writer = new GgufWriter();
            foreach ((string key, GgufValue value) in Entries)
            {
                writer.AddMetadata(key, value);
            }

            return dir.Write(name, writer);
        }

        public GgufTokenizer Build(TempDirectory dir, string name = "vocab.gguf")
        {
            using GgufFile file = GgufFile.Open(Write(dir, name));
            return GgufTokenizer.FromFile(file);
        }
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
    /// A byte-level BPE vocabulary: control tokens 0–1, the 256 byte characters, and merges building
    /// " the", " Hello", "ing", "12" and "ĠĠ".
    /// </summary>
    public static Vocabulary Bpe(string pre = "qwen2")
    {
        var tokens = new List<string> { "<|endoftext|>", "<|im_end|>" };
        var types = new List<int> { Control, Control };
        for (int b = 0; b < 256; b++)
        {
            tokens.Add(ByteChar(b));
            types.Add(Normal);
        }

        string[][] merges =
        [
            ["Ġ", "t"], ["Ġt", "h"], ["Ġth", "e"], ["Ġ", "H"], ["ĠH", "e"], ["ĠHe", "l"], ["ĠHel", "l"], ["ĠHell", "o"],
            ["i", "n"], ["in", "g"], ["1", "2"], ["Ġ", "Ġ"], ["Ġ", "w"], ["o", "r"], ["Ġw", "or"], ["l", "d"], ["Ġwor", "ld"],
        ];
        foreach (string[] m in merges)
        {
            string joined = m[0] + m[1];
            if (!tokens.Contains(joined))
            {
                tokens.Add(joined);
                types.Add(Normal);
            }
        }

        var v = Common("gpt2", "gpt2", tokens, types);
        v.Set("tokenizer.ggml.pre", GgufValue.String(pre));
        v.Set("tokenizer.ggml.merges", GgufValue.FromStrings(merges.Select(m => m[0] + " " + m[1])));
        v.Set("tokenizer.ggml.bos_token_id", GgufValue.UInt32(0));
        v.Set("tokenizer.ggml.eos_token_id", GgufValue.UInt32(1));
        return v;
    }

    /// <summary>A SentencePiece vocabulary with byte fallback: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, 256 byte tokens, pieces.</summary>
    public static Vocabulary SentencePiece()
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { Unknown, Control, Control };
        var scores = new List<float> { 0, 0, 0 };
        for (int b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(ByteType);
            scores.Add(0);
        }

        foreach (string p in (string[])["▁", "a", "b", "c", "e", "h", "l", "o", "w", "r", "d", "t", "▁h", "he", "ll", "▁hello", "▁world", "or", "▁the", "▁▁"])
        {
            tokens.Add(p);
            types.Add(Normal);
            scores.Add(-100 + p.Length);
        }

        tokens.Add("<tool>");
        types.Add(UserDefined);
        scores.Add(0);
        var v = Common("llama", "llama", tokens, types);
        v.Set("tokenizer.ggml.scores", GgufValue.FromArray(scores.ToArray()));
        v.Set("tokenizer.ggml.bos_token_id", GgufValue.UInt32(1));
        v.Set("tokenizer.ggml.eos_token_id", GgufValue.UInt32(2));
        v.Set("tokenizer.ggml.unknown_token_id", GgufValue.UInt32(0));
        return v;
    }

    /// <summary>A WordPiece vocabulary in llama.cpp's converted form.</summary>
    public static Vocabulary WordPiece()
    {
        var tokens = new List<string> { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "▁hello", "▁world", "▁un", "able", "▁,", "▁!", "▁a", "▁中" };
        var types = new List<int> { Control, Unknown, Control, Control, Control, Normal, Normal, Normal, Normal, Normal, Normal, Normal, Normal };
        var v = Common("bert", "bert", tokens, types);
        v.Set("tokenizer.ggml.unknown_token_id", GgufValue.UInt32(1));
        v.Set("tokenizer.ggml.bos_token_id", GgufValue.UInt32(2));
        v.Set("tokenizer.ggml.seperator_token_id", GgufValue.UInt32(3));
        v.Set("tokenizer.ggml.padding_token_id", GgufValue.UInt32(0));
        v.Set("tokenizer.ggml.mask_token_id", GgufValue.UInt32(4));
        return v;
    }

    /// <summary>A Unigram (T5) vocabulary with T5's flags; <paramref name="charsmap"/> adds a charsmap rewriting 'A' to "a" and 'x' to "yz".</summary>
    public static Vocabulary Unigram(bool charsmap = false)
    {
        var tokens = new List<string> { "<pad>", "</s>", "<unk>", "▁", "▁a", "a", "b", "▁ab", "yz", "▁yz", "<extra_id_0>" };
        var types = new List<int> { Control, Control, Unknown, Normal, Normal, Normal, Normal, Normal, Normal, Normal, UserDefined };
        float[] scores = [0, 0, 0, -5, -3, -4, -4, -2, -3, -3, 0];
        var v = Common("llama", "t5", tokens, types);
        v.Set("tokenizer.ggml.scores", GgufValue.FromArray(scores));
        v.Set("tokenizer.ggml.add_space_prefix", GgufValue.Bool(true));
        v.Set("tokenizer.ggml.remove_extra_whitespaces", GgufValue.Bool(true));
        if (charsmap)
        {
            v.Set("tokenizer.ggml.precompiled_charsmap", GgufValue.FromArray(Charsmap()));
        }

        return v;
    }

    /// <summary>SentencePiece's XOR-compressed double array for single-byte rewrites 'A' → "a", 'x' → "yz" (layout in the conformance TinyVocabularies).</summary>
    public static byte[] Charsmap()
    {
        (byte Key, string Replacement)[] map = [((byte)'A', "a"), ((byte)'x', "yz")];
        var units = new uint[512];
        units[0] = (1u << 10) | (1u << 9);
        var strings = new List<byte>();
        foreach ((byte key, string replacement) in map)
        {
            uint child = 256u ^ key;
            units[child] = ((child ^ key) << 10) | (1u << 8) | key;
            units[key] = 0x80000000u | (uint)strings.Count;
            strings.AddRange(Encoding.UTF8.GetBytes(replacement));
            strings.Add(0);
        }

        var bytes = new List<byte>(BitConverter.GetBytes((uint)(units.Length * 4)));
        foreach (uint u in units)
        {
            bytes.AddRange(BitConverter.GetBytes(u));
        }

        bytes.AddRange(strings);
        return [.. bytes];
    }

    private static Vocabulary Common(string arch, string model, List<string> tokens, List<int> types)
    {
        var v = new Vocabulary();
        v.Set("general.architecture", GgufValue.String(arch));
        v.Set("general.name", GgufValue.String("test-" + model));
        v.Set("tokenizer.ggml.model", GgufValue.String(model));
        v.Set("tokenizer.ggml.tokens", GgufValue.FromStrings(tokens));
        v.Set("tokenizer.ggml.token_type", GgufValue.FromArray(types.ToArray()));
        return v;
    }

    /// <summary>The ids of a text's tokens by their text, for readable expectations.</summary>
    public static int[] Ids(GgufTokenizer tokenizer, params string[] texts) =>
        texts.Select(t => tokenizer.TryGetTokenId(Encoding.UTF8.GetBytes(t), out int id) ? id : throw new ArgumentException($"no token '{t}'")).ToArray();
}
