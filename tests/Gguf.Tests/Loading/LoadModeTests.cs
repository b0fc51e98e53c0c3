using Gguf.Format;
using Gguf.IO;
using Gguf.Loading;
using Gguf.Model;
using Gguf.Testing;
using Xunit;

namespace Gguf.Tests.Loading;

/// <summary><see cref="LoadMode.Direct"/>, <see cref="LoadMode.Auto"/>'s choice by residency, and the read-ahead strategies.</summary>
public sealed class LoadModeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(4096, 1, false)]
    [InlineData(4099, 3, false)]
    [InlineData(65537, 1, false)]
    [InlineData(1 << 20, 2, false)]
    [InlineData(5000, 2, true)]
    public void Load_Direct_BytesExact(int chunkSize, int readers, bool staged)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        var arena = new HostArenaDestination();

        using LoadedModel loaded = new ModelLoader(arena, new LoadOptions { Mode = LoadMode.Direct, ChunkSize = chunkSize, Readers = readers, DirectHostWrites = !staged, Verify = true }).Load(gguf, null, Ct);

        LoadAssert.BytesExact(loaded, model);
        Assert.True(loaded.Statistics.Verified);
        Assert.Equal(LoadMode.Direct, loaded.Statistics.RequestedMode);

        // Linux file systems that refuse O_DIRECT fall back; this test's temporary directory is one that accepts it, or says so.
        Assert.Equal(loaded.Statistics.DirectIoRefused ? LoadMode.Read : LoadMode.Direct, loaded.Statistics.Mode);
        Assert.Equal(!OperatingSystem.IsLinux() || loaded.Statistics.DirectIoRefused, loaded.Statistics.Mode == LoadMode.Read);
    }

    [Fact]
    public void Load_DirectOnTmpfs_BytesExact()
    {
        // tmpfs refused O_DIRECT before Linux 6.6 and accepts it since: either way the bytes must be the file's.
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        string path = Path.Combine(root, $"gguf-direct-{Guid.NewGuid():N}.gguf");
        try
        {
            TestModel model = TestModels.Write(path);
            using GgufFile gguf = GgufFile.Open(path);
            using LoadedModel loaded = new ModelLoader(new HostArenaDestination(), new LoadOptions { Mode = LoadMode.Direct, ChunkSize = 4096 }).Load(gguf, null, Ct);

            LoadAssert.BytesExact(loaded, model);
            Assert.Equal(loaded.Statistics.DirectIoRefused ? LoadMode.Read : LoadMode.Direct, loaded.Statistics.Mode);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Load_DirectRefused_FallsBackToReadAndSaysSo(bool staged)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        var device = new FakeDevice();
        var arena = new HostArenaDestination();
        ITensorDestination destination = staged ? device : arena;

        using (LoadedModel loaded = new ModelLoader(destination, new LoadOptions { Mode = LoadMode.Direct, ChunkSize = 8192, SimulateDirectIoRefusal = true, Verify = true }).Load(gguf, null, Ct))
        {
            LoadAssert.BytesExact(loaded, model);
            Assert.Equal(LoadMode.Read, loaded.Statistics.Mode);
            Assert.Equal(LoadMode.Direct, loaded.Statistics.RequestedMode);
            Assert.True(loaded.Statistics.DirectIoRefused);
            Assert.Equal(staged ? LoadOptions.DefaultReaders : LoadOptions.HostReaders, loaded.Statistics.Readers);
        }

        Assert.Equal(0, device.LiveBuffers);
        Assert.Equal(0, device.LiveStaging);
    }

    [Fact]
    public void Load_DirectDefaultReaders_AtLeastDirectReaders()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);

        using LoadedModel loaded = new ModelLoader(new HostArenaDestination(), new LoadOptions { Mode = LoadMode.Direct, ChunkSize = 4096 }).Load(gguf, null, Ct);

        Assert.Equal(loaded.Statistics.Mode == LoadMode.Direct ? Math.Max(LoadOptions.DefaultReaders, LoadOptions.DirectReaders) : LoadOptions.HostReaders, loaded.Statistics.Readers);
    }

    [Fact]
    public void Load_DirectTruncatedDuringLoad_ShortReadNamesFile()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        long cut = gguf.Tensors[2].AbsoluteOffset + 10;
        var arena = new HostArenaDestination();
        var progress = new RecordingProgress(p =>
        {
            if (p.BytesDone == 0)
            {
                using var stream = new FileStream(model.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                stream.SetLength(cut);
            }
        });

        MappedFileException e = Assert.Throws<MappedFileException>(() =>
            new ModelLoader(arena, new LoadOptions { Mode = LoadMode.Direct, ChunkSize = 4096, Readers = 2 }).Load(gguf, progress, Ct));

        Assert.Equal(MappedFileError.FileChanged, e.Error);
        Assert.Contains("unexpected end of file", e.Message, StringComparison.Ordinal);
        Assert.Contains("tensor '", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, arena.LiveBuffers);
    }

    [Fact]
    public void Load_AutoOnCachedFile_ChoosesRead()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        _ = File.ReadAllBytes(model.Path);
        using GgufFile gguf = GgufFile.Open(model.Path);

        using LoadedModel loaded = new ModelLoader(new HostArenaDestination()).Load(gguf, null, Ct);

        LoadAssert.BytesExact(loaded, model);
        Assert.Equal(LoadMode.Auto, loaded.Statistics.RequestedMode);
        Assert.Equal(LoadMode.Read, loaded.Statistics.Mode);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(loaded.Statistics.ResidentFraction >= 0.5, $"resident {loaded.Statistics.ResidentFraction}");
        }
    }

    [Fact]
    public void Load_AutoOnEvictedFile_ChoosesByResidency()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 8 << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);
        double? left = DirectIo.EvictFromPageCache(gguf);

        using LoadedModel loaded = new ModelLoader(new HostArenaDestination()).Load(gguf, null, Ct);

        LoadAssert.BytesExact(loaded, model);
        if (!OperatingSystem.IsLinux())
        {
            Assert.Null(left);
            Assert.Equal(LoadMode.Read, loaded.Statistics.Mode);
            return;
        }

        // On a disk file system the eviction leaves (almost) nothing; tmpfs keeps every page, and auto then reads.
        double resident = loaded.Statistics.ResidentFraction!.Value;
        Assert.InRange(resident, 0, 1);
        LoadMode expected = resident < 0.5 ? (loaded.Statistics.DirectIoRefused ? LoadMode.Read : LoadMode.Direct) : LoadMode.Read;
        Assert.Equal(expected, loaded.Statistics.Mode);
    }

    [Theory]
    [InlineData(LoadMode.Read, false, 4)]
    [InlineData(LoadMode.Read, true, 4)]
    [InlineData(LoadMode.Read, true, 1)]
    [InlineData(LoadMode.Mmap, true, 3)]
    [InlineData(LoadMode.Mmap, false, 3)]
    public void Load_RegionClaimsOrChunkClaims_BytesExactAndVerified(LoadMode mode, bool regionClaims, int readers)
    {
        // Small tensors share regions, large ones span several; the readers take whole 8 MiB regions of the block.
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 40 << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);
        var arena = new HostArenaDestination();

        using LoadedModel loaded = new ModelLoader(arena, new LoadOptions { Mode = mode, RegionClaims = regionClaims, Readers = readers, ChunkSize = 256 << 10, Verify = true }).Load(gguf, null, Ct);

        LoadAssert.BytesExact(loaded, model);
        Assert.Equal(readers, loaded.Statistics.Readers);
    }

    [Theory]
    [InlineData(LoadMode.Mmap, true)]
    [InlineData(LoadMode.Mmap, false)]
    [InlineData(LoadMode.Direct, true)]
    [InlineData(LoadMode.Direct, false)]
    public void Load_StreamingOrCachedStores_BytesExactAndVerified(LoadMode mode, bool streamingStores)
    {
        // Odd chunk sizes put chunk starts at every alignment of the block, so the streaming copy's unaligned heads and tails are exercised.
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 12 << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);
        var arena = new HostArenaDestination();

        using LoadedModel loaded = new ModelLoader(arena, new LoadOptions { Mode = mode, StreamingStores = streamingStores, Readers = 2, ChunkSize = (96 << 10) + 4096, Verify = true }).Load(gguf, null, Ct);

        LoadAssert.BytesExact(loaded, model);
    }

    [Fact]
    public void Load_SubsetOutOfFileOrder_FallsBackToChunkClaims_BytesExact()
    {
        // Region claims need chunk numbers that follow the block; tensors given in reverse order do not.
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 20 << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);
        GgufTensorInfo[] reversed = [.. gguf.Tensors.Reverse()];
        var arena = new HostArenaDestination();

        using LoadedModel loaded = new ModelLoader(arena, new LoadOptions { Mode = LoadMode.Read, Readers = 3, ChunkSize = 64 << 10, Verify = true }).Load(gguf, reversed, null, Ct);

        Assert.Equal(reversed.Select(t => t.Name), loaded.Tensors.Select(t => t.Name));
        foreach (LoadedTensor tensor in loaded.Tensors)
        {
            byte[] back = new byte[tensor.ByteSize];
            loaded.CopyToHost(tensor, 0, back);
            Assert.True(model.BytesOf(tensor.Name).AsSpan().SequenceEqual(back), $"tensor '{tensor.Name}' differs");
        }
    }

    [Theory]
    [InlineData(LoadMode.Mmap, /* Off */ 0, false, 1)]
    [InlineData(LoadMode.Mmap, /* InReader */ 1, false, 2)]
    [InlineData(LoadMode.Mmap, /* Helper */ 2, false, 1)]
    [InlineData(LoadMode.Mmap, /* Helper */ 2, false, 3)]
    [InlineData(LoadMode.Mmap, /* Helper */ 2, true, 2)]
    [InlineData(LoadMode.Read, /* Helper */ 2, false, 1)]
    [InlineData(LoadMode.Read, /* Helper */ 2, false, 3)]
    [InlineData(LoadMode.Direct, /* Helper */ 2, false, 2)]
    public void Load_ReadAheadStrategies_BytesExact(LoadMode mode, int readAhead, bool staged, int readers)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 20 << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);
        var arena = new HostArenaDestination();

        using LoadedModel loaded = new ModelLoader(arena, new LoadOptions { Mode = mode, ReadAhead = (ReadAheadMode)readAhead, DirectHostWrites = !staged, Readers = readers, ChunkSize = 64 << 10 }).Load(gguf, null, Ct);

        LoadAssert.BytesExact(loaded, model);
    }

    [Fact]
    public void Load_MmapHelperCancelled_FreesEverything()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 20 << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);
        var arena = new HostArenaDestination();
        using var cts = new CancellationTokenSource();
        var progress = new RecordingProgress(p =>
        {
            if (p.BytesDone > 1 << 20)
            {
                cts.Cancel();
            }
        });

        Assert.ThrowsAny<OperationCanceledException>(() =>
            new ModelLoader(arena, new LoadOptions { Mode = LoadMode.Mmap, ChunkSize = 64 << 10, ProgressInterval = TimeSpan.Zero }).Load(gguf, progress, cts.Token));

        Assert.Equal(0, arena.LiveBuffers);
    }

    [Fact]
    public void EvictFromPageCache_LeavesLittleResidentOnDisk()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 8 << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);

        double? left = DirectIo.EvictFromPageCache(gguf);

        Assert.Equal(OperatingSystem.IsLinux(), left.HasValue);
        if (left is double fraction)
        {
            Assert.InRange(fraction, 0, 1);
            using MappedFileLease lease = gguf.Mapping.Acquire();
            _ = File.ReadAllBytes(model.Path);
            Assert.True(DirectIo.ResidentFraction(gguf, lease) >= 0.99, "a file just read is cached");
        }
    }
}
