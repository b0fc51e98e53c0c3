using System.CommandLine;
using Gguf.Loading;

namespace Gguf.Cli.Commands;

/// <summary>
/// <c>gguf bench load FILE [--json]</c>: load throughput of each mode against, in the same process and run,
/// <c>naive_read</c> (one plain read of the file into a fresh buffer of its size), <c>read_reused</c> (reads
/// through one reused 1 MiB buffer: the page cache's limit) and memcpy bandwidth; medians of several runs.
/// The options are parsed here; <see cref="LoadBenchmark"/> measures, <see cref="LoadBenchmarkReport"/> prints.
/// </summary>
internal static class BenchLoadCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file to load (see --create-size)." };
        var json = new Option<bool>("--json") { Description = "Write one JSON object." };
        Option<string> device = LoadCliOptions.Device();
        Option<int> chunkSize = LoadCliOptions.ChunkSize();
        var runs = new Option<int>("--runs") { Description = "Runs of each measurement; medians are reported.", DefaultValueFactory = _ => 5 };
        var create = new Option<string?>("--create-size") { Description = "If FILE does not exist, first write a synthetic llama-shaped model of about this size there (e.g. 2GiB)." };
        var variants = new Option<bool>("--variants") { Description = "Also measure the host arena without huge pages or pre-faulting, with other pre-faulting, through the staging ring, and with one reader (GPU: reader and chunk variants)." };
        var cold = new Option<bool>("--cold") { Description = "Also measure cold loads: the file evicted from the page cache before each, against one O_DIRECT read of the whole file (Linux)." };
        var only = new Option<string?>("--only") { Description = "Measure only these modes (comma-separated names as the report prints them).", Hidden = true };
        var command = new Command("load", "Benchmark loading to device memory against naive read(), reused-buffer read() and memcpy, in one process.")
        {
            file, json, device, chunkSize, runs, create, variants, cold, only,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(CliErrors.Guard(console, () =>
        {
            string path = parse.GetValue(file)!;
            if (parse.GetValue(create) is string size && !File.Exists(path))
            {
                long bytes = ByteSizeParser.Parse(size);
                console.Error.WriteLine($"writing a synthetic {ByteSize.Format(bytes)} model to {path}");
                SyntheticModel.Write(path, bytes);
            }

            using var signals = new SignalCancellation(cancellationToken);
            int runCount = Math.Max(1, parse.GetValue(runs));
            string[]? onlyModes = parse.GetValue(only)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            LoadBenchmarkResult result = LoadBenchmark.Run(path, parse.GetValue(device)!, parse.GetValue(chunkSize), runCount, parse.GetValue(variants), parse.GetValue(cold), onlyModes, console, signals.Token);
            if (parse.GetValue(json))
            {
                LoadBenchmarkReport.WriteJson(console, result);
            }
            else
            {
                LoadBenchmarkReport.WriteText(console, result);
            }

            return 0;
        })));
        return command;
    }
}
