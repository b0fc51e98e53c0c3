using Gguf.Format;
using Gguf.IO;
using Gguf.Loading;
using Gguf.Model;
using Gguf.Testing;
using Xunit;

namespace Gguf.Tests.Loading;

public sealed class ModelLoaderLayoutTests
{
    [Fact]
    public void Plan_EveryTensorAligned_TotalIsSumOfAlignedSizes()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);

        IReadOnlyList<LoadedTensor> plan = ModelLoader.Plan(gguf, 256, out long total);

        long expectedOffset = 0;
        foreach (LoadedTensor tensor in plan)
        {
            Assert.Equal(expectedOffset, tensor.Offset);
            Assert.Equal(0, tensor.Offset % 256);
            expectedOffset += Rounding.Up(tensor.ByteSize, 256);
        }

        Assert.Equal(expectedOffset, total);
        Assert.Equal(gguf.Tensors.Select(t => t.Name), plan.Select(t => t.Name));
    }

    [Fact]
    public void Load_AllocatesExactlyThePlannedBlock()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        var device = new FakeDevice();

        using LoadedModel loaded = new ModelLoader(device).Load(gguf, null, TestContext.Current.CancellationToken);

        ModelLoader.Plan(gguf, 256, out long total);
        Assert.Equal(1, device.AllocateCalls);
        Assert.Equal(total, device.LastAllocationLength);
        Assert.Equal(total, loaded.Statistics.AllocatedBytes);
        Assert.Equal(model.TensorBytes, loaded.Statistics.Bytes);
    }

    [Fact]
    public void Plan_NonPowerOfTwoAlignment_Throws()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);

        Assert.Throws<ArgumentOutOfRangeException>(() => ModelLoader.Plan(gguf, 100, out _));
    }

    [Fact]
    public void Options_OutOfRange_Throw()
    {
        using var arena = new HostArenaDestination();
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelLoader(arena, new LoadOptions { ChunkSize = 100 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelLoader(arena, new LoadOptions { RingSize = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelLoader(arena, new LoadOptions { Readers = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelLoader(arena, new LoadOptions { TensorAlignment = 3 }));
    }
}

public sealed class ModelLoaderContentTests
{
    [Theory]
    [InlineData(LoadMode.Read, 1 << 20, 1)]
    [InlineData(LoadMode.Read, 4099, 1)]
    [InlineData(LoadMode.Read, 65537, 3)]
    [InlineData(LoadMode.Mmap, 1 << 20, 1)]
    [InlineData(LoadMode.Mmap, 4099, 3)]
    [InlineData(LoadMode.Mmap, 65537, 1)]
    [InlineData(LoadMode.Auto, 4096, 2)]
    public void Load_HostArena_BytesExact(LoadMode mode, int chunkSize, int readers)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        using var arena = new HostArenaDestination();

        using LoadedModel loaded = new ModelLoader(arena, new LoadOptions { Mode = mode, ChunkSize = chunkSize, Readers = readers }).Load(gguf, null, TestContext.Current.CancellationToken);

        LoadAssert.BytesExact(loaded, model);
        Assert.Equal(mode == LoadMode.Mmap ? LoadMode.Mmap : LoadMode.Read, loaded.Statistics.Mode);
        Assert.Equal(0, loaded.Statistics.RingSize);
    }

    [Theory]
    [InlineData(LoadMode.Read, 1 << 20, 1, 2)]
    [InlineData(LoadMode.Read, 4099, 1, 2)]
    [InlineData(LoadMode.Read, 5000, 3, 3)]
    [InlineData(LoadMode.Mmap, 4099, 1, 4)]
    [InlineData(LoadMode.Mmap, 65537, 2, 2)]
    public void Load_StagedDeferredCopies_BytesExact(LoadMode mode, int chunkSize, int readers, int ring)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        var device = new FakeDevice { DeferCopies = true };

        using (LoadedModel loaded = new ModelLoader(device, new LoadOptions { Mode = mode, ChunkSize = chunkSize, Readers = readers, RingSize = ring }).Load(gguf, null, TestContext.Current.CancellationToken))
        {
            LoadAssert.BytesExact(loaded, model);
            Assert.Equal(ring, loaded.Statistics.RingSize);
            Assert.Equal(DeviceMemoryKind.Device, loaded.Statistics.MemoryKind);
            Assert.True(device.MaxCopyLength <= chunkSize);
            Assert.Equal(0, device.LiveStaging);
        }

        Assert.Equal(0, device.LiveBuffers);
    }

    [Fact]
    public void Load_HostArenaThroughStagingRing_BytesExact()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        using var arena = new HostArenaDestination();

        using LoadedModel loaded = new ModelLoader(arena, new LoadOptions { DirectHostWrites = false, ChunkSize = 8192 }).Load(gguf, null, TestContext.Current.CancellationToken);

        LoadAssert.BytesExact(loaded, model);
        Assert.Equal(4, loaded.Statistics.RingSize);
        Assert.Equal(0, arena.LiveStagingBuffers);
    }

    [Fact]
    public void Load_ModelWithoutTensors_GivesEmptyBlock()
    {
        using var dir = new TempDirectory();
        string path = dir.File("empty.gguf");
        new Gguf.Writing.GgufWriter().AddMetadata(GgufKeys.Architecture, GgufValue.String("llama")).WriteTo(path);
        using GgufFile gguf = GgufFile.Open(path);
        var progress = new RecordingProgress();

        using var arena = new HostArenaDestination();
        using LoadedModel loaded = new ModelLoader(arena, new LoadOptions { Verify = true }).Load(gguf, progress, TestContext.Current.CancellationToken);

        Assert.Empty(loaded.Tensors);
        Assert.Equal(0, loaded.Buffer.Length);
        Assert.Equal(1.0, progress.Reports[^1].Fraction);
    }

    [Fact]
    public void Load_FileDisposedAfterwards_ModelStaysReadable()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        LoadedModel loaded;
        using var arena = new HostArenaDestination();
        using (GgufFile gguf = GgufFile.Open(model.Path))
        {
            loaded = new ModelLoader(arena).Load(gguf, null, TestContext.Current.CancellationToken);
        }

        using (loaded)
        {
            LoadAssert.BytesExact(loaded, model);
        }
    }
}

