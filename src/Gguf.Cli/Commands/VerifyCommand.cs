using System.CommandLine;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Cli.Commands;

/// <summary><c>gguf verify FILE</c>: prints <c>ok</c> for a valid file; one error line and exit 2 or 1 otherwise.</summary>
internal static class VerifyCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file to check." };
        var relaxed = new Option<bool>("--spec-layout") { Description = "Accept any aligned, non-overlapping tensor layout instead of llama.cpp's packed one." };
        var llamaCpp = new Option<bool>("--llama-cpp") { Description = "Also apply llama.cpp's rule that is stricter than the spec: no nested arrays." };
        var command = new Command("verify", "Check that a file is valid GGUF: header, metadata, tensor infos and data bounds.") { file, relaxed, llamaCpp };
        command.SetAction(parse => CliErrors.Guard(console, () =>
        {
            GgufReaderOptions baseline = parse.GetValue(llamaCpp) ? GgufReaderOptions.LlamaCppCompatible : GgufReaderOptions.Default;
            GgufReaderOptions options = baseline with { RequirePackedTensors = !parse.GetValue(relaxed) };
            using GgufFile gguf = GgufFile.Open(parse.GetValue(file)!, options);
            console.Out.WriteLine("ok");
            return 0;
        }));
        return command;
    }
}
