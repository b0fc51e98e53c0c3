using System.CommandLine;
using Gguf.Format;
using Gguf.Model;
using Gguf.Tokenization;

namespace Gguf.Cli.Commands;

/// <summary>
/// <c>gguf detokenize FILE ID... [--remove-special] [--no-unparse-special]</c>: the text of token ids, as
/// llama.cpp's <c>llama_detokenize</c> gives it (by default special tokens are rendered, none removed).
/// </summary>
internal static class DetokenizeCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file whose tokenizer to use." };
        var ids = new Argument<int[]>("ids") { Description = "The token ids.", Arity = ArgumentArity.OneOrMore };
        var removeSpecial = new Option<bool>("--remove-special") { Description = "Drop a leading BOS and a trailing EOS the vocabulary adds." };
        var noUnparseSpecial = new Option<bool>("--no-unparse-special") { Description = "Render control tokens as nothing." };
        var command = new Command("detokenize", "Turn token ids back into text with the file's own tokenizer (as llama.cpp).") { file, ids, removeSpecial, noUnparseSpecial };
        command.SetAction(parse => CliErrors.Guard(console, () =>
        {
            using GgufFile gguf = GgufFile.Open(parse.GetValue(file)!);
            GgufTokenizer tokenizer = GgufTokenizer.FromFile(gguf);
            int[] tokens = parse.GetValue(ids) ?? [];
            foreach (int id in tokens)
            {
                if ((uint)id >= (uint)tokenizer.VocabularySize)
                {
                    console.Error.WriteLine($"error: token id {id} is out of range (the vocabulary has {tokenizer.VocabularySize} tokens)");
                    return CliErrors.IoError;
                }
            }

            console.Out.WriteLine(tokenizer.Decode(tokens, removeSpecial: parse.GetValue(removeSpecial), unparseSpecial: !parse.GetValue(noUnparseSpecial)));
            return 0;
        }));
        return command;
    }
}
