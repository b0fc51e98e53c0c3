using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gguf.Format;
using Gguf.Gpu;
using Gguf.Loading;
using Gguf.Model;
using Gguf.Writing;
using Microsoft.Win32.SafeHandles;

namespace Gguf.Cli.Commands;

/// <summary>
/// <c>gguf bench load FILE [--json]</c>: load throughput of each mode against, in the same process and run,
/// <c>naive_read</c> (one plain read of the file into a fresh buffer of its size), <c>read_reused</c> (reads
/// through one reused 1 MiB buffer: the page cache's limit) and memcpy bandwidth; medians of several runs.
/// </summary>
internal static class BenchLoadCommand
{
    private const int ReusedBufferSize = 1 << 20;

    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file to load (see --create-size)." };
        var json = new Option<bool>("--json") { Description = "Write one JSON object." };
        Option<string> device = LoadCommand.DeviceOption();
        Option<int> chunkSize = LoadCommand.ChunkSizeOption();
        var runs = new Option<int>("--runs") { Description = "Runs of each measurement; medians are reported.", DefaultValueFactory = _ => 5 };
        var create = new Option<string?>("--create-size") { Description = "If FILE does not exist, first write a synthetic llama-shaped model of about this size there (e.g. 2GiB)." };
        var variants = new Option<bool>("--variants") { Description = "Also measure the host arena without huge pages or pre-faulting, with other pre-faulting, through the staging ring, and with one reader (GPU: reader and chunk variants)." };
        var only = new Option<string?>("--only") { Description = "Measure only these modes (comma-separated names as the report prints them).", Hidden = true };
        var command = new Command("load", "Benchmark loading to device memory against naive read(), reused-buffer read() and memcpy, in one process.")
        {
            file, json, device, chunkSize, runs, create, variants, only,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(CliErrors.Guard(console, () =>
        {
            string path = parse.GetValue(file)!;
            if (parse.GetValue(create) is string size && !File.Exists(path))
            {
                long bytes = ByteSize.Parse(size);
                console.Error.WriteLine($"writing a synthetic {ByteSize.Format(bytes)} model to {path}");
                WriteSyntheticModel(path, bytes);
            }

            using var signals = new LoadCommand.SignalCancellation(cancellationToken);
            int runCount = Math.Max(1, parse.GetValue(runs));
            string[]? onlyModes = parse.GetValue(only)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            BenchResult result = Run(path, parse.GetValue(device)!, parse.GetValue(chunkSize), runCount, parse.GetValue(variants), onlyModes, console, signals.Token);
            if (parse.GetValue(json))
            {
                WriteJson(console, result);
            }
            else
            {
                WriteText(console, result);
            }

            return 0;
        })));
        return command;
    }

    private sealed class BenchResult
    {
        public required string File { get; init; }
        public required long FileBytes { get; init; }
        public required long TensorBytes { get; init; }
        public required long DestinationBytes { get; init; }
        public required string Device { get; init; }
        public required int ChunkSize { get; init; }
        public required int Runs { get; init; }
        public required int Readers { get; init; }
        public Dictionary<string, double> Modes { get; } = [];
        public double NaiveRead { get; set; }
        public double FirstLoad { get; set; }
        public double ReadReused { get; set; }
        public double Memcpy { get; set; }
        public double? PinnedCopy { get; set; }
        public long? PeakRss { get; set; }
        public long? MappingResident { get; set; }
        public string Best => Modes.Where(m => !m.Key.Contains('/', StringComparison.Ordinal)).MaxBy(m => m.Value).Key ?? BestAny;
        public string BestAny => Modes.MaxBy(m => m.Value).Key;
    }

    private static BenchResult Run(string path, string deviceText, int chunkSize, int runs, bool variants, string[]? only, CliConsole console, CancellationToken cancellationToken)
    {
        using GgufFile gguf = GgufFile.Open(path);
        ITensorDestination destination = LoadCommand.OpenDevice(deviceText, console);
        var variantArenas = new List<HostArenaDestination>();
        try
        {
            ModelLoader.Plan(gguf, 256, out long destinationBytes);
            var primary = new List<(string Name, ITensorDestination Destination, LoadOptions Options)>
            {
                ("mmap", destination, new LoadOptions { Mode = LoadMode.Mmap, ChunkSize = chunkSize, PeakMemory = PeakMemoryTracking.HighWaterMark }),
                ("read", destination, new LoadOptions { Mode = LoadMode.Read, ChunkSize = chunkSize, PeakMemory = PeakMemoryTracking.HighWaterMark }),
            };
            if (variants && destination is HostArenaDestination)
            {
                var plain = new HostArenaDestination(new HostArenaOptions { HugePages = false, Prefault = ArenaPrefault.None });
                var upfront = new HostArenaDestination(new HostArenaOptions { Prefault = ArenaPrefault.Upfront });
                var noPrefault = new HostArenaDestination(new HostArenaOptions { Prefault = ArenaPrefault.None });
                var background = new HostArenaDestination(new HostArenaOptions { Prefault = ArenaPrefault.Background });
                var onDemand = new HostArenaDestination(new HostArenaOptions { Prefault = ArenaPrefault.OnDemand });
                variantArenas.AddRange([plain, upfront, noPrefault, background, onDemand]);
                var read = new LoadOptions { Mode = LoadMode.Read, ChunkSize = chunkSize, PeakMemory = PeakMemoryTracking.HighWaterMark };
                primary.Add(("read/plain-arena", plain, read));
                primary.Add(("read/huge-pages-only", noPrefault, read));
                primary.Add(("read/upfront-prefault", upfront, read));
                primary.Add(("read/background-prefault", background, read));
                primary.Add(("read/on-demand-prefault", onDemand, read));
                primary.Add(("read/2-readers", destination, read with { Readers = 2 }));
                primary.Add(("read/staged", destination, read with { DirectHostWrites = false }));
                primary.Add(("read/1-reader", destination, read with { Readers = 1 }));
                primary.Add(("mmap/1-reader", destination, primary[0].Options with { Readers = 1 }));
            }

            if (variants && destination is not HostArenaDestination)
            {
                ITensorDestination target = destination;
                string suffix = "";
                LoadOptions read = primary[1].Options;
                primary.Add(($"read/1-reader{suffix}", target, read with { Readers = 1 }));
                primary.Add(($"read/4-readers{suffix}", target, read with { Readers = 4 }));
                primary.Add(($"read/16-readers{suffix}", target, read with { Readers = 16 }));
                primary.Add(($"read/256KiB-chunks{suffix}", target, read with { ChunkSize = 256 << 10 }));
                primary.Add(($"read/512KiB-chunks{suffix}", target, read with { ChunkSize = 512 << 10 }));
                primary.Add(($"read/ring-8{suffix}", target, read with { RingSize = 8 }));
                primary.Add(($"read/4MiB-chunks{suffix}", target, read with { ChunkSize = 4 << 20 }));
                primary.Add(($"read/16MiB-chunks{suffix}", target, read with { ChunkSize = 16 << 20 }));
            }

            if (only is { Length: > 0 })
            {
                primary.RemoveAll(p => !only.Contains(p.Name, StringComparer.Ordinal));
                if (primary.Count == 0)
                {
                    throw new ArgumentException($"--only names no mode that this run measures: {string.Join(", ", only)}");
                }
            }

            var result = new BenchResult
            {
                File = path,
                FileBytes = gguf.FileSize,
                TensorBytes = gguf.Tensors.Sum(t => t.ByteSize),
                DestinationBytes = destinationBytes,
                Device = destination.DeviceName,
                ChunkSize = chunkSize,
                Runs = runs,
                Readers = LoadOptions.DefaultReaders,
            };

            using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);

            // Warm the page cache: every measurement below reads a cached file.
            _ = ReadReused(handle, gguf.FileSize);

            // The process's very first load, before anything else allocated: what a fresh worker sees.
            LoadOptions firstOptions = primary.FirstOrDefault(p => p.Name == "read").Options ?? primary[0].Options;
            using (LoadedModel first = new ModelLoader(destination, firstOptions).Load(gguf, null, cancellationToken))
            {
                result.FirstLoad = first.Statistics.GigabytesPerSecond;
            }

            var naive = new List<double>();
            var reused = new List<double>();
            var modes = primary.ToDictionary(p => p.Name, _ => new List<double>());
            for (int run = 0; run < runs; run++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                console.Error.WriteLine($"run {run + 1} of {runs}");
                naive.Add(NaiveRead(handle, gguf.FileSize));
                reused.Add(ReadReused(handle, gguf.FileSize));

                // One untimed load between the baselines and the modes, so every timed load follows another load
                // (on a VM, memory just freed from 4 KiB pages is slow to fault in again; docs/benchmarks-load.md).
                using (new ModelLoader(destination, firstOptions).Load(gguf, null, cancellationToken))
                {
                }

                foreach ((string name, ITensorDestination target, LoadOptions options) in primary)
                {
                    using LoadedModel model = new ModelLoader(target, options).Load(gguf, null, cancellationToken);
                    modes[name].Add(model.Statistics.GigabytesPerSecond);
                    if (name is "mmap" or "read")
                    {
                        result.PeakRss = Max(result.PeakRss, model.Statistics.PeakRssBytes);
                    }

                    if (name == "mmap")
                    {
                        result.MappingResident = Max(result.MappingResident, model.Statistics.MappingResidentBytes);
                    }
                }
            }

            result.NaiveRead = Median(naive);
            result.ReadReused = Median(reused);
            foreach ((string name, List<double> values) in modes)
            {
                result.Modes[name] = Median(values);
            }

            result.Memcpy = MeasureMemcpy(runs);
            long pinnedBytes = Math.Min(512L << 20, Math.Max(1, destinationBytes));
            if (destination is CudaDestination cuda)
            {
                result.PinnedCopy = cuda.MeasurePinnedCopy(pinnedBytes, Math.Max(3, runs));
            }

            return result;
        }
        finally
        {
            variantArenas.ForEach(arena => arena.Dispose());
            destination.Dispose();
        }
    }

    private static long? Max(long? a, long? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    /// <summary>
    /// Baseline (a): a fresh buffer of the file's size (plain native memory: no huge pages, no pre-faulting) and
    /// plain read() calls into it, at most 2 GiB each (the kernel's limit).
    /// </summary>
    private static double NaiveRead(SafeFileHandle handle, long length)
    {
        using var plain = new HostArenaDestination(new HostArenaOptions { HugePages = false, Prefault = ArenaPrefault.None });
        long start = Stopwatch.GetTimestamp();
        using IDeviceBuffer buffer = plain.Allocate(length);
        for (long done = 0; done < length;)
        {
            int want = (int)Math.Min(0x7FFF_F000, length - done);
            buffer.TryGetHostSpan(done, want, out Span<byte> target);
            int read = RandomAccess.Read(handle, target, done);
            if (read <= 0)
            {
                throw new IOException("the file got shorter during the benchmark");
            }

            done += read;
        }

        return length / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
    }

    /// <summary>Baseline (b): read() through one reused 1 MiB buffer: what the page cache delivers.</summary>
    private static double ReadReused(SafeFileHandle handle, long length)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(ReusedBufferSize, pinned: true);
        buffer.AsSpan().Clear();
        long start = Stopwatch.GetTimestamp();
        for (long done = 0; done < length;)
        {
            int read = RandomAccess.Read(handle, buffer, done);
            if (read <= 0)
            {
                throw new IOException("the file got shorter during the benchmark");
            }

            done += read;
        }

        return length / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
    }

    /// <summary>memcpy bandwidth between two warm 64 MiB buffers, well past the caches (bytes copied per second).</summary>
    private static double MeasureMemcpy(int runs)
    {
        const int Size = 64 << 20;
        byte[] source = GC.AllocateUninitializedArray<byte>(Size, pinned: true);
        byte[] target = GC.AllocateUninitializedArray<byte>(Size, pinned: true);
        source.AsSpan().Fill(1);
        target.AsSpan().Fill(2);
        var results = new List<double>();
        for (int run = 0; run < Math.Max(3, runs); run++)
        {
            long start = Stopwatch.GetTimestamp();
            source.AsSpan().CopyTo(target);
            results.Add(Size / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9);
        }

        return Median(results);
    }

    /// <summary>
    /// A llama-shaped model of about <paramref name="bytes"/> bytes (F16 matrices of a 4096-wide model, F32 norms;
    /// 512 wide under 1 GiB) with pseudo-random contents, streamed to disk. The smallest has one layer.
    /// </summary>
    public static void WriteSyntheticModel(string path, long bytes)
    {
        bool small = bytes < 1L << 30;
        long width = small ? 512 : 4096;
        long ffn = small ? 1376 : 11008;
        long vocab = small ? 4000 : 32000;
        var writer = new GgufWriter();
        writer.AddMetadata(GgufKeys.Architecture, GgufValue.String("llama"));
        writer.AddMetadata(GgufKeys.Name, GgufValue.String($"synthetic {ByteSize.Format(bytes)} benchmark model"));
        ulong seed = 0x9E37_79B9_7F4A_7C15;
        long total = 0;
        void Add(string name, GgmlType type, long[] shape)
        {
            GgmlTypeInfo.Get(type).TryGetByteSize(shape, out long size);
            total += size;
            ulong tensorSeed = seed += 0x9E37_79B9_7F4A_7C15;
            writer.AddTensor(name, type, shape, output => WriteRandom(output, size, tensorSeed));
        }

        long embedding = width * vocab * 2;
        Add("token_embd.weight", GgmlType.F16, [width, vocab]);
        long perLayer = (4 * width * width * 2) + (3 * width * ffn * 2);
        for (int layer = 0; total + embedding + perLayer <= bytes || layer == 0; layer++)
        {
            Add($"blk.{layer}.attn_norm.weight", GgmlType.F32, [width]);
            Add($"blk.{layer}.attn_q.weight", GgmlType.F16, [width, width]);
            Add($"blk.{layer}.attn_k.weight", GgmlType.F16, [width, width]);
            Add($"blk.{layer}.attn_v.weight", GgmlType.F16, [width, width]);
            Add($"blk.{layer}.attn_output.weight", GgmlType.F16, [width, width]);
            Add($"blk.{layer}.ffn_norm.weight", GgmlType.F32, [width]);
            Add($"blk.{layer}.ffn_gate.weight", GgmlType.F16, [width, ffn]);
            Add($"blk.{layer}.ffn_up.weight", GgmlType.F16, [width, ffn]);
            Add($"blk.{layer}.ffn_down.weight", GgmlType.F16, [ffn, width]);
        }

        // Fill up to the requested size with one more matrix, then the output layers.
        long rest = bytes - total - embedding - (width * 4);
        if (rest >= width * 2 * 16)
        {
            Add("blk.extra.weight", GgmlType.F16, [width, rest / (width * 2)]);
        }

        Add("output_norm.weight", GgmlType.F32, [width]);
        Add("output.weight", GgmlType.F16, [width, vocab]);
        string temporary = path + ".partial";
        writer.WriteTo(temporary);
        File.Move(temporary, path, overwrite: true);
    }

    private static void WriteRandom(Stream output, long size, ulong state)
    {
        byte[] buffer = new byte[1 << 20];
        Span<ulong> words = MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan());
        for (long left = size; left > 0;)
        {
            for (int i = 0; i < words.Length; i++)
            {
                // xorshift64: fast, and incompressible enough that nothing shortcuts the copies.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                words[i] = state;
            }

            int n = (int)Math.Min(buffer.Length, left);
            output.Write(buffer, 0, n);
            left -= n;
        }
    }

    private static void WriteJson(CliConsole console, BenchResult r)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("file", r.File);
            writer.WriteNumber("file_bytes", r.FileBytes);
            writer.WriteNumber("tensor_bytes", r.TensorBytes);
            writer.WriteString("device", r.Device);
            writer.WriteNumber("chunk_size", r.ChunkSize);
            writer.WriteNumber("readers", r.Readers);
            writer.WriteNumber("runs", r.Runs);
            writer.WriteStartObject("modes");
            foreach ((string name, double value) in r.Modes)
            {
                writer.WriteNumber(name, Math.Round(value, 3));
            }

            writer.WriteEndObject();
            writer.WriteString("best_mode", r.Best);
            writer.WriteNumber("first_load_gb_per_s", Math.Round(r.FirstLoad, 3));
            writer.WriteNumber("naive_read_gb_per_s", Math.Round(r.NaiveRead, 3));
            writer.WriteNumber("read_reused_gb_per_s", Math.Round(r.ReadReused, 3));
            writer.WriteNumber("memcpy_gb_per_s", Math.Round(r.Memcpy, 3));
            writer.WriteNumber("ratio_vs_naive_read", Math.Round(r.Modes[r.Best] / r.NaiveRead, 3));
            writer.WriteNumber("ratio_vs_read_reused", Math.Round(r.Modes[r.Best] / r.ReadReused, 3));
            if (r.PinnedCopy is double pinned)
            {
                writer.WriteNumber("pinned_copy_gb_per_s", Math.Round(pinned, 3));
                writer.WriteNumber("ratio_vs_pinned_copy", Math.Round(r.Modes[r.Best] / pinned, 3));
                writer.WriteString("best_any_mode", r.BestAny);
                writer.WriteNumber("ratio_any_vs_pinned_copy", Math.Round(r.Modes[r.BestAny] / pinned, 3));
            }

            writer.WriteNumber("destination_bytes", r.DestinationBytes);
            LoadCommand.WriteNullable(writer, "peak_rss_bytes", r.PeakRss);
            LoadCommand.WriteNullable(writer, "peak_rss_over_destination_bytes", r.PeakRss - r.DestinationBytes);
            LoadCommand.WriteNullable(writer, "mapping_resident_bytes", r.MappingResident);
            writer.WriteEndObject();
        }

        console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private static void WriteText(CliConsole console, BenchResult r)
    {
        TextWriter o = console.Out;
        o.WriteLine($"file:          {r.File} ({ByteSize.Format(r.FileBytes)}), {r.Runs} runs, medians");
        o.WriteLine($"device:        {r.Device}, chunks of {ByteSize.Format(r.ChunkSize)}, {r.Readers} reader(s)");
        foreach ((string name, double value) in r.Modes)
        {
            o.WriteLine($"  {name,-26} {value,8:F2} GB/s");
        }

        o.WriteLine($"  {"first load",-26} {r.FirstLoad,8:F2} GB/s   (the process's first load, untouched memory)");
        o.WriteLine($"  {"naive_read",-26} {r.NaiveRead,8:F2} GB/s   (one read() into a fresh buffer)");
        o.WriteLine($"  {"read_reused",-26} {r.ReadReused,8:F2} GB/s   (read() through one 1 MiB buffer)");
        o.WriteLine($"  {"memcpy",-26} {r.Memcpy,8:F2} GB/s");
        if (r.PinnedCopy is double pinned)
        {
            o.WriteLine($"  {"pinned_copy",-26} {pinned,8:F2} GB/s   (page-locked host to device)");
            o.WriteLine($"best/pinned:   {r.Modes[r.Best] / pinned:F2}x ({r.Best}); {r.Modes[r.BestAny] / pinned:F2}x ({r.BestAny})");
        }

        o.WriteLine($"best/naive:    {r.Modes[r.Best] / r.NaiveRead:F2}x ({r.Best})");
        o.WriteLine($"best/reused:   {r.Modes[r.Best] / r.ReadReused:F2}x");
        o.WriteLine($"peak RSS:      {(r.PeakRss is long p ? $"{ByteSize.Format(p)} for a {ByteSize.Format(r.DestinationBytes)} destination ({ByteSize.Format(p - r.DestinationBytes)} over)" : "not measured")}");
        o.WriteLine($"mapping after: {(r.MappingResident is long m ? ByteSize.Format(m) : "not measured")} resident");
    }
}
