using System.Diagnostics;
using Gguf.Format;
using Gguf.Testing;
using Xunit;

namespace Gguf.Tests.Format.Hostile;

/// <summary>
/// Bounds on work: parsing allocates at most a small multiple of the file's size whatever its counts say,
/// and 40,000 keys or tensors parse in linear time (llama.cpp's duplicate scans are quadratic: about 2 s
/// for such a file, reference G3).
/// </summary>
[Collection(nameof(WorkBoundsTests))]
public sealed class WorkBoundsTests
{
    // Materializing an entry costs an object, its key string and a dictionary slot: about 10x the 14 bytes
    // of the smallest possible KV. Lazy metadata keeps real files far below this.
    private const int AllocationFactor = 16;
    private const int AllocationSlack = 64 * 1024;

    [Fact]
    public void Read_EveryCatalogueFile_AllocatesAtMostASmallMultipleOfItsSize()
    {
        var report = new List<string>();
        foreach (MalformedCase c in MalformedCatalogue.Cases.Values)
        {
            long allocated = Allocated(() =>
            {
                try
                {
                    GgufReader.Read(c.File, c.Options);
                }
                catch (GgufFormatException)
                {
                }
            });
            if (allocated > (AllocationFactor * (long)c.File.Length) + AllocationSlack)
            {
                report.Add($"{c.Name}: {allocated} bytes for a {c.File.Length}-byte file");
            }
        }

        Assert.True(report.Count == 0, string.Join("\n", report));
    }

    [Fact]
    public void Read_SeedAndEdgeFiles_AllocateAtMostASmallMultipleOfTheirSize()
    {
        IEnumerable<(string Name, byte[] File)> files = SeedFiles.WriterMade()
            .Concat(MalformedCatalogue.AcceptedEdges().Where(e => e.Options is null).Select(e => (e.Name, e.File)));
        foreach ((string name, byte[] file) in files)
        {
            AssertBounded(name, file);
        }
    }

    [Fact]
    public void Read_RealCorpusFiles_AllocateLessThanTheirSize()
    {
        // Metadata is lazy: a 150,000-token array costs no strings until asked for.
        foreach (string path in Directory.EnumerateFiles(Corpus.Require(), "ggml-vocab-*.gguf"))
        {
            byte[] file = File.ReadAllBytes(path);
            long allocated = Allocated(() => GgufReader.Read(file));
            Assert.True(allocated < file.Length, $"{Path.GetFileName(path)}: {allocated} bytes allocated for {file.Length}");
        }
    }

    [Theory]
    [InlineData(40_000, false)]
    [InlineData(40_000, true)]
    public void Read_FileOfTheSmallestPossibleEntries_AllocatesAtMostASmallMultipleOfItsSize(int count, bool tensors)
    {
        byte[] file = tensors ? ManyTensors(count, nameLength: 3) : ManyKeys(count, keyLength: 3);
        AssertBounded($"{count} {(tensors ? "tensors" : "keys")}", file);
    }

    [Fact]
    public void Read_CountsThatLieByAFactor_AllocateNothingProportionalToTheCount()
    {
        // Counts just under the bytes present, but every entry malformed: the parse fails at the first one.
        byte[] keys = new RawGguf().Header(0, 70_000).Zeros(14 * 70_000).ToArray();
        byte[] tensors = new RawGguf().Header(40_000, 0).Zeros(24 * 40_000).ToArray();
        foreach ((string name, byte[] file) in new[] { ("keys", keys), ("tensors", tensors) })
        {
            long allocated = Allocated(() => HostileSupport.Rejects(() => GgufReader.Read(file), name));
            Assert.True(allocated <= 4L * file.Length, $"{name}: {allocated} bytes for {file.Length}");
        }
    }

    [Fact]
    public void Read_40000Keys_ParsesInLinearTime()
    {
        AssertLinear(n => ManyKeys(n, keyLength: 24), "keys");
    }

    [Fact]
    public void Read_40000Tensors_ParsesInLinearTime()
    {
        AssertLinear(n => ManyTensors(n, nameLength: 24), "tensors");
    }

    [Fact]
    public void ReadStream_40000Keys_GrowsItsBufferGeometrically()
    {
        // The stream reader re-parses after each growth: doubling keeps the total work linear (timing it
        // is dominated by the GC on a loaded machine, so count the growths instead).
        byte[] file = ManyKeys(40_000, keyLength: 24);
        using var stream = new CountingStream(file);
        GgufHeader header = GgufReader.Read(stream);
        Assert.Equal(40_000, header.Metadata.Count);
        int doublings = (int)Math.Ceiling(Math.Log2(file.Length / (64.0 * 1024)));
        Assert.True(stream.Reads <= doublings + 3, $"{stream.Reads} reads for a {file.Length}-byte header ({doublings} doublings from 64 KiB)");
    }

