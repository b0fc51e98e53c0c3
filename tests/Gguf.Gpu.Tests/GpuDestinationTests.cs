using Gguf.Format;
using Gguf.Loading;
using Gguf.Model;
using Gguf.Tests.Loading;
using Xunit;

namespace Gguf.Gpu.Tests;

/// <summary>The GPU destination's code path on ILGPU's CPU accelerator: runs everywhere.</summary>
public sealed class CpuAcceleratorTests
{
    [Theory]
    [InlineData(LoadMode.Read, 1 << 20, 1)]
    [InlineData(LoadMode.Read, 4099, 3)]
    [InlineData(LoadMode.Mmap, 65537, 2)]
    [InlineData(LoadMode.Auto, 4096, 1)]
    public void Load_CpuAccelerator_BytesExact(LoadMode mode, int chunkSize, int readers)
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        using GpuDestination gpu = GpuDestination.CreateCpuAccelerator();

        using (LoadedModel loaded = new ModelLoader(gpu, new LoadOptions { Mode = mode, ChunkSize = chunkSize, Readers = readers, Verify = true }).Load(gguf, null, TestContext.Current.CancellationToken))
        {
            LoadAssert.BytesExact(loaded, model);
            Assert.True(loaded.Statistics.Verified);
            Assert.Equal(DeviceMemoryKind.Host, loaded.Statistics.MemoryKind);
            Assert.Equal(4, loaded.Statistics.RingSize);
            Assert.Equal(0, gpu.LiveStagingBuffers);
        }

        Assert.Equal(0, gpu.LiveBuffers);
    }

    [Fact]
    public void Load_CpuAcceleratorCancelled_FreesEverything()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        using GpuDestination gpu = GpuDestination.CreateCpuAccelerator();
        using var cts = new CancellationTokenSource();
        var progress = new RecordingProgress(p =>
        {
            if (p.BytesDone > 0)
            {
                cts.Cancel();
            }
        });

        Assert.ThrowsAny<OperationCanceledException>(() =>
            new ModelLoader(gpu, new LoadOptions { ChunkSize = 4096, ProgressInterval = TimeSpan.Zero, Readers = 2 }).Load(gguf, progress, cts.Token));

        Assert.Equal(0, gpu.LiveBuffers);
        Assert.Equal(0, gpu.LiveStagingBuffers);
    }

    [Fact]
    public void Load_OverMemoryLimit_FitCheckNamesDeviceAndFile()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);
        using GpuDestination gpu = GpuDestination.CreateCpuAccelerator(new GpuDestinationOptions { MemoryLimitBytes = 64 << 10 });

        InsufficientDeviceMemoryException e = Assert.Throws<InsufficientDeviceMemoryException>(() => new ModelLoader(gpu).Load(gguf, null, TestContext.Current.CancellationToken));

        Assert.Contains("ILGPU CPU accelerator", e.Message, StringComparison.Ordinal);
        Assert.Contains(model.Path, e.Message, StringComparison.Ordinal);
        Assert.Equal(64 << 10, e.AvailableBytes);
        Assert.Equal(0, gpu.LiveBuffers);
    }

    [Fact]
    public void Staging_EnqueueWaitReuse_Lands()
    {
        using GpuDestination gpu = GpuDestination.CreateCpuAccelerator();
        using IDeviceBuffer block = gpu.Allocate(10_000);
        using IStagingBuffer staging = gpu.AllocateStaging(4096);
        for (int round = 0; round < 3; round++)
        {
            staging.WaitForCopies();
            staging.Span.Fill((byte)(round + 1));
            block.EnqueueCopyFromHost(round * 4096, staging, round == 2 ? 1000 : 4096);
        }

        block.Synchronize();
        byte[] back = new byte[9192];
        block.CopyToHost(0, back);
        Assert.Equal(1, back[0]);
        Assert.Equal(2, back[4096]);
        Assert.Equal(3, back[9191]);
        Assert.Throws<ArgumentOutOfRangeException>(() => block.EnqueueCopyFromHost(9_000, staging, 2_000));
        Assert.Throws<ArgumentException>(() => block.EnqueueCopyFromHost(0, new HostArenaDestination().AllocateStaging(16), 16));
    }

    [Fact]
    public void Reports_NameAndMemory()
    {
        using GpuDestination gpu = GpuDestination.CreateCpuAccelerator();

        Assert.Equal("ILGPU CPU accelerator", gpu.DeviceName);
        Assert.False(gpu.IsCuda);
        Assert.False(gpu.IsHostMemory);
        Assert.True(gpu.TotalBytes > 0);
        Assert.True(gpu.AvailableBytes > 0);
    }
}

