using System.Diagnostics;
using Gguf.Gpu;
using Gguf.Loading;
using Gguf.Model;
using Microsoft.Win32.SafeHandles;

namespace Gguf.Cli.Commands;

/// <summary>What one <c>gguf bench load</c> measured: medians in GB/s, and the memory it saw.</summary>
internal sealed class LoadBenchmarkResult
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
    public bool Cold { get; init; }
    public double? ColdLoad { get; set; }
    public double? DirectRead { get; set; }
    public double? ColdFault { get; set; }
    public string? ColdMode { get; set; }
    public double? ColdResidentAfterEviction { get; set; }
    public double? ModeRatio(string name, string baseline) => Modes.TryGetValue(name, out double a) && Modes.TryGetValue(baseline, out double b) && b > 0 ? a / b : null;
    public string Best => Modes.Where(m => !m.Key.Contains('/', StringComparison.Ordinal)).MaxBy(m => m.Value).Key ?? BestAny;
    public string BestAny => Modes.MaxBy(m => m.Value).Key;
}

/// <summary>
/// The measurements of <c>gguf bench load</c>, in one process: each mode's load and, interleaved with them in
/// every run, the baselines the modes are compared with.
/// </summary>
internal static class LoadBenchmark
{
    private const int ReusedBufferSize = 1 << 20;

