using System.CommandLine;
using Gguf.Architectures;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Cli.Commands;

/// <summary>
/// <c>gguf check FILE</c>: the file's format and its architecture (hyperparameter keys, every tensor's presence and shape)
/// as llama.cpp's model loader judges them. Prints <c>ok</c> (exit 0), else one line per problem (exit 2).
/// </summary>
internal static class CheckCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file to check." };
        var command = new Command("check", "Check a model against its architecture: required keys and their types, every tensor's name and shape.") { file };
        command.SetAction(parse => CliErrors.Guard(console, () =>
        {
            using GgufFile gguf = GgufFile.Open(parse.GetValue(file)!, GgufReaderOptions.LlamaCppCompatible);
            ArchitectureReport report = ArchitectureCheck.Run(gguf);
            foreach (ArchitectureProblem warning in report.Problems.Where(p => !p.IsError))
            {
                console.Out.WriteLine($"warning: {warning.Message}");
            }

            if (report.IsValid)
            {
                console.Out.WriteLine(report.Kind == ArchitectureKind.Unknown
                    ? $"ok (format only: architecture '{report.Architecture}' is not one this tool knows)"
                    : "ok");
                return 0;
            }

            foreach (ArchitectureProblem problem in report.Errors)
            {
                console.Out.WriteLine(problem.Offset is long offset ? $"{problem.Message} (offset {offset})" : problem.Message);
            }

            return CliErrors.FormatError;
        }));
        return command;
    }
}