/// <summary>A CUDA destination of either backend, with its counters.</summary>
internal sealed record CudaGpu(ITensorDestination Destination, IDisposable Owner, Func<int> LiveBuffers, Func<int> LiveStaging) : IDisposable
{
    public static CudaGpu OpenOrSkip(string backend)
    {
        if (!GpuDestination.IsCudaAvailable(out string reason))
        {
            Assert.Skip($"no CUDA GPU here: {reason}");
        }

        if (backend == "driver")
        {
            CudaDriverDestination driver = CudaDriverDestination.Open(0);
            return new CudaGpu(driver, driver, () => driver.LiveBuffers, () => driver.LiveStagingBuffers);
        }

        GpuDestination gpu = GpuDestination.CreateCuda(0);
        return new CudaGpu(gpu, gpu, () => gpu.LiveBuffers, () => gpu.LiveStagingBuffers);
    }

    public void Dispose() => Owner.Dispose();
}

/// <summary>Both CUDA backends on a real GPU; skipped with the reason where there is none.</summary>
public sealed class CudaBackendTests
{
    [Theory]
    [InlineData("ilgpu")]
    [InlineData("driver")]
    public void Load_BothBackends_BytesExactInDeviceMemory(string backend)
    {
        using CudaGpu gpu = CudaGpu.OpenOrSkip(backend);
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"), scale: 8);
        using GgufFile gguf = GgufFile.Open(model.Path);
        TestContext.Current.SendDiagnosticMessage($"{backend}: {gpu.Destination.DeviceName}, {gpu.Destination.TotalBytes:N0} bytes, {gpu.Destination.AvailableBytes:N0} available");

        foreach (LoadMode mode in new[] { LoadMode.Read, LoadMode.Mmap })
        {
            using LoadedModel loaded = new ModelLoader(gpu.Destination, new LoadOptions { Mode = mode, ChunkSize = 4099, Readers = 3, Verify = true }).Load(gguf, null, TestContext.Current.CancellationToken);
            LoadAssert.BytesExact(loaded, model);
            Assert.Equal(DeviceMemoryKind.Device, loaded.Statistics.MemoryKind);
        }

        Assert.Equal(0, gpu.LiveBuffers());
        Assert.Equal(0, gpu.LiveStaging());
    }

    [Theory]
    [InlineData("ilgpu")]
    [InlineData("driver")]
    public void Load_BothBackendsCancelled_FreeEverything(string backend)
    {
        using CudaGpu gpu = CudaGpu.OpenOrSkip(backend);
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 32L << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);
        using var cts = new CancellationTokenSource();
        var progress = new RecordingProgress(p =>
        {
            if (p.BytesDone > 0)
            {
                cts.Cancel();
            }
        });

        Assert.ThrowsAny<OperationCanceledException>(() =>
            new ModelLoader(gpu.Destination, new LoadOptions { ProgressInterval = TimeSpan.Zero }).Load(gguf, progress, cts.Token));

        Assert.Equal(0, gpu.LiveBuffers());
        Assert.Equal(0, gpu.LiveStaging());
    }

    [Theory]
    [InlineData("ilgpu")]
    [InlineData("driver")]
    public void Allocate_BothBackendsMoreThanTheDevice_FitError(string backend)
    {
        using CudaGpu gpu = CudaGpu.OpenOrSkip(backend);
        long tooMuch = gpu.Destination.TotalBytes + (1L << 30);

        InsufficientDeviceMemoryException e = Assert.Throws<InsufficientDeviceMemoryException>(() => gpu.Destination.Allocate(tooMuch));

        Assert.Contains("cuda:0", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, gpu.LiveBuffers());
    }

    [Fact]
    public void PinnedCopy_BothBackends_Measure()
    {
        using CudaGpu ilgpu = CudaGpu.OpenOrSkip("ilgpu");
        double viaIlgpu = GpuBandwidth.MeasurePinnedCopy((GpuDestination)ilgpu.Destination, 256L << 20, 3);
        using CudaGpu driver = CudaGpu.OpenOrSkip("driver");
        double viaDriver = ((CudaDriverDestination)driver.Destination).MeasurePinnedCopy(256L << 20, 3);
        TestContext.Current.SendDiagnosticMessage($"pinned host-to-device copy: ILGPU {viaIlgpu:F2} GB/s, driver API {viaDriver:F2} GB/s");

        Assert.True(viaIlgpu > 0.5, $"ILGPU {viaIlgpu} GB/s");
        Assert.True(viaDriver > 0.5, $"driver API {viaDriver} GB/s");
    }
}

/// <summary>The same on a real CUDA GPU; skipped with the reason where there is none.</summary>
public sealed class CudaTests
{
    private static GpuDestination OpenOrSkip()
    {
        if (!GpuDestination.IsCudaAvailable(out string reason))
        {
            Assert.Skip($"no CUDA GPU here: {reason}");
        }

        return GpuDestination.CreateCuda(0);
    }