public sealed class ModelLoaderProgressTests
{
    [Theory]
    [InlineData(LoadMode.Read, 1)]
    [InlineData(LoadMode.Mmap, 3)]
    public void Load_Progress_MonotonicAndComplete(LoadMode mode, int readers)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        var progress = new RecordingProgress();

        using LoadedModel loaded = new ModelLoader(new FakeDevice(), new LoadOptions { Mode = mode, ChunkSize = 4096, Readers = readers, ProgressInterval = TimeSpan.Zero }).Load(gguf, progress, TestContext.Current.CancellationToken);

        IReadOnlyList<LoadProgress> reports = progress.Reports;
        Assert.True(reports.Count > model.Tensors.Count, $"only {reports.Count} reports");
        Assert.Equal(0, reports[0].BytesDone);
        for (int i = 1; i < reports.Count; i++)
        {
            Assert.True(reports[i].BytesDone >= reports[i - 1].BytesDone, $"bytes went back at report {i}");
            Assert.True(reports[i].TensorsDone >= reports[i - 1].TensorsDone, $"tensors went back at report {i}");
            Assert.True(reports[i].Elapsed >= reports[i - 1].Elapsed, $"time went back at report {i}");
        }

        LoadProgress last = reports[^1];
        Assert.Equal(model.TensorBytes, last.BytesDone);
        Assert.Equal(model.TensorBytes, last.BytesTotal);
        Assert.Equal(model.Tensors.Count, last.TensorsDone);
        Assert.Equal(model.Tensors.Count, last.TensorsTotal);
        Assert.Equal(1.0, last.Fraction);
        Assert.Contains(reports, r => r.CurrentTensor == "blk.0.ffn_down.weight");
    }

    [Fact]
    public void Load_ProgressThrottled_StillFirstAndFinal()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        var progress = new RecordingProgress();

        using var arena = new HostArenaDestination();
        using LoadedModel loaded = new ModelLoader(arena, new LoadOptions { ChunkSize = 4096, ProgressInterval = TimeSpan.FromHours(1) }).Load(gguf, progress, TestContext.Current.CancellationToken);

        Assert.Equal(2, progress.Reports.Count);
        Assert.Equal(0, progress.Reports[0].BytesDone);
        Assert.Equal(model.TensorBytes, progress.Reports[1].BytesDone);
    }
}