    private static void AssertBounded(string name, byte[] file)
    {
        long allocated = Allocated(() => GgufReader.Read(file));
        Assert.True(
            allocated <= (AllocationFactor * (long)file.Length) + AllocationSlack,
            $"{name}: {allocated} bytes allocated for a {file.Length}-byte file ({(double)allocated / file.Length:F1}x)");
    }

    /// <summary>10,000 vs 40,000: linear is 4x, quadratic 16x. The bound is generous for a loaded machine.</summary>
    private static void AssertLinear(Func<int, byte[]> make, string what)
    {
        byte[] small = make(10_000);
        byte[] large = make(40_000);
        Func<byte[], GgufHeader> parse = f => GgufReader.Read(f);
        // Past tiered JIT's first tiers, so both sizes run the same code.
        for (int i = 0; i < 40; i++)
        {
            parse(small);
        }

        // A loaded machine (two cores shared with other builds) makes single timings noisy; a quadratic
        // parse fails every attempt, a linear one passes at least one of three.
        string report = "";
        for (int attempt = 0; attempt < 3; attempt++)
        {
            TimeSpan tSmall = Best(() => parse(small));
            TimeSpan tLarge = Best(() => parse(large));
            double ratio = tLarge / tSmall;
            if (ratio < 10 && tLarge < TimeSpan.FromSeconds(2))
            {
                return;
            }

            report += $" [10k {tSmall.TotalMilliseconds:F1} ms, 40k {tLarge.TotalMilliseconds:F1} ms, x{ratio:F1}]";
        }

        Assert.Fail($"{what}: not linear (linear is x4, quadratic x16):{report}");
    }

    /// <summary>The best of fifteen runs, each without garbage collections where the runtime allows it: the parse's own cost.</summary>
    private static TimeSpan Best(Action action)
    {
        TimeSpan best = TimeSpan.MaxValue;
        for (int i = 0; i < 15; i++)
        {
            GC.Collect();
            bool noGc = GC.TryStartNoGCRegion(128L << 20);
            var clock = Stopwatch.StartNew();
            action();
            TimeSpan elapsed = clock.Elapsed;
            if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
            }

            best = elapsed < best ? elapsed : best;
        }

        return best;
    }

    private static long Allocated(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary><paramref name="count"/> UINT8 KVs with distinct keys.</summary>
    internal static byte[] ManyKeys(int count, int keyLength)
    {
        var raw = new RawGguf().Header(0, (ulong)count);
        for (int i = 0; i < count; i++)
        {
            raw.KvU8(Name(i, keyLength), (byte)i);
        }

        return raw.ToArray();
    }

    /// <summary><paramref name="count"/> one-element I8 tensors with distinct names, alignment 1, packed.</summary>
    internal static byte[] ManyTensors(int count, int nameLength)
    {
        var raw = new RawGguf().Header((ulong)count, 1).KvU32("general.alignment", 1);
        for (int i = 0; i < count; i++)
        {
            raw.Tensor(Name(i, nameLength), [1], (int)GgmlType.I8, (ulong)i);
        }

        return raw.Zeros(count).ToArray();
    }

    /// <summary>Distinct names of a fixed length from a 62-letter alphabet; long ones share a prefix, like real keys.</summary>
    private static string Name(int i, int length)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        Span<char> name = stackalloc char[length];
        name.Fill('.');
        for (int p = length - 1; p >= 0 && i > 0; p--)
        {
            name[p] = alphabet[i % alphabet.Length];
            i /= alphabet.Length;
        }

        return new string(name);
    }

    private sealed class CountingStream(byte[] data) : MemoryStream(data, writable: false)
    {
        public int Reads { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Reads++;
            return base.Read(buffer, offset, count);
        }

        public override int Read(Span<byte> buffer)
        {
            Reads++;
            return base.Read(buffer);
        }
    }
}

/// <summary>Timings run alone: other tests' threads and garbage collections would drown a 4x-vs-16x signal.</summary>
[CollectionDefinition(nameof(WorkBoundsTests), DisableParallelization = true)]
public sealed class WorkBoundsCollection
{
}