    [Fact]
    public void Cuda_ReportsNameAndMemory()
    {
        using GpuDestination gpu = OpenOrSkip();
        TestContext.Current.SendDiagnosticMessage($"{gpu.DeviceName}: {gpu.TotalBytes:N0} bytes total, {gpu.FreeBytes:N0} free");

        Assert.True(gpu.IsCuda);
        Assert.Contains("cuda:0", gpu.DeviceName, StringComparison.Ordinal);
        Assert.InRange(gpu.FreeBytes, 1, gpu.TotalBytes);
    }

    [Theory]
    [InlineData(LoadMode.Read, 1 << 20, 1)]
    [InlineData(LoadMode.Read, 4099, 4)]
    [InlineData(LoadMode.Mmap, 65537, 2)]
    public void Load_Cuda_BytesExactInDeviceMemory(LoadMode mode, int chunkSize, int readers)
    {
        using GpuDestination gpu = OpenOrSkip();
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"), scale: 8);
        using GgufFile gguf = GgufFile.Open(model.Path);

        using (LoadedModel loaded = new ModelLoader(gpu, new LoadOptions { Mode = mode, ChunkSize = chunkSize, Readers = readers, Verify = true }).Load(gguf, null, TestContext.Current.CancellationToken))
        {
            LoadAssert.BytesExact(loaded, model);
            Assert.Equal(DeviceMemoryKind.Device, loaded.Statistics.MemoryKind);
            Assert.Equal(DeviceMemoryKind.Device, loaded.Buffer.QueryMemoryKind());
            Assert.True(loaded.Statistics.Verified);
        }

        Assert.Equal(0, gpu.LiveBuffers);
        Assert.Equal(0, gpu.LiveStagingBuffers);
    }

    [Fact]
    public void Load_CudaCancelled_FreesDeviceMemory()
    {
        using GpuDestination gpu = OpenOrSkip();
        using var dir = new TempDirectory();
        TestModel model = TestModels.WriteSized(dir.File("m.gguf"), 64L << 20);
        using GgufFile gguf = GgufFile.Open(model.Path);
        using var cts = new CancellationTokenSource();
        var progress = new RecordingProgress(p =>
        {
            if (p.BytesDone > 0)
            {
                cts.Cancel();
            }
        });

        Assert.ThrowsAny<OperationCanceledException>(() =>
            new ModelLoader(gpu, new LoadOptions { ProgressInterval = TimeSpan.Zero }).Load(gguf, progress, cts.Token));

        Assert.Equal(0, gpu.LiveBuffers);
        Assert.Equal(0, gpu.LiveStagingBuffers);
    }

    [Fact]
    public void Cuda_AllocateMoreThanFree_ThrowsInsufficientMemory()
    {
        using GpuDestination gpu = OpenOrSkip();
        long tooMuch = gpu.TotalBytes + (1L << 30);

        InsufficientDeviceMemoryException e = Assert.Throws<InsufficientDeviceMemoryException>(() => gpu.Allocate(tooMuch));

        Assert.Equal(tooMuch, e.RequiredBytes);
        Assert.Contains("cuda:0", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, gpu.LiveBuffers);
    }

    [Fact]
    public void Cuda_DriverOutOfMemory_MapsToFitError()
    {
        using GpuDestination gpu = OpenOrSkip();
        long tooMuch = gpu.TotalBytes * 2;

        // Past the fit check, straight to cuMemAlloc: the driver's CUDA_ERROR_OUT_OF_MEMORY must become the fit error.
        InsufficientDeviceMemoryException e = Assert.Throws<InsufficientDeviceMemoryException>(() => gpu.AllocateFromDriver(tooMuch));

        Assert.Equal(tooMuch, e.RequiredBytes);
        Assert.Contains("cuda:0", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, gpu.LiveBuffers);
    }
}

/// <summary>Without a GPU, both CUDA backends fail with one clear message.</summary>
public sealed class NoGpuTests
{
    [Fact]
    public void OpenCuda_WithoutGpu_ThrowsUnavailableWithReason()
    {
        if (GpuDestination.IsCudaAvailable(out _))
        {
            Assert.Skip("this machine has a CUDA GPU");
        }

        GpuUnavailableException ilgpu = Assert.Throws<GpuUnavailableException>(() => GpuDestination.CreateCuda(0));
        GpuUnavailableException driver = Assert.Throws<GpuUnavailableException>(() => CudaDriverDestination.Open(0));

        Assert.Contains("CUDA", ilgpu.Message, StringComparison.Ordinal);
        Assert.Contains("CUDA", driver.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ilgpu.Message);
        Assert.DoesNotContain('\n', driver.Message);
    }
}