    public static LoadBenchmarkResult Run(string path, string deviceText, int chunkSize, int runs, bool variants, bool cold, string[]? only, CliConsole console, CancellationToken cancellationToken)
    {
        using GgufFile gguf = GgufFile.Open(path);
        ITensorDestination destination = LoadCommand.OpenDevice(deviceText);
        var variantArenas = new List<HostArenaDestination>();
        try
        {
            ModelLoader.Plan(gguf, 256, out long destinationBytes);
            var primary = new List<(string Name, ITensorDestination Destination, LoadOptions Options)>
            {
                ("mmap", destination, new LoadOptions { Mode = LoadMode.Mmap, ChunkSize = chunkSize, PeakMemory = PeakMemoryTracking.HighWaterMark }),
                ("read", destination, new LoadOptions { Mode = LoadMode.Read, ChunkSize = chunkSize, PeakMemory = PeakMemoryTracking.HighWaterMark }),
                ("direct", destination, new LoadOptions { Mode = LoadMode.Direct, ChunkSize = chunkSize, PeakMemory = PeakMemoryTracking.HighWaterMark }),
            };
            if (variants && destination is HostArenaDestination)
            {
                var plain = new HostArenaDestination(new HostArenaOptions { HugePages = false, Prefault = ArenaPrefault.None });
                var upfront = new HostArenaDestination(new HostArenaOptions { Prefault = ArenaPrefault.Upfront });
                var noPrefault = new HostArenaDestination(new HostArenaOptions { Prefault = ArenaPrefault.None });
                var background = new HostArenaDestination(new HostArenaOptions { Prefault = ArenaPrefault.Background });
                var onDemand = new HostArenaDestination(new HostArenaOptions { Prefault = ArenaPrefault.OnDemand });
                var largeRegions = new HostArenaDestination(new HostArenaOptions { PrefaultRegion = 8L << 20 });
                variantArenas.AddRange([plain, upfront, noPrefault, background, onDemand, largeRegions]);
                var read = new LoadOptions { Mode = LoadMode.Read, ChunkSize = chunkSize, PeakMemory = PeakMemoryTracking.HighWaterMark };
                primary.Add(("read/plain-arena", plain, read));
                primary.Add(("read/huge-pages-only", noPrefault, read));
                primary.Add(("read/upfront-prefault", upfront, read));
                primary.Add(("read/background-prefault", background, read));
                primary.Add(("read/on-demand-prefault", onDemand, read));
                primary.Add(("read/2-readers", destination, read with { Readers = 2 }));
                primary.Add(("read/3-readers", destination, read with { Readers = 3 }));
                primary.Add(("read/8-readers", destination, read with { Readers = 8 }));
                primary.Add(("mmap/2-readers", destination, primary[0].Options with { Readers = 2 }));
                primary.Add(("mmap/8-readers", destination, primary[0].Options with { Readers = 8 }));
                primary.Add(("mmap/cached-stores", destination, primary[0].Options with { StreamingStores = false }));
                primary.Add(("direct/cached-stores", destination, primary[2].Options with { StreamingStores = false }));
                primary.Add(("mmap/in-reader", destination, primary[0].Options with { ReadAhead = ReadAheadMode.InReader }));
                primary.Add(("read/chunk-claims", destination, read with { RegionClaims = false }));
                primary.Add(("read/8MiB-regions", largeRegions, read));
                primary.Add(("read/previous-default", largeRegions, read with { Readers = 1, RegionClaims = false }));
                primary.Add(("mmap/previous-default", largeRegions, primary[0].Options with { Readers = 1, RegionClaims = false, ReadAhead = ReadAheadMode.Helper }));
                primary.Add(("direct/2-readers", destination, primary[2].Options with { Readers = 2 }));
                primary.Add(("direct/32MiB-read-ahead", destination, primary[2].Options with { ReadAheadWindow = 32L << 20 }));
                primary.Add(("direct/background-prefault", background, primary[2].Options with { ReadAhead = ReadAheadMode.Off }));
                primary.Add(("read/staged", destination, read with { DirectHostWrites = false }));
                primary.Add(("read/1-reader", destination, read with { Readers = 1 }));
                primary.Add(("mmap/1-reader", destination, primary[0].Options with { Readers = 1 }));
                primary.Add(("read/no-read-ahead", destination, read with { ReadAhead = ReadAheadMode.Off }));
                primary.Add(("mmap/no-read-ahead", destination, primary[0].Options with { ReadAhead = ReadAheadMode.Off }));
                primary.Add(("mmap/no-release", destination, primary[0].Options with { ReleaseConsumedRanges = false }));
                LoadOptions direct = primary[2].Options;
                primary.Add(("direct/1-reader", destination, direct with { Readers = 1 }));
                primary.Add(("direct/8-readers", destination, direct with { Readers = 8 }));
                primary.Add(("direct/4MiB-chunks", destination, direct with { ChunkSize = 4 << 20 }));
                primary.Add(("direct/no-read-ahead", destination, direct with { ReadAhead = ReadAheadMode.Off }));
                primary.Add(("direct/upfront-prefault", upfront, direct));
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

            var result = new LoadBenchmarkResult
            {
                File = path,
                FileBytes = gguf.FileSize,
                TensorBytes = gguf.Tensors.Sum(t => t.ByteSize),
                DestinationBytes = destinationBytes,
                Device = destination.DeviceName,
                ChunkSize = chunkSize,
                Runs = runs,
                Readers = destination.IsHostMemory ? LoadOptions.HostReaders : LoadOptions.DefaultReaders,
                Cold = cold,
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

            var coldLoads = new List<double>();
            var directReads = new List<double>();
            var coldFaults = new List<double>();
            var naive = new List<double>();
            var reused = new List<double>();
            var modes = primary.ToDictionary(p => p.Name, _ => new List<double>());

            // With --variants, every direct-mode variant is also measured on the evicted file, where it matters.
            var coldVariants = variants && cold ? primary.Where(p => p.Options.Mode == LoadMode.Direct).ToList() : [];
            foreach ((string name, _, _) in coldVariants)
            {
                modes[$"cold/{name}"] = [];
            }

            for (int run = 0; run < runs; run++)
            {
                cancellationToken.ThrowIfCancellationRequested();
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

                if (cold)
                {
                    MeasureCold(gguf, handle, destination, chunkSize, result, directReads, coldLoads, coldFaults, cancellationToken);
                    foreach ((string name, ITensorDestination target, LoadOptions options) in coldVariants)
                    {
                        Evict(gguf, result);
                        using LoadedModel model = new ModelLoader(target, options).Load(gguf, null, cancellationToken);
                        modes[$"cold/{name}"].Add(model.Statistics.GigabytesPerSecond);
                    }

                    if (coldVariants.Count > 0)
                    {
                        // Warm the cache again for the next run's warm measurements.
                        _ = ReadReused(handle, gguf.FileSize);
                    }
                }

                // Each run's numbers on stderr, so the spread behind the medians can be seen.
                IEnumerable<(string Name, double Value)> latest = [("read_reused", reused[^1]), .. modes.Select(m => (m.Key, m.Value[^1]))];
                if (cold && directReads.Count > 0)
                {
                    latest = [.. latest, ("cold", coldLoads[^1]), ("direct_read", directReads[^1])];
                }

                console.Error.WriteLine(FormattableString.Invariant($"run {run + 1} of {runs}: {string.Join(", ", latest.Select(m => FormattableString.Invariant($"{m.Name} {m.Value:F2}")))} GB/s"));
            }

            result.NaiveRead = Statistics.Median([.. naive]);
            if (cold)
            {
                result.ColdLoad = Statistics.Median([.. coldLoads]);
                result.DirectRead = directReads.Count > 0 ? Statistics.Median([.. directReads]) : null;
                result.ColdFault = coldFaults.Count > 0 ? Statistics.Median([.. coldFaults]) : null;
            }

            result.ReadReused = Statistics.Median([.. reused]);
            foreach ((string name, List<double> values) in modes)
            {
                result.Modes[name] = Statistics.Median([.. values]);
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

        return Statistics.Median([.. results]);
    }

    /// <summary>
    /// One run of <c>--cold</c>: the file evicted from the page cache (and checked with mincore) before each of the
    /// baseline — one O_DIRECT sequential read of the whole file through a reused aligned buffer, what the disk
    /// gives — and an <c>auto</c> load; then the cache is warmed again for the next run's warm measurements.
    /// For the host arena it also records how fast the load's fresh memory was faulted in (bytes per second of the
    /// faulting threads' time), the other bound of a cold load besides the disk.
    /// </summary>
    private static void MeasureCold(GgufFile gguf, SafeFileHandle handle, ITensorDestination destination, int chunkSize, LoadBenchmarkResult result, List<double> directReads, List<double> coldLoads, List<double> coldFaults, CancellationToken cancellationToken)
    {
        Evict(gguf, result);
        using (SafeFileHandle? direct = DirectIo.TryOpen(gguf, simulateRefusal: false, out _))
        {
            if (direct is not null)
            {
                directReads.Add(DirectRead(direct, gguf.FileSize));
            }
        }

        Evict(gguf, result);
        var options = new LoadOptions { Mode = LoadMode.Auto, ChunkSize = chunkSize, PeakMemory = PeakMemoryTracking.HighWaterMark };
        var arena = destination as HostArenaDestination;
        (long Bytes, long Ticks) before = arena?.FaultCounters ?? default;
        using (LoadedModel model = new ModelLoader(destination, options).Load(gguf, null, cancellationToken))
        {
            coldLoads.Add(model.Statistics.GigabytesPerSecond);
            result.ColdMode = model.Statistics.Mode.ToString().ToLowerInvariant();
        }

        if (arena?.FaultCounters is (long bytes, long ticks) && ticks > before.Ticks)
        {
            coldFaults.Add((bytes - before.Bytes) / ((double)(ticks - before.Ticks) / Stopwatch.Frequency) / 1e9);
        }

        _ = ReadReused(handle, gguf.FileSize);
    }

    private static void Evict(GgufFile gguf, LoadBenchmarkResult result)
    {
        double? left = DirectIo.EvictFromPageCache(gguf);
        if (left is double fraction)
        {
            result.ColdResidentAfterEviction = Math.Max(result.ColdResidentAfterEviction ?? 0, fraction);
        }
    }

    /// <summary>Baseline of <c>--cold</c>: O_DIRECT reads of the whole file, in order, through one reused aligned 1 MiB buffer.</summary>
    private static double DirectRead(SafeFileHandle direct, long length)
    {
        var buffer = new AlignedBuffer(ReusedBufferSize, DirectChunkReader.Alignment);
        long start = Stopwatch.GetTimestamp();
        for (long done = 0; done < length;)
        {
            int read = RandomAccess.Read(direct, buffer.Span, done);
            if (read <= 0)
            {
                throw new IOException("the file got shorter during the benchmark");
            }

            done += read;
        }

        return length / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
    }
}
