using System.CommandLine;

namespace Gguf.Cli.Commands;

/// <summary><c>gguf bench …</c>: the benchmarks, each measured against a baseline in the same run.</summary>
internal static class BenchCommand
{
    /// <summary>Creates the <c>bench</c> command with its subcommands.</summary>
    public static Command Create(CliConsole console)
    {
        var bench = new Command("bench", "Benchmarks, each with baselines measured in the same run (medians of several runs).");
        bench.Subcommands.Add(BenchParseCommand.Create(console));
        bench.Subcommands.Add(BenchLoadCommand.Create(console));
        return bench;
    }
}
