using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gguf.Format;
using Gguf.Model;
using Gguf.Tokenization;

namespace Gguf.Cli.Commands;

/// <summary>
/// <c>gguf tokenize FILE (--text TEXT | --text-file F) [--no-add-special] [--no-parse-special] [--json]</c>:
/// the token ids of a text, as llama.cpp's <c>llama_tokenize</c> gives them (add_special and parse_special
/// on by default).
/// </summary>
internal static class TokenizeCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file whose tokenizer to use." };
        var text = new Option<string?>("--text") { Description = "The text to tokenize." };
        var textFile = new Option<string?>("--text-file") { Description = "A file whose bytes to tokenize (taken as they are, like llama.cpp)." };
        var noAddSpecial = new Option<bool>("--no-add-special") { Description = "Do not add the vocabulary's BOS/EOS (or CLS/SEP) tokens." };
        var noParseSpecial = new Option<bool>("--no-parse-special") { Description = "Do not recognise control tokens written in the text." };
        var json = new Option<bool>("--json") { Description = "Write {\"tokens\": [...], \"pieces\": [...]}." };
        var command = new Command("tokenize", "Tokenize a text with the file's own tokenizer (token for token as llama.cpp).") { file, text, textFile, noAddSpecial, noParseSpecial, json };
        command.SetAction(parse => CliErrors.Guard(console, () =>
        {
            string? inline = parse.GetValue(text);
            string? path = parse.GetValue(textFile);
            if ((inline is null) == (path is null))
            {
                console.Error.WriteLine("error: give exactly one of --text and --text-file");
                return CliErrors.IoError;
            }

            byte[] input = path is not null ? File.ReadAllBytes(path) : Encoding.UTF8.GetBytes(inline!);
            using GgufFile gguf = GgufFile.Open(parse.GetValue(file)!);
            GgufTokenizer tokenizer = GgufTokenizer.FromFile(gguf);
            int[] ids = tokenizer.Encode(input, addSpecial: !parse.GetValue(noAddSpecial), parseSpecial: !parse.GetValue(noParseSpecial));
            if (parse.GetValue(json))
            {
                console.Out.WriteLine(Json(tokenizer, ids));
            }
            else
            {
                console.Out.WriteLine(string.Join(' ', ids));
            }

            return 0;
        }));
        return command;
    }

    /// <summary><c>{"tokens": [...], "pieces": [...]}</c>; a piece is the token's text as llama.cpp renders it (special tokens included).</summary>
    internal static string Json(GgufTokenizer tokenizer, int[] ids)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("tokens");
            foreach (int id in ids)
            {
                writer.WriteNumberValue(id);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("pieces");
            foreach (int id in ids)
            {
                // WordPiece gives -1 for a word it cannot match when the vocabulary has no unknown token.
                writer.WriteStringValue(id >= 0 && id < tokenizer.VocabularySize ? tokenizer.TokenToPiece(id) : "");
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
