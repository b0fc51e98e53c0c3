using Gguf.Model;
using Gguf.Tokenization;

namespace Gguf.Samples;

/// <summary>Builds the tokenizer from the file's own metadata, encodes a text and decodes it back.</summary>
internal static class Tokenize
{
    public static int Run(string path, string text)
    {
        using GgufFile file = GgufFile.Open(path);
        GgufTokenizer tokenizer = GgufTokenizer.FromFile(file);

        // The defaults match llama_tokenize(add_special: true, parse_special: true).
        int[] ids = tokenizer.Encode(text);
        Console.WriteLine($"{tokenizer.Model} tokenizer, {tokenizer.VocabularySize} tokens; \"{text}\" -> [{string.Join(", ", ids)}]");
        Console.WriteLine($"pieces: {string.Join(" | ", ids.Select(tokenizer.GetTokenText))}");
        Console.WriteLine($"decoded: \"{tokenizer.Decode(ids, removeSpecial: true)}\"");
        return 0;
    }
}
