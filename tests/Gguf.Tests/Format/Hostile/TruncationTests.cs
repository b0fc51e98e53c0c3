using System.Diagnostics;
using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;
using Xunit;

namespace Gguf.Tests.Format.Hostile;

/// <summary>
/// Truncation at every byte offset: each prefix of a valid file either opens (exactly when nothing the
/// header promises was cut off) or is rejected with a <see cref="GgufFormatException"/> of the truncation
/// family, at an offset inside the prefix. Nothing else may escape.
/// </summary>
/// <remarks>
/// The per-byte loop parses from memory. A prefix costs a parse up to its end, so every byte of a 700 KB
/// vocab file is quadratic (minutes per file). The default run covers every byte of every writer-made
/// file and of every real file's shrunk copy (same keys, types and layout, a few KB), and of each real
/// file the first 4 KiB and last 256 bytes byte by byte plus 1,500 seeded random cuts.
/// <c>GGUF_TRUNCATE_EXHAUSTIVE=1</c> covers every byte of the real files too.
/// </remarks>
public sealed class TruncationTests
{
    // What cutting a valid file short may be reported as.
    private static readonly HashSet<GgufErrorCode> TruncationFamily =
    [
        GgufErrorCode.Truncated, GgufErrorCode.StringPastEnd, GgufErrorCode.ArrayPastEnd,
        GgufErrorCode.CountExceedsFile, GgufErrorCode.DataOffsetPastEnd, GgufErrorCode.TensorDataPastEnd,
    ];

    private static readonly string[] RealFiles =
    [
        "ggml-vocab-bert-bge.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf",
    ];

    public static TheoryData<string> WriterMadeNames => [.. SeedFiles.WriterMade().Select(f => f.Name)];

    public static TheoryData<string> RealFileNames => [.. RealFiles];

    [Theory]
    [MemberData(nameof(WriterMadeNames))]
    public void Read_EveryPrefixOfAWriterMadeFile_OpensOrRejectsAsTruncated(string name)
    {
        byte[] file = SeedFiles.WriterMade().Single(f => f.Name == name).File;
        int checkedCount = CheckPrefixes(file, Enumerable.Range(0, file.Length + 1));
        Assert.Equal(file.Length + 1, checkedCount);
    }

    [Fact]
    public void Read_EveryPrefixOfTheEdgeFiles_OpensOrRejectsAsTruncated()
    {
        foreach ((string name, byte[] file, GgufReaderOptions? options) in MalformedCatalogue.AcceptedEdges().Where(e => e.Options is null))
        {
            _ = name;
            CheckPrefixes(file, Enumerable.Range(0, file.Length + 1));
        }
    }

    [Fact]
    public void Read_EveryPrefixOfEveryShrunkCorpusFile_OpensOrRejectsAsTruncated()
    {
        string corpus = Corpus.Require();
        int files = 0;
        foreach (string path in Directory.EnumerateFiles(corpus, "*.gguf", SearchOption.AllDirectories))
        {
            byte[] shrunk;
            try
            {
                shrunk = SeedFiles.Shrink(path, 8);
            }
            catch (GgufFormatException)
            {
                continue; // v1, FUGG and OBJ files: RejectedCorpusFiles covers them.
            }

            CheckPrefixes(shrunk, Enumerable.Range(0, shrunk.Length + 1));
            files++;
        }

        Assert.True(files >= 12, $"only {files} corpus files shrunk");
    }

    [Theory]
    [MemberData(nameof(RealFileNames))]
    public void Read_PrefixesOfARealFile_OpenOrRejectAsTruncated(string name)
    {
        byte[] file = File.ReadAllBytes(Corpus.RequireFile(name));
        bool exhaustive = Environment.GetEnvironmentVariable("GGUF_TRUNCATE_EXHAUSTIVE") == "1";
        IEnumerable<int> lengths = exhaustive ? Enumerable.Range(0, file.Length + 1) : SampledLengths(file.Length);
        var clock = Stopwatch.StartNew();
        int count = CheckPrefixes(file, lengths);
        Assert.True(count > 5_000, $"{count} prefixes");
        Assert.True(exhaustive || clock.Elapsed < TimeSpan.FromMinutes(2), $"{count} prefixes took {clock.Elapsed}");
    }

    [Fact]
    public void Read_EveryPrefixOfTheSmallHistoryFiles_IsRejectedWithAFormatException()
    {
        // The pre-release draft (bad magic) and the OBJ extension (value type 13): rejected whatever the cut.
        foreach (string name in new[] { "example.prerelease-fugg.42a152e.gguf", "test_writer.30fef3d.gguf" })
        {
            byte[] file = File.ReadAllBytes(Corpus.RequireFile(name));
            for (int length = 0; length <= file.Length; length++)
            {
                HostileSupport.Rejects(() => GgufReader.Read(file.AsMemory(0, length)), $"{name}[..{length}]");
            }
        }
    }

