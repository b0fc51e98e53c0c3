using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gguf.Format;
using Gguf.Gpu;
using Gguf.Loading;
using Gguf.Model;
using Spectre.Console;

namespace Gguf.Cli.Commands;

/// <summary>
/// <c>gguf load FILE [--device host|cuda[:N]] [--chunk-size 1MiB] [--mode auto|mmap|read|direct] [--verify] [--checksums] [--json]</c>:
/// loads every tensor to device memory and reports what it cost.
/// </summary>
internal static class LoadCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file to load." };
        Option<string> device = LoadCliOptions.Device();
        Option<int> chunkSize = LoadCliOptions.ChunkSize();
        Option<string> mode = LoadCliOptions.Mode();
        var verify = new Option<bool>("--verify") { Description = "Read every tensor back and compare its XxHash64 with the file's." };
        var checksums = new Option<bool>("--checksums") { Description = "Print the SHA-256 of every tensor as it sits in the destination, in file order." };
        var json = new Option<bool>("--json") { Description = "Write one JSON object instead of the summary." };
        var command = new Command("load", "Load every tensor into device memory in bounded chunks, with progress, and report throughput and peak memory.")
        {
            file, device, chunkSize, mode, verify, checksums, json,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(CliErrors.Guard(console, () =>
        {
            var options = new LoadOptions
            {
                ChunkSize = parse.GetValue(chunkSize),
                Mode = LoadCliOptions.ParseMode(parse.GetValue(mode)!),
                Verify = parse.GetValue(verify),
                PeakMemory = PeakMemoryTracking.HighWaterMark,
            };
            using var signals = new SignalCancellation(cancellationToken);
            return Run(console, parse.GetValue(file)!, parse.GetValue(device)!, options, parse.GetValue(checksums), parse.GetValue(json), signals.Token);
        })));
        return command;
    }

    internal static bool TryParseDevice(string text, out bool cuda, out int index)
    {
        cuda = false;
        index = 0;
        if (text == "host")
        {
            return true;
        }

        if (text == "cuda")
        {
            cuda = true;
            return true;
        }

        cuda = text.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index);
        return cuda;
    }

    /// <summary>
    /// Opens the destination a <c>--device</c> value names; the caller disposes it. CUDA goes through
    /// <see cref="CudaDestination"/> (the driver API); a machine without one fails with one line.
    /// </summary>
    internal static ITensorDestination OpenDevice(string text)
    {
        if (!TryParseDevice(text, out bool cuda, out int index))
        {
            throw new ArgumentException($"--device must be host, cuda or cuda:N, not '{text}'", nameof(text));
        }

        return cuda ? CudaDestination.Open(index) : new HostArenaDestination();
    }

    private static int Run(CliConsole console, string path, string deviceText, LoadOptions options, bool checksums, bool json, CancellationToken cancellationToken)
    {
        using GgufFile gguf = GgufFile.Open(path);
        ITensorDestination destination = OpenDevice(deviceText);
        try
        {
            var loader = new ModelLoader(destination, options);
            using LoadedModel model = console.IsTerminal && !json
                ? LoadProgressBar.Load(loader, gguf, cancellationToken)
                : loader.Load(gguf, null, cancellationToken);
            List<(string Name, string Sha256)>? sums = checksums ? TensorChecksums.Compute(model, cancellationToken) : null;
            if (json)
            {
                LoadReport.WriteJson(console, model, sums);
            }
            else
            {
                LoadReport.WriteSummary(console, model, sums);
            }

            return 0;
        }
        finally
        {
            destination.Dispose();
        }
    }
}
