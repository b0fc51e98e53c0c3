using System.Text;
using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tokenization;

namespace Gguf.Conformance.Tokenization;

/// <summary>
/// Compares our tokenizer with llama.cpp's on one file: special ids and flags, every token's attributes,
/// pieces, and for each text all four (add_special, parse_special) combinations of encode, then all four
/// (remove_special, unparse_special) combinations of decode. Counts comparisons; keeps the first failures.
/// </summary>
internal sealed class TokenizerComparison(string name, GgufTokenizer ours, LlamaVocab llama)
{
    private const int MaxFailures = 25;

    public List<string> Failures { get; } = [];

    public long Comparisons { get; private set; }

    public long Differences { get; private set; }

    /// <summary>Encodings compared (text × flag combination).</summary>
    public long Encodes { get; private set; }

    /// <summary>Decodings compared (text × flag combination).</summary>
    public long Decodes { get; private set; }

    /// <summary>The special ids and add flags, in the format of <see cref="LlamaVocab.Describe"/>.</summary>
    public static string Describe(GgufTokenizer t) =>
        $"bos={t.Bos} eos={t.Eos} eot={t.Eot} sep={t.Separator} nl={t.NewLine} pad={t.Padding} mask={t.Mask} " +
        $"fim={t.FimPrefix},{t.FimSuffix},{t.FimMiddle} add_bos={t.AddBosToken} add_eos={t.AddEosToken} add_sep={t.AddSeparatorToken}";

    /// <summary>Vocabulary-level facts: size, special ids, attributes, end of generation, pieces.</summary>
    public void CompareVocabulary()
    {
        Check("vocabulary size", llama.TokenCount.ToString(), ours.VocabularySize.ToString());
        Check("special ids", llama.Describe(), Describe(ours));
        int[] attrs = llama.Attributes();
        bool[] eog = llama.EndOfGeneration();
        float[] scores = llama.Scores();
        for (int id = 0; id < attrs.Length && id < ours.VocabularySize; id++)
        {
            Check($"attributes of {id}", attrs[id].ToString(), ((int)ours.GetAttributes(id)).ToString());
            Check($"end of generation {id}", eog[id].ToString(), ours.IsEndOfGeneration(id).ToString());
            Check($"score of {id}", BitConverter.SingleToInt32Bits(scores[id]).ToString(), BitConverter.SingleToInt32Bits(ours.GetScore(id)).ToString());
        }

        // Pieces of a spread of tokens (every token would be slow through the worker thread).
        for (int id = 0; id < ours.VocabularySize; id += Math.Max(1, ours.VocabularySize / 3000))
        {
            foreach (bool special in (bool[])[true, false])
            {
                CheckBytes($"piece of {id} special={special}", llama.TokenToPiece(id, special), ours.TokenToPieceUtf8(id, special));
            }
        }
    }

    /// <summary>Encode in all four flag combinations, then decode llama.cpp's tokens in all four.</summary>
    public void CompareText(TokenizerText text)
    {
        int[]? reference = null;
        foreach (bool addSpecial in (bool[])[true, false])
        {
            foreach (bool parseSpecial in (bool[])[true, false])
            {
                int[] expected = llama.Tokenize(text.Bytes, addSpecial, parseSpecial);
                int[] actual = ours.Encode(text.Bytes, addSpecial, parseSpecial);
                Comparisons++;
                Encodes++;
                if (!expected.AsSpan().SequenceEqual(actual))
                {
                    Fail($"encode '{text.Name}' add_special={addSpecial} parse_special={parseSpecial}: {Show(text.Bytes)}\n      llama.cpp {Ids(expected)}\n      ours      {Ids(actual)}");
                }

                if (addSpecial && parseSpecial)
                {
                    reference = expected;
                }
            }
        }

        if (reference is null || reference.Any(id => id < 0 || id >= ours.VocabularySize))
        {
            return;
        }

        foreach (bool removeSpecial in (bool[])[false, true])
        {
            foreach (bool unparseSpecial in (bool[])[true, false])
            {
                Decodes++;
                CheckBytes($"decode '{text.Name}' remove_special={removeSpecial} unparse_special={unparseSpecial}", llama.Detokenize(reference, removeSpecial, unparseSpecial), ours.DecodeToUtf8(reference, removeSpecial, unparseSpecial));
            }
        }
    }

    public string Summary() => $"{name}: {Comparisons} comparisons ({Encodes} encodes, {Decodes} decodes, {Comparisons - Encodes - Decodes} vocabulary facts), {Differences} differences";

    private void Check(string what, string expected, string actual)
    {
        Comparisons++;
        if (expected != actual)
        {
            Fail($"{what}: llama.cpp {expected}, ours {actual}");
        }
    }

    private void CheckBytes(string what, byte[] expected, byte[] actual)
    {
        Comparisons++;
        if (!expected.AsSpan().SequenceEqual(actual))
        {
            Fail($"{what}: llama.cpp {Show(expected)}, ours {Show(actual)}");
        }
    }

    private void Fail(string message)
    {
        Differences++;
        if (Failures.Count < MaxFailures)
        {
            Failures.Add($"{name}: {message}");
        }
    }

    private static string Ids(int[] ids) => ids.Length > 60 ? $"[{ids.Length}] " + string.Join(" ", ids.Take(60)) + " …" : string.Join(" ", ids);

    public static string Show(byte[] bytes)
    {
        string s = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 160));
        var sb = new StringBuilder("\"");
        foreach (char c in s)
        {
            sb.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < ' ' => $"\\x{(int)c:X2}",
                _ => c.ToString(),
            });
        }

        return sb.Append(bytes.Length > 160 ? "\"…" : "\"").ToString();
    }
}

/// <summary>Shared helpers: the corpus folder and our special-token texts.</summary>
internal static class TokenizerFiles
{
    /// <summary>../shared/corpus beside the repository root, or null.</summary>
    public static string? CorpusDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gguf.slnx")))
            {
                string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "corpus"));
                return Directory.Exists(candidate) ? candidate : null;
            }
        }

        return null;
    }

    /// <summary>The texts of control, user-defined and unknown tokens, spread over the list (at most <paramref name="max"/>).</summary>
    public static List<string> SpecialTexts(GgufTokenizer tokenizer, int max = 24)
    {
        var all = new List<string>();
        for (int id = 0; id < tokenizer.VocabularySize; id++)
        {
            if ((tokenizer.GetAttributes(id) & (TokenAttributes.Control | TokenAttributes.UserDefined | TokenAttributes.Unknown)) != 0)
            {
                all.Add(tokenizer.GetTokenText(id));
            }
        }

        if (all.Count <= max)
        {
            return all;
        }

        var picked = new List<string>();
        for (int i = 0; i < max; i++)
        {
            picked.Add(all[i * all.Count / max]);
        }

        return picked;
    }

    /// <summary>Opens a file and builds our tokenizer.</summary>
    public static GgufTokenizer Ours(string path)
    {
        using GgufFile file = GgufFile.Open(path);
        return GgufTokenizer.FromFile(file);
    }
}