    [Theory]
    [MemberData(nameof(RealFileNames))]
    [InlineData("ggml-vocab-gpt-2.gguf")]
    public void Open_SampledPrefixesOfARealFileOnDisk_OpenOrRejectAsTruncated(string name)
    {
        byte[] file = File.ReadAllBytes(Corpus.RequireFile(name));
        using var dir = new TempDirectory();
        long needed = NeededLength(file);
        var random = new Random(name.Length);
        int[] lengths = [.. Enumerable.Range(0, 40).Select(_ => random.Next(1, file.Length)), 1, 3, 4, 23, 24, file.Length - 1, file.Length];
        foreach (int length in lengths)
        {
            string path = dir.Write("prefix.gguf", file.AsSpan(0, length));
            CheckOutcome(file, needed, length, () => HostileSupport.OpenAndTouchEverything(path));
        }
    }

    [Fact]
    public void Open_PrefixesAroundTheCopiedHeadBoundaries_AgreeWithTheMemoryAndStreamParses()
    {
        // GgufFile.Open parses the first 16 KiB from a copy, grows the copy to 1 MiB, then reads the
        // mapping in place: cut the file on and around both seams, and let the fuzz oracle compare.
        var raw = new RawGguf().Header(1, 2).KvString("general.architecture", "seams")
            .KvArray("tokens", GgufValueType.String, 24_000, e =>
            {
                for (int i = 0; i < 24_000; i++)
                {
                    e.Str($"token-{i:D6}-" + new string('x', 30 + (i % 17)));
                }
            })
            .Tensor("w", [256], GgmlType.F32, 0).DataSection();
        byte[] file = raw.Zeros(1024).ToArray();
        Assert.True(file.Length > 1024 * 1024 + 4096);

        var lengths = new SortedSet<int> { file.Length, file.Length - 1, (int)raw["data"] };
        foreach (int seam in new[] { 16 * 1024, 1024 * 1024 })
        {
            for (int length = seam - 48; length <= seam + 48; length++)
            {
                lengths.Add(length);
            }
        }

        var random = new Random(7);
        for (int i = 0; i < 20; i++)
        {
            lengths.Add(random.Next(16 * 1024, file.Length));
        }

        using var dir = new TempDirectory();
        string scratch = Path.Combine(dir.Path, "seam.gguf");
        foreach (int length in lengths)
        {
            FuzzOracle.Check(file.AsSpan(0, length), scratch);
        }
    }

    [Fact]
    public void Open_EveryPrefixOfATensorFileOnDisk_OpensOrRejectsAsTruncated()
    {
        byte[] file = SeedFiles.WriterMade().Single(f => f.Name == "writer-v2-align1").File;
        long needed = NeededLength(file);
        using var dir = new TempDirectory();
        for (int length = 1; length <= file.Length; length++)
        {
            string path = dir.Write("prefix.gguf", file.AsSpan(0, length));
            CheckOutcome(file, needed, length, () => HostileSupport.OpenAndTouchEverything(path));
        }
    }

    /// <summary>Every byte of the first 4 KiB (header, scalar KVs, array heads) and of the last 256, and 1,500 seeded random cuts between.</summary>
    private static IEnumerable<int> SampledLengths(int fileLength)
    {
        var lengths = new SortedSet<int>();
        for (int length = 0; length <= Math.Min(fileLength, 4096); length++)
        {
            lengths.Add(length);
        }

        for (int length = Math.Max(0, fileLength - 256); length <= fileLength; length++)
        {
            lengths.Add(length);
        }

        var random = new Random(fileLength);
        for (int i = 0; i < 1500; i++)
        {
            lengths.Add(random.Next(fileLength));
        }

        return lengths;
    }

    private static int CheckPrefixes(byte[] file, IEnumerable<int> lengths)
    {
        long needed = NeededLength(file);
        int count = 0;
        foreach (int length in lengths)
        {
            CheckOutcome(file, needed, length, () => GgufReader.Read(file.AsMemory(0, length)));
            count++;
        }

        return count;
    }

    /// <summary>The shortest prefix that keeps everything the header promises: the header and every tensor's bytes.</summary>
    private static long NeededLength(byte[] file)
    {
        GgufHeader full = GgufReader.Read(file);
        long needed = full.HeaderEnd;
        foreach (GgufTensorInfo t in full.Tensors)
        {
            needed = Math.Max(needed, Math.Max(full.DataOffset, t.AbsoluteOffset + t.ByteSize));
        }

        return needed;
    }

    /// <summary>The prefix of <paramref name="length"/> bytes opens exactly when nothing promised was cut.</summary>
    private static void CheckOutcome(byte[] file, long needed, int length, Action open)
    {
        bool shouldOpen = length >= needed;
        try
        {
            open();
            Assert.True(shouldOpen, $"the prefix of {length} bytes opened, but the file needs {needed}");
        }
        catch (GgufFormatException e)
        {
            Assert.False(shouldOpen, $"the prefix of {length} bytes (of {file.Length}, needing {needed}) was rejected: {e.Message}");
            Assert.True(TruncationFamily.Contains(e.Code), $"prefix of {length} bytes: {e.Code} is not a truncation error: {e.Message}");
            Assert.True(e.Offset >= 0 && e.Offset <= length, $"prefix of {length} bytes: offset {e.Offset} lies outside it: {e.Message}");
        }
        catch (Exception e) when (length == 0 && MappedErrors.IsEmptyFile(e))
        {
            // An empty file is the mapping layer's error by design.
        }
        catch (Exception e) when (e is not Xunit.Sdk.IAssertionException)
        {
            Assert.Fail($"prefix of {length} bytes: expected GgufFormatException, got {e}");
        }
    }
}