public sealed class ModelLoaderCancellationTests
{
    [Theory]
    [InlineData(LoadMode.Read, 1)]
    [InlineData(LoadMode.Mmap, 3)]
    [InlineData(LoadMode.Direct, 1)]
    [InlineData(LoadMode.Direct, 3)]
    public void Load_Cancelled_FreesEverything(LoadMode mode, int readers)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        var device = new FakeDevice();
        using var cts = new CancellationTokenSource();
        var progress = new RecordingProgress(p =>
        {
            if (p.BytesDone > 0)
            {
                cts.Cancel();
            }
        });

        Assert.ThrowsAny<OperationCanceledException>(() =>
            new ModelLoader(device, new LoadOptions { Mode = mode, ChunkSize = 4096, Readers = readers, ProgressInterval = TimeSpan.Zero }).Load(gguf, progress, cts.Token));

        Assert.Equal(1, device.AllocateCalls);
        Assert.Equal(0, device.LiveBuffers);
        Assert.Equal(0, device.LiveStaging);
        Assert.True(device.BytesCopied < model.TensorBytes, "the load ran to the end");
    }

    [Fact]
    public void Load_HostArenaCancelled_FreesTheArena()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        using var arena = new HostArenaDestination();
        using var cts = new CancellationTokenSource();
        var progress = new RecordingProgress(p =>
        {
            if (p.TensorsDone >= 2)
            {
                cts.Cancel();
            }
        });

        Assert.ThrowsAny<OperationCanceledException>(() =>
            new ModelLoader(arena, new LoadOptions { ChunkSize = 4096, ProgressInterval = TimeSpan.Zero }).Load(gguf, progress, cts.Token));

        Assert.Equal(0, arena.LiveBuffers);
        Assert.Equal(0, arena.AllocatedBytes);
    }

    [Fact]
    public void Load_CancelledBeforeStart_AllocatesNothing()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        var device = new FakeDevice();

        Assert.ThrowsAny<OperationCanceledException>(() => new ModelLoader(device).Load(gguf, null, new CancellationToken(canceled: true)));

        Assert.Equal(0, device.AllocateCalls);
    }
}

public sealed class ModelLoaderFitTests
{
    [Fact]
    public void Load_DoesNotFit_FailsBeforeAllocatingWithOneMessage()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        var device = new FakeDevice(capacity: 100_000);
        ModelLoader.Plan(gguf, 256, out long required);

        InsufficientDeviceMemoryException e = Assert.Throws<InsufficientDeviceMemoryException>(() => new ModelLoader(device).Load(gguf, null, TestContext.Current.CancellationToken));

        Assert.Equal(0, device.AllocateCalls);
        Assert.Equal(required, e.RequiredBytes);
        Assert.Equal(100_000, e.AvailableBytes);
        Assert.Equal(model.Path, e.Path);
        Assert.Contains($"{required:N0} bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("100,000 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("fake-gpu:0", e.Message, StringComparison.Ordinal);
        Assert.Contains(model.Path, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Load_HostArenaCapacityTooSmall_FailsFast()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        using var arena = new HostArenaDestination(new HostArenaOptions { CapacityBytes = 4096 });

        InsufficientDeviceMemoryException e = Assert.Throws<InsufficientDeviceMemoryException>(() => new ModelLoader(arena).Load(gguf, null, TestContext.Current.CancellationToken));

        Assert.Contains("host", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, arena.LiveBuffers);
    }

    [Fact]
    public void Load_DeviceOutOfMemoryAtAllocation_NamesTheFile()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        var device = new FakeDevice { FailAllocation = true };

        InsufficientDeviceMemoryException e = Assert.Throws<InsufficientDeviceMemoryException>(() => new ModelLoader(device).Load(gguf, null, TestContext.Current.CancellationToken));

        Assert.Equal(model.Path, e.Path);
        Assert.Contains(model.Path, e.Message, StringComparison.Ordinal);
        Assert.Equal(0, device.LiveStaging);
    }
}

