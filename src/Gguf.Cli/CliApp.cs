using System.CommandLine;
using Gguf.Cli.Commands;

namespace Gguf.Cli;

/// <summary>The <c>gguf</c> tool: a thin front end over the library.</summary>
internal static class CliApp
{
    /// <summary>Runs the tool with the given arguments, writing to the given streams (the console by default).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellationToken = default)
    {
        var console = new CliConsole(output ?? Console.Out, error ?? Console.Error, isTerminal: output is null && !Console.IsOutputRedirected);
        RootCommand root = BuildRoot(console);
        var configuration = new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false };
        try
        {
            return await root.Parse(args).InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return CliErrors.Report(console, e);
        }
    }

    /// <summary>Runs the tool synchronously.</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null) =>
        RunAsync(args, output, error).GetAwaiter().GetResult();

    private static RootCommand BuildRoot(CliConsole console)
    {
        var root = new RootCommand("gguf: inspect, dump, verify, load and benchmark GGUF model files.");
        root.Subcommands.Add(InfoCommand.Create(console));
        root.Subcommands.Add(DumpCommand.Create(console));
        root.Subcommands.Add(VerifyCommand.Create(console));
        root.Subcommands.Add(CheckCommand.Create(console));
        root.Subcommands.Add(PlanCommand.Create(console));
        root.Subcommands.Add(LoadCommand.Create(console));
        root.Subcommands.Add(BenchCommand.Create(console));
        root.Subcommands.Add(SetCommand.Create(console));
        root.Subcommands.Add(TensorCommand.Create(console));
        root.Subcommands.Add(TokenizeCommand.Create(console));
        root.Subcommands.Add(DetokenizeCommand.Create(console));
        return root;
    }
}

/// <summary>Where the tool writes, and whether a person is watching.</summary>
internal sealed class CliConsole(TextWriter output, TextWriter error, bool isTerminal)
{
    /// <summary>Standard output.</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Standard error.</summary>
    public TextWriter Error { get; } = error;

    /// <summary>Whether standard output is an interactive terminal (tables, progress bars).</summary>
    public bool IsTerminal { get; } = isTerminal;
}
