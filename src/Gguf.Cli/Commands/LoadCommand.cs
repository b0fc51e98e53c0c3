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
/// <c>gguf load FILE [--device host|cuda[:N]] [--chunk-size 1MiB] [--mode auto|mmap|read] [--verify] [--checksums] [--json]</c>:
/// loads every tensor to device memory and reports what it cost.
/// </summary>
internal static class LoadCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file to load." };
        Option<string> device = DeviceOption();
        Option<int> chunkSize = ChunkSizeOption();
        Option<string> mode = ModeOption();
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
                Mode = ParseMode(parse.GetValue(mode)!),
                Verify = parse.GetValue(verify),
                PeakMemory = PeakMemoryTracking.HighWaterMark,
            };
            using var signals = new SignalCancellation(cancellationToken);
            return Run(console, parse.GetValue(file)!, parse.GetValue(device)!, options, parse.GetValue(checksums), parse.GetValue(json), signals.Token);
        })));
        return command;
    }

    /// <summary><c>--device host|cuda[:N]</c>.</summary>
    internal static Option<string> DeviceOption()
    {
        var option = new Option<string>("--device")
        {
            Description = "Where to load: host (aligned native memory) or cuda[:N] (a CUDA GPU).",
            DefaultValueFactory = _ => "host",
        };
        option.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is not null && !TryParseDevice(value, out _, out _))
            {
                result.AddError($"--device must be host, cuda or cuda:N, not '{value}'");
            }
        });
        return option;
    }

    /// <summary><c>--chunk-size</c> with units (4096, 64KiB, 1MiB).</summary>
    internal static Option<int> ChunkSizeOption() => new("--chunk-size")
    {
        Description = "The most bytes copied in one step (4KiB to 1GiB; units B, KiB, MiB, GiB).",
        DefaultValueFactory = _ => 1 << 20,
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            try
            {
                long bytes = ByteSize.Parse(text);
                if (bytes is < 4096 or > 1 << 30)
                {
                    result.AddError($"--chunk-size must be between 4KiB and 1GiB, not '{text}'");
                    return 0;
                }

                return (int)bytes;
            }
            catch (FormatException e)
            {
                result.AddError($"--chunk-size: {e.Message}");
                return 0;
            }
        },
    };

    /// <summary><c>--mode auto|mmap|read</c>.</summary>
    internal static Option<string> ModeOption()
    {
        var option = new Option<string>("--mode")
        {
            Description = "How to read the file: auto (the faster, measured), mmap (copy from the mapping) or read (positional reads).",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "mmap", "read");
        return option;
    }

    internal static LoadMode ParseMode(string text) => text switch
    {
        "mmap" => LoadMode.Mmap,
        "read" => LoadMode.Read,
        _ => LoadMode.Auto,
    };

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
    internal static ITensorDestination OpenDevice(string text, CliConsole console)
    {
        if (!TryParseDevice(text, out bool cuda, out int index))
        {
            throw new ArgumentException($"--device must be host, cuda or cuda:N, not '{text}'", nameof(text));
        }

        // The console is kept for messages about the device; none is needed now that one backend remains.
        _ = console;
        return cuda ? CudaDestination.Open(index) : new HostArenaDestination();
    }

    private static int Run(CliConsole console, string path, string deviceText, LoadOptions options, bool checksums, bool json, CancellationToken cancellationToken)
    {
        using GgufFile gguf = GgufFile.Open(path);
        ITensorDestination destination = OpenDevice(deviceText, console);
        try
        {
            var loader = new ModelLoader(destination, options);
            using LoadedModel model = console.IsTerminal && !json
                ? LoadWithProgressBar(loader, gguf, cancellationToken)
                : loader.Load(gguf, null, cancellationToken);
            List<(string Name, string Sha256)>? sums = checksums ? ComputeChecksums(model, cancellationToken) : null;
            if (json)
            {
                WriteJson(console, model, sums);
            }
            else
            {
                WriteSummary(console, model, sums);
            }

            return 0;
        }
        finally
        {
            (destination as IDisposable)?.Dispose();
        }
    }

    private static LoadedModel LoadWithProgressBar(ModelLoader loader, GgufFile gguf, CancellationToken cancellationToken)
    {
        long total = gguf.Tensors.Sum(t => t.ByteSize);
        LoadedModel? model = null;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                ProgressTask task = context.AddTask("loading", maxValue: Math.Max(1, total));
                var progress = new SynchronousProgress(p =>
                {
                    task.Value = p.BytesDone;
                    if (p.CurrentTensor is not null)
                    {
                        task.Description = Markup.Escape(p.CurrentTensor.Length > 40 ? p.CurrentTensor[..40] : p.CurrentTensor);
                    }
                });
                model = loader.Load(gguf, progress, cancellationToken);
                task.Value = task.MaxValue;
            });
        return model!;
    }

    /// <summary>SHA-256 of every tensor read back from the destination, in file order.</summary>
    internal static List<(string Name, string Sha256)> ComputeChecksums(LoadedModel model, CancellationToken cancellationToken)
    {
        var sums = new List<(string, string)>(model.Tensors.Count);
        byte[] buffer = new byte[4 << 20];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (LoadedTensor tensor in model.Tensors)
        {
            for (long offset = 0; offset < tensor.ByteSize; offset += buffer.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int length = (int)Math.Min(buffer.Length, tensor.ByteSize - offset);
                model.CopyToHost(tensor, offset, buffer.AsSpan(0, length));
                sha.AppendData(buffer, 0, length);
            }

            sums.Add((tensor.Name, Convert.ToHexStringLower(sha.GetHashAndReset())));
        }

        return sums;
    }

    private static void WriteJson(CliConsole console, LoadedModel model, List<(string Name, string Sha256)>? sums)
    {
        LoadStatistics s = model.Statistics;
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("file", model.Path);
            writer.WriteNumber("tensors", s.Tensors);
            writer.WriteNumber("bytes", s.Bytes);
            writer.WriteNumber("seconds", Math.Round(s.LoadTime.TotalSeconds, 6));
            writer.WriteNumber("gb_per_s", Math.Round(s.GigabytesPerSecond, 3));
            writer.WriteString("device", s.DeviceName);
            writer.WriteString("memory_kind", s.MemoryKind.ToString().ToLowerInvariant());
            writer.WriteString("mode", s.Mode.ToString().ToLowerInvariant());
            writer.WriteNumber("chunk_size", s.ChunkSize);
            writer.WriteNumber("readers", s.Readers);
            writer.WriteNumber("allocated_bytes", s.AllocatedBytes);
            writer.WriteBoolean("verified", s.Verified);
            writer.WriteNumber("verify_seconds", Math.Round(s.VerifyTime.TotalSeconds, 6));
            WriteNullable(writer, "peak_rss_bytes", s.PeakRssBytes);
            WriteNullable(writer, "mapping_resident_bytes", s.MappingResidentBytes);
            if (sums is not null)
            {
                writer.WriteStartArray("checksums");
                foreach ((string name, string sha256) in sums)
                {
                    writer.WriteStartObject();
                    writer.WriteString("name", name);
                    writer.WriteString("sha256", sha256);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    internal static void WriteNullable(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is long v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteSummary(CliConsole console, LoadedModel model, List<(string Name, string Sha256)>? sums)
    {
        LoadStatistics s = model.Statistics;
        TextWriter o = console.Out;
        o.WriteLine($"loaded:       {model.Path}");
        o.WriteLine($"tensors:      {s.Tensors:N0}");
        o.WriteLine($"bytes:        {s.Bytes:N0} ({ByteSize.Format(s.Bytes)}; {ByteSize.Format(s.AllocatedBytes)} allocated)");
        o.WriteLine($"seconds:      {s.LoadTime.TotalSeconds:F3}");
        o.WriteLine($"throughput:   {(s.GigabytesPerSecond >= 0.1 ? s.GigabytesPerSecond.ToString("F2") : s.GigabytesPerSecond.ToString("G3"))} GB/s");
        o.WriteLine($"destination:  {s.DeviceName} ({s.MemoryKind.ToString().ToLowerInvariant()} memory)");
        o.WriteLine($"mode:         {s.Mode.ToString().ToLowerInvariant()}, chunks of {ByteSize.Format(s.ChunkSize)}, {s.Readers} reader(s){(s.RingSize > 0 ? $", {s.RingSize} staging buffers each" : ", written in place")}");
        o.WriteLine($"peak RSS:     {(s.PeakRssBytes is long peak ? ByteSize.Format(peak) : "not measured")}");
        o.WriteLine($"verified:     {(s.Verified ? $"yes, every tensor's XxHash64 matches the file ({s.VerifyTime.TotalSeconds:F3} s)" : "no (--verify)")}");
        if (sums is not null)
        {
            o.WriteLine("sha256:");
            foreach ((string name, string sha256) in sums)
            {
                o.WriteLine($"{sha256}  {name}");
            }
        }
    }

    /// <summary>
    /// Ctrl+C (SIGINT) and SIGTERM cancel the token instead of killing the process, so a load frees what it
    /// allocated and the tool exits with one line. System.CommandLine's own handler is only installed once a
    /// synchronous action has returned, too late for a load. A second signal terminates as usual.
    /// </summary>
    internal sealed class SignalCancellation : IDisposable
    {
        private readonly CancellationTokenSource _source;
        private readonly PosixSignalRegistration[] _registrations;
        private int _signals;

        public SignalCancellation(CancellationToken outer)
        {
            _source = CancellationTokenSource.CreateLinkedTokenSource(outer);
            _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
        }

        public CancellationToken Token => _source.Token;

        public void Dispose()
        {
            foreach (PosixSignalRegistration registration in _registrations)
            {
                registration.Dispose();
            }

            _source.Dispose();
        }

        private void OnSignal(PosixSignalContext context)
        {
            if (Interlocked.Increment(ref _signals) == 1)
            {
                context.Cancel = true;
                _source.Cancel();
            }
        }
    }

    /// <summary>Reports on the loader's thread, in order (unlike <see cref="Progress{T}"/>, which posts).</summary>
    private sealed class SynchronousProgress(Action<LoadProgress> report) : IProgress<LoadProgress>
    {
        public void Report(LoadProgress value) => report(value);
    }
}
