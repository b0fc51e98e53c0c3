using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;
using Xunit;

namespace Gguf.Tests.Format.Hostile;

/// <summary>
/// The malformed-file catalogue (<see cref="MalformedCatalogue"/>) through every entry point: memory,
/// stream and a mapped file on disk. Each file must be rejected with its own code at the offending
/// field's offset, and with nothing but <see cref="GgufFormatException"/>.
/// </summary>
public sealed class MalformedFileTests
{
    public static TheoryData<string> CaseNames => [.. MalformedCatalogue.Names];

    public static TheoryData<string> AcceptedNames => [.. MalformedCatalogue.AcceptedEdges().Select(e => e.Name)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Read_MalformedFile_RejectsWithItsCodeAtTheOffendingField(string name)
    {
        MalformedCase c = MalformedCatalogue.Cases[name];
        GgufFormatException e = HostileSupport.Rejects(() => GgufReader.Read(c.File, c.Options), name);
        AssertCodeAndOffset(c, e);
        Assert.EndsWith($"at offset {c.Offset}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void ReadStream_MalformedFile_RejectsWithTheSameCodeAndOffset(string name)
    {
        MalformedCase c = MalformedCatalogue.Cases[name];
        using var stream = new MemoryStream(c.File, writable: false);
        GgufFormatException e = HostileSupport.Rejects(() => GgufReader.Read(stream, c.Options), name);
        AssertCodeAndOffset(c, e);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Open_MalformedFileOnDisk_RejectsWithTheSameCodeAndOffset(string name)
    {
        MalformedCase c = MalformedCatalogue.Cases[name];
        using var dir = new TempDirectory();
        string path = dir.Write("case.gguf", c.File);
        GgufFormatException e = HostileSupport.Rejects(() => GgufFile.Open(path, c.Options).Dispose(), name);
        AssertCodeAndOffset(c, e);
    }

    [Fact]
    public void Catalogue_CoversEveryErrorCode_ExceptTheDocumentedUnreachableOnes()
    {
        var covered = MalformedCatalogue.Cases.Values.Select(c => c.Code).ToHashSet();
        var missing = Enum.GetValues<GgufErrorCode>()
            .Where(code => !covered.Contains(code) && !MalformedCatalogue.Unreachable.ContainsKey(code))
            .ToList();
        Assert.True(missing.Count == 0, $"no catalogue case for: {string.Join(", ", missing)}");
        Assert.True(MalformedCatalogue.Cases.Count >= 80, $"only {MalformedCatalogue.Cases.Count} cases");
    }

    [Theory]
    [MemberData(nameof(AcceptedNames))]
    public void Read_FileAtTheEdgeOfTheRules_Opens(string name)
    {
        (_, byte[] file, GgufReaderOptions? options) = MalformedCatalogue.AcceptedEdges().Single(e => e.Name == name);
        GgufHeader header = GgufReader.Read(file, options);
        Assert.True(header.FileSize == file.Length);

        using var dir = new TempDirectory();
        string path = dir.Write("edge.gguf", file);
        using GgufFile opened = GgufFile.Open(path, options);
        HostileSupport.TouchEverything(opened);
        Assert.Equal(header.Tensors.Count, opened.Tensors.Count);
    }

    [Fact]
    public void Read_G1Tensor_ComputesTheTrueByteSizeNotTheWrappedOne()
    {
        // ggml_nbytes multiplies before dividing and reports 4 bytes for this row (reference G1).
        Assert.True(GgmlTypeInfo.Get(GgmlType.Q4_0).TryGetByteSize([MalformedCatalogue.G1Ne0], out long size));
        Assert.Equal(MalformedCatalogue.G1TrueBytes, size);

        // With a claimed file size that large, the same file parses and reports the true size.
        MalformedCase c = MalformedCatalogue.Cases["TensorBytes_Ne0TimesTypeSizeWraps_G1"];
        GgufHeader header = GgufReader.Parse(c.File, long.MaxValue, GgufReaderOptions.Default, new MemoryByteSource(c.File), canGrow: false);
        Assert.Equal(MalformedCatalogue.G1TrueBytes, header.Tensors[0].ByteSize);
    }

    [Fact]
    public void Parse_ArrayOver2GiBInAHugeFile_RejectsWithHeaderTooLargeNotANegativeLength()
    {
        // A 2 GiB UINT64 array in a (claimed) 4 GiB file: the element bytes do not fit one span.
        byte[] head = new RawGguf().Header(0, 1).KvArray("a", GgufValueType.UInt64, 1UL << 28, _ => { }).Zeros(64).ToArray();
        GgufFormatException e = HostileSupport.Rejects(
            () => GgufReader.Parse(head, 4L << 30, GgufReaderOptions.Default, new MemoryByteSource(head), canGrow: false),
            "2 GiB array");
        Assert.Equal(GgufErrorCode.HeaderTooLarge, e.Code);
    }

    private static void AssertCodeAndOffset(MalformedCase c, GgufFormatException e)
    {
        Assert.True(
            c.Code == e.Code && c.Offset == e.Offset,
            $"{c.Name} ({c.Reference}): expected {c.Code} at {c.Offset}, got {e.Code} at {e.Offset}: {e.Message}");
    }
}