public sealed class ModelLoaderFileChangeTests
{
    [Theory]
    [InlineData(LoadMode.Read)]
    [InlineData(LoadMode.Mmap)]
    public void Load_TruncatedAfterOpen_FailsBeforeReading(LoadMode mode)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        Truncate(model.Path, gguf.DataOffset + 100);
        var device = new FakeDevice();

        MappedFileException e = Assert.Throws<MappedFileException>(() => new ModelLoader(device, new LoadOptions { Mode = mode }).Load(gguf, null, TestContext.Current.CancellationToken));

        Assert.Equal(MappedFileError.FileChanged, e.Error);
        Assert.Contains(model.Path, e.Message, StringComparison.Ordinal);
        Assert.Equal(0, device.AllocateCalls);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Load_ReadModeTruncatedDuringLoad_ShortReadNamesFile(int readers)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        long cut = gguf.Tensors[2].AbsoluteOffset + 10;
        using var arena = new HostArenaDestination();

        // The first report comes after the pre-load checks and before the first read.
        var progress = new RecordingProgress(p =>
        {
            if (p.BytesDone == 0)
            {
                Truncate(model.Path, cut);
            }
        });

        MappedFileException e = Assert.Throws<MappedFileException>(() =>
            new ModelLoader(arena, new LoadOptions { Mode = LoadMode.Read, ChunkSize = 4096, Readers = readers }).Load(gguf, progress, TestContext.Current.CancellationToken));

        Assert.Equal(MappedFileError.FileChanged, e.Error);
        Assert.Contains("unexpected end of file", e.Message, StringComparison.Ordinal);
        Assert.Contains(model.Path, e.Message, StringComparison.Ordinal);
        Assert.Contains("tensor '", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, arena.LiveBuffers);
    }

    private static void Truncate(string path, long length)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.SetLength(length);
    }
}

public sealed class ModelLoaderVerificationTests
{
    [Theory]
    [InlineData(LoadMode.Read, false)]
    [InlineData(LoadMode.Mmap, false)]
    [InlineData(LoadMode.Read, true)]
    [InlineData(LoadMode.Mmap, true)]
    public void Load_Verify_Passes(LoadMode mode, bool staged)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        using ITensorDestination destination = staged ? new FakeDevice() : new HostArenaDestination();

        using LoadedModel loaded = new ModelLoader(destination, new LoadOptions { Mode = mode, ChunkSize = 4099, Verify = true, Readers = 2 }).Load(gguf, null, TestContext.Current.CancellationToken);

        Assert.True(loaded.Statistics.Verified);
        LoadAssert.BytesExact(loaded, model);
    }

    [Theory]
    [InlineData(LoadMode.Read)]
    [InlineData(LoadMode.Mmap)]
    public void Load_VerifyCorruptedByte_ThrowsNamingTensorAndFrees(LoadMode mode)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        LoadedTensor target = ModelLoader.Plan(gguf, 256, out _).Single(t => t.Name == "blk.0.ffn_down.weight");
        var device = new FakeDevice { CorruptOffset = target.Offset + 5000 };

        TensorVerificationException e = Assert.Throws<TensorVerificationException>(() =>
            new ModelLoader(device, new LoadOptions { Mode = mode, Verify = true, ChunkSize = 4096 }).Load(gguf, null, TestContext.Current.CancellationToken));

        Assert.Equal("blk.0.ffn_down.weight", e.TensorName);
        Assert.Contains("'blk.0.ffn_down.weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains(model.Path, e.Message, StringComparison.Ordinal);
        Assert.NotEqual(e.ExpectedHash, e.ActualHash);
        Assert.Equal(0, device.LiveBuffers);
        Assert.Equal(0, device.LiveStaging);
    }

    [Fact]
    public void Load_CorruptedByteWithoutVerify_GoesUnnoticed()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        var device = new FakeDevice { CorruptOffset = 10 };

        using LoadedModel loaded = new ModelLoader(device).Load(gguf, null, TestContext.Current.CancellationToken);

        Assert.False(loaded.Statistics.Verified);
    }
}

