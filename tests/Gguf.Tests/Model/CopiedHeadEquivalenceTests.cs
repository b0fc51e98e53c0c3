using System.Text;
using Gguf.Format;
using Gguf.IO;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;
using Gguf.Writing;

namespace Gguf.Tests.Model;

/// <summary>
/// <c>GgufFile.Open(path)</c> parses the first MiB of a header from a copy read in growing steps and the
/// rest in place, and opens the file with direct system calls on Linux; <c>GgufFile.Open(MappedFile)</c>
/// parses everything in place. Both must give the same header, or fail with the same error.
/// </summary>
public sealed class CopiedHeadEquivalenceTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Headers that end just before, on and after each read step (16 KiB, 64 KiB, 256 KiB, 1 MiB).</summary>
    public static TheoryData<int> HeaderSizes => [100, 16 * 1024, 60 * 1024, 64 * 1024, 70 * 1024, 256 * 1024, 1000 * 1024, 1024 * 1024, 1100 * 1024, 3 * 1024 * 1024];

    [Theory]
    [MemberData(nameof(HeaderSizes))]
    public void Open_HeaderAroundEveryReadStep_SameAsInPlaceParse(int headerBytes)
    {
        string path = _temp.Write("h.gguf", WithHeaderOf(headerBytes));

        Assert.Equal(Describe(() => OpenInPlace(path)), Describe(() => GgufFile.Open(path)));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(60 * 1024)]
    [InlineData(70 * 1024)]
    [InlineData(1100 * 1024)]
    public void Open_TruncatedOrCorruptAnywhere_SameErrorAsInPlaceParse(int headerBytes)
    {
        byte[] file = WithHeaderOf(headerBytes).ToBytes();
        var random = new Random(headerBytes);
        for (int trial = 0; trial < 8; trial++)
        {
            byte[] bad = (byte[])file.Clone();
            int at = random.Next(bad.Length);
            if (trial % 2 == 0)
            {
                bad = bad[..Math.Max(1, at)];
            }
            else
            {
                bad[at] = (byte)random.Next(256);
            }

            string path = _temp.Write($"bad-{trial}.gguf", bad);
            Assert.Equal(Describe(() => OpenInPlace(path)), Describe(() => GgufFile.Open(path)));
        }
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(20_000)]
    [InlineData(100_000)]
    [InlineData(1_500_000)]
    [InlineData(2_500_000)]
    public void Open_HeaderLimitInsideTheCopyOrAMappedWindow_SameHeaderTooLargeError(int maxHeaderBytes)
    {
        // 3 MiB of header: the copy holds the first MiB, mapped windows of 1 and 2 MiB hold the rest.
        string path = _temp.Write("h.gguf", WithHeaderOf(3 * 1024 * 1024));
        var options = new GgufReaderOptions { MaxHeaderBytes = maxHeaderBytes };

        string expected = Describe(() => OpenInPlace(path, options));
        Assert.Contains(nameof(GgufErrorCode.HeaderTooLarge), expected);
        Assert.Equal(expected, Describe(() => GgufFile.Open(path, options)));
    }

    [Fact]
    public void Open_CorpusFiles_SameAsInPlaceParse()
    {
        string corpus = Corpus.Require();
        foreach (string path in Directory.EnumerateFiles(corpus, "*.gguf", SearchOption.AllDirectories))
        {
            Assert.Equal(Describe(() => OpenInPlace(path)), Describe(() => GgufFile.Open(path)));
        }
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("directory")]
    [InlineData("empty")]
    public void Open_IoErrors_SameErrorAsMappedFileOpen(string kind)
    {
        string path = kind switch
        {
            "missing" => _temp.File("nothing.gguf"),
            "directory" => _temp.Path,
            _ => _temp.Write("empty.gguf", []),
        };

        string expected = Describe(() => GgufFile.Open(MappedFile.Open(path)));
        Assert.StartsWith(nameof(MappedFileException), expected);
        Assert.Equal(expected, Describe(() => GgufFile.Open(path)));
    }

    [Fact]
    public void Open_FileLockedExclusivelyByDotNet_FailsAsFileShareReadAlwaysDid()
    {
        // .NET takes flock(LOCK_EX) for FileShare.None and LOCK_SH for FileShare.Read on Unix: the
        // direct open path takes the same shared lock, so it refuses the same files.
        Assert.SkipUnless(OperatingSystem.IsLinux(), "advisory locks of FileShare are a Unix behaviour");
        string path = _temp.Write("locked.gguf", Fixtures.WithTensors());
        using var writer = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);

        var error = Assert.Throws<MappedFileException>(() => GgufFile.Open(path));
        Assert.Equal(MappedFileError.OpenFailed, error.Error);
    }

    [Fact]
    public void Open_ThenLazyValues_ComeFromTheMapping()
    {
        string path = _temp.Write("h.gguf", WithHeaderOf(200 * 1024));
        using GgufFile file = GgufFile.Open(path);

        Assert.Equal("copied-head", file.Architecture);
        Assert.Equal(Token(12_345 % file.Metadata["test.tokens"].GetArray().Count), file.Metadata["test.tokens"].GetArray().GetString(12_345 % file.Metadata["test.tokens"].GetArray().Count));
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.Metadata["test.tokens"].GetArray().GetString(0));
    }

    private static GgufFile OpenInPlace(string path, GgufReaderOptions? options = null)
    {
        MappedFile mapping = MappedFile.Open(path);
        try
        {
            return GgufFile.Open(mapping, options);
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    private static string Token(long i) => "tok" + i;

    /// <summary>A file whose header (metadata and two tensor infos) is about <paramref name="headerBytes"/> long.</summary>
    private static GgufWriter WithHeaderOf(int headerBytes)
    {
        var writer = new GgufWriter();
        writer.AddMetadata(GgufKeys.Architecture, GgufValue.String("copied-head"));
        int tokens = Math.Max(1, (headerBytes - 400) / 16);
        writer.AddMetadata("test.tokens", GgufValue.FromStrings(Enumerable.Range(0, tokens).Select(i => Token(i))));
        writer.AddMetadata("test.flag", GgufValue.Bool(true));
        writer.AddTensor("a.weight", GgmlType.F32, [8], new byte[32]);
        writer.AddTensor("b.weight", GgmlType.F32, [4, 2], new byte[32]);
        return writer;
    }

    /// <summary>Everything a caller can observe of an open: the header in full, or the error.</summary>
    private static string Describe(Func<GgufFile> open)
    {
        try
        {
            using GgufFile file = open();
            var text = new StringBuilder();
            GgufHeader h = file.Header;
            text.Append($"v{h.Version} align {h.Alignment} end {h.HeaderEnd} data {h.DataOffset} size {h.FileSize} section {h.DataSectionSize}\n");
            foreach (GgufMetadataEntry e in file.Metadata)
            {
                text.Append($"{e.Key} {e.Type} {e.Offset} {e.ValueOffset} {e.ValueLength} {e.Count} {e.ElementType}");
                if (e.Type == GgufValueType.String)
                {
                    text.Append(' ').Append(e.GetString());
                }
                else if (e.Type == GgufValueType.Array && e.ElementType == GgufValueType.String && e.Count > 0)
                {
                    GgufArray a = e.GetArray();
                    text.Append(' ').Append(a.GetString(0)).Append(' ').Append(a.GetString(a.Count - 1));
                }

                text.Append('\n');
            }

            foreach (GgufTensorInfo t in file.Tensors)
            {
                text.Append($"{t.Name} {t.Type} [{string.Join(",", t.Dimensions)}] {t.Offset} {t.AbsoluteOffset} {t.ByteSize}\n");
            }

            return text.ToString();
        }
        catch (GgufFormatException e)
        {
            return $"{nameof(GgufFormatException)} {e.Code} {e.Offset} {e.Field} {e.Key} {e.TensorName} {e.Message}";
        }
        catch (MappedFileException e)
        {
            return $"{nameof(MappedFileException)} {e.Error} {e.Message}";
        }
    }
}