public sealed class ModelLoaderLargeTensorTests
{
    [Fact]
    public void Load_TensorOver2GiB_CopiedInBoundedChunks()
    {
        using var dir = new TempDirectory(preferMemoryFileSystem: true);
        long size = (2L << 30) + 4096;
        (string path, _) = TestModels.WriteSparseHuge(dir.File("huge.gguf"), size);
        using GgufFile gguf = GgufFile.Open(path);
        LoadedTensor huge = ModelLoader.Plan(gguf, 256, out long total).Single(t => t.Name == "huge.weight");
        long[] markers = [0, 1L << 30, 2L << 30, size - 8];
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<long, bool>();
        const int Chunk = 8 << 20;
        var device = new FakeDevice
        {
            Store = false,
            DeferCopies = false,
            OnCopy = (offset, bytes) =>
            {
                foreach (long marker in markers)
                {
                    long at = huge.Offset + marker - offset;
                    if (at >= 0 && at + 8 <= bytes.Length)
                    {
                        seen[marker] = bytes.Span.Slice((int)at, 8).SequenceEqual(TestModels.Marker(marker));
                    }
                }
            },
        };

        using LoadedModel loaded = new ModelLoader(device, new LoadOptions { Mode = LoadMode.Read, ChunkSize = Chunk, Readers = 2, RingSize = 2 }).Load(gguf, null, TestContext.Current.CancellationToken);

        Assert.Equal(size + 32, loaded.Statistics.Bytes);
        Assert.Equal(size + 32, device.BytesCopied);
        Assert.True(total > int.MaxValue);
        Assert.Equal(Chunk, device.MaxCopyLength);
        Assert.All(markers, m => Assert.True(seen.TryGetValue(m, out bool ok) && ok, $"marker at {m} not where expected"));
    }
}

[CollectionDefinition(nameof(MemoryMeasurementCollection), DisableParallelization = true)]
public sealed class MemoryMeasurementCollection;

[Collection(nameof(MemoryMeasurementCollection))]
public sealed class ModelLoaderMemoryTests
{
    [Fact]
    public void Load_MmapMode_ReleasesMappingAndKeepsRssBounded()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "resident memory is measured through /proc (Linux)");
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 32L << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);
        long before = ProcessMemory.CurrentRssBytes!.Value;

        using var arena = new HostArenaDestination();
        using LoadedModel loaded = new ModelLoader(arena, new LoadOptions { Mode = LoadMode.Mmap, ProgressInterval = TimeSpan.Zero }).Load(gguf, null, TestContext.Current.CancellationToken);

        LoadStatistics stats = loaded.Statistics;
        Assert.NotNull(stats.PeakRssBytes);
        Assert.NotNull(stats.MappingResidentBytes);
        Assert.True(stats.MappingResidentBytes <= 4L << 20, $"the mapping keeps {stats.MappingResidentBytes} bytes resident");
        long growth = stats.PeakRssBytes!.Value - before;
        Assert.True(growth <= stats.AllocatedBytes + (128L << 20), $"RSS grew by {growth} bytes for a {stats.AllocatedBytes}-byte model");
    }

    [Fact]
    public void Load_WithoutRelease_LeavesMappingResident()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "resident memory is measured through /proc (Linux)");
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 16L << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);

        using var arena = new HostArenaDestination();
        using LoadedModel loaded = new ModelLoader(arena, new LoadOptions { Mode = LoadMode.Mmap, ReleaseConsumedRanges = false }).Load(gguf, null, TestContext.Current.CancellationToken);

        Assert.True(loaded.Statistics.MappingResidentBytes >= 8L << 20, $"only {loaded.Statistics.MappingResidentBytes} bytes resident: the control is not measuring anything");
    }
}
