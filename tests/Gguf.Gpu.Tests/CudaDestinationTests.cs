using Gguf.Format;
using Gguf.Loading;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Loading;
using Xunit;

namespace Gguf.Gpu.Tests;

/// <summary>The CUDA destination on a real GPU; each test skips with the reason where there is none.</summary>
public sealed class CudaDestinationTests
{
    internal static CudaDestination OpenOrSkip(CudaDestinationOptions? options = null)
    {
        if (!CudaDestination.IsAvailable(out string reason))
        {
            Assert.Skip($"no CUDA GPU here: {reason}");
        }

        return CudaDestination.Open(0, options);
    }

    [Fact]
    public void Open_ReportsNameAndMemory()
    {
        using CudaDestination gpu = OpenOrSkip();
        TestContext.Current.SendDiagnosticMessage($"{gpu.DeviceName}: {gpu.TotalBytes:N0} bytes total, {gpu.FreeBytes:N0} free");

        Assert.Contains("cuda:0", gpu.DeviceName, StringComparison.Ordinal);
        Assert.Equal(0, gpu.DeviceOrdinal);
        Assert.False(gpu.IsHostMemory);
        Assert.Equal(DeviceMemoryKind.Device, gpu.ExpectedMemoryKind);
        Assert.InRange(gpu.FreeBytes, 1, gpu.TotalBytes);
        Assert.Equal(256, gpu.Alignment);
    }

    [Theory]
    [InlineData(LoadMode.Read, 1 << 20, 1)]
    [InlineData(LoadMode.Read, 4099, 4)]
    [InlineData(LoadMode.Mmap, 65537, 2)]
    [InlineData(LoadMode.Auto, 4096, 3)]
    public void Load_BytesExactInDeviceMemory(LoadMode mode, int chunkSize, int readers)
    {
        using CudaDestination gpu = OpenOrSkip();
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"), scale: 8);
        using GgufFile gguf = GgufFile.Open(model.Path);

        using (LoadedModel loaded = new ModelLoader(gpu, new LoadOptions { Mode = mode, ChunkSize = chunkSize, Readers = readers, Verify = true }).Load(gguf, null, TestContext.Current.CancellationToken))
        {
            LoadAssert.BytesExact(loaded, model);
            Assert.Equal(DeviceMemoryKind.Device, loaded.Statistics.MemoryKind);
            Assert.Equal(DeviceMemoryKind.Device, loaded.Buffer.QueryMemoryKind());
            Assert.True(loaded.Statistics.Verified);
            Assert.Equal(0, gpu.LiveStagingBuffers);
        }

        Assert.Equal(0, gpu.LiveBuffers);
        Assert.Equal(0, gpu.AllocatedBytes);
    }

    [Fact]
    public void Load_Cancelled_FreesDeviceMemory()
    {
        using CudaDestination gpu = OpenOrSkip();
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
    public void Load_OverMemoryLimit_FitCheckNamesDeviceAndFile()
    {
        using CudaDestination gpu = OpenOrSkip(new CudaDestinationOptions { MemoryLimitBytes = 64 << 10 });
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using GgufFile gguf = GgufFile.Open(model.Path);

        InsufficientDeviceMemoryException e = Assert.Throws<InsufficientDeviceMemoryException>(() => new ModelLoader(gpu).Load(gguf, null, TestContext.Current.CancellationToken));

        Assert.Contains("cuda:0", e.Message, StringComparison.Ordinal);
        Assert.Contains(model.Path, e.Message, StringComparison.Ordinal);
        Assert.Equal(64 << 10, e.AvailableBytes);
        Assert.Equal(0, gpu.LiveBuffers);
    }

    [Fact]
    public void Allocate_MoreThanTheDevice_FitError()
    {
        using CudaDestination gpu = OpenOrSkip();
        long tooMuch = gpu.TotalBytes + (1L << 30);

        InsufficientDeviceMemoryException e = Assert.Throws<InsufficientDeviceMemoryException>(() => gpu.Allocate(tooMuch));

        Assert.Equal(tooMuch, e.RequiredBytes);
        Assert.Contains("cuda:0", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, gpu.LiveBuffers);
    }

    [Fact]
    public void Staging_EnqueueWaitReuse_Lands()
    {
        using CudaDestination gpu = OpenOrSkip();
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
        Assert.False(block.TryGetHostSpan(0, 1, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => block.EnqueueCopyFromHost(9_000, staging, 2_000));
        using var arena = new HostArenaDestination();
        using IStagingBuffer foreign = arena.AllocateStaging(16);
        Assert.Throws<ArgumentException>(() => block.EnqueueCopyFromHost(0, foreign, 16));
    }

    [Fact]
    public void EveryRouteAfterDispose_ThrowsObjectDisposed()
    {
        CudaDestination gpu = OpenOrSkip();
        IDeviceBuffer disposedBuffer = gpu.Allocate(4096);
        IStagingBuffer staging = gpu.AllocateStaging(4096);
        IStagingBuffer disposedStaging = gpu.AllocateStaging(64);
        disposedBuffer.Dispose();
        disposedBuffer.Dispose();
        disposedStaging.Dispose();
        AssertEveryCallThrows(disposedBuffer, staging);
        Assert.Throws<ObjectDisposedException>(() => disposedStaging.Span.Length);
        Assert.Throws<ObjectDisposedException>(disposedStaging.WaitForCopies);

        // A destination disposed while a block lives: the block keeps the context and its memory until its own
        // Dispose, and every call on it is refused.
        IDeviceBuffer live = gpu.Allocate(1 << 20);
        live.CopyFromHost(0, [1, 2, 3]);
        gpu.Dispose();
        gpu.Dispose();
        AssertEveryCallThrows(live, staging);
        Assert.Throws<ObjectDisposedException>(() => gpu.Allocate(16));
        Assert.Throws<ObjectDisposedException>(() => gpu.AllocateStaging(16));
        Assert.Throws<ObjectDisposedException>(() => gpu.FreeBytes);
        live.Dispose();
        staging.Dispose();
        Assert.Equal(0, gpu.LiveBuffers);
        Assert.Equal(0, gpu.LiveStagingBuffers);
    }

    [Fact]
    public void Buffers_DisposedFromManyThreadsAtOnce_FreedOnce()
    {
        using CudaDestination gpu = OpenOrSkip();
        IDeviceBuffer[] buffers = [.. Enumerable.Range(1, 8).Select(i => gpu.Allocate(i << 20))];
        IStagingBuffer[] stagings = [.. Enumerable.Range(1, 4).Select(i => gpu.AllocateStaging(i << 16))];
        foreach (IStagingBuffer staging in stagings)
        {
            buffers[0].EnqueueCopyFromHost(0, staging, staging.Length);
        }

        Parallel.For(0, 8, _ =>
        {
            foreach (IDeviceBuffer buffer in buffers)
            {
                buffer.Dispose();
            }

            foreach (IStagingBuffer staging in stagings)
            {
                staging.Dispose();
            }
        });

        Assert.Equal(0, gpu.LiveBuffers);
        Assert.Equal(0, gpu.LiveStagingBuffers);
        Assert.Equal(0, gpu.AllocatedBytes);
    }

    [Fact]
    public void PinnedCopy_Measures()
    {
        using CudaDestination gpu = OpenOrSkip();

        double gbPerSecond = gpu.MeasurePinnedCopy(256L << 20, 3);
        TestContext.Current.SendDiagnosticMessage($"pinned host-to-device copy: {gbPerSecond:F2} GB/s");

        Assert.True(gbPerSecond > 0.5, $"{gbPerSecond} GB/s");
        Assert.Equal(0, gpu.LiveBuffers);
    }

    private static void AssertEveryCallThrows(IDeviceBuffer buffer, IStagingBuffer staging)
    {
        Assert.Throws<ObjectDisposedException>(() => buffer.CopyFromHost(0, new byte[1]));
        Assert.Throws<ObjectDisposedException>(() => buffer.CopyToHost(0, new byte[1]));
        Assert.Throws<ObjectDisposedException>(() => buffer.TryGetHostSpan(0, 1, out _));
        Assert.Throws<ObjectDisposedException>(() => buffer.EnqueueCopyFromHost(0, staging, 1));
        Assert.Throws<ObjectDisposedException>(buffer.Synchronize);
        Assert.Throws<ObjectDisposedException>(() => buffer.QueryMemoryKind());
    }
}

/// <summary>Without a GPU: one clear line, the error types, and no crash.</summary>
public sealed class NoGpuTests
{
    [Fact]
    public void Open_WithoutGpu_ThrowsUnavailableWithOneLineReason()
    {
        if (CudaDestination.IsAvailable(out string reason))
        {
            Assert.Skip("this machine has a CUDA GPU");
        }

        GpuUnavailableException e = Assert.Throws<GpuUnavailableException>(() => CudaDestination.Open(0));

        Assert.Contains("CUDA", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("CUDA", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_NegativeOrdinalOrLimit_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CudaDestination.Open(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => CudaDestination.Open(0, new CudaDestinationOptions { MemoryLimitBytes = -1 }));
    }

    [Fact]
    public void CudaException_CarriesCodeNameAndCall()
    {
        var e = new CudaException("cuMemcpyHtoDAsync_v2", 700, "CUDA_ERROR_ILLEGAL_ADDRESS", "NVIDIA H200 (cuda:0)");

        Assert.Equal(700, e.Result);
        Assert.Equal("CUDA_ERROR_ILLEGAL_ADDRESS", e.ResultName);
        Assert.Equal("cuMemcpyHtoDAsync_v2", e.Call);
        Assert.Equal("cuMemcpyHtoDAsync_v2 failed on NVIDIA H200 (cuda:0): CUDA_ERROR_ILLEGAL_ADDRESS (700)", e.Message);
        Assert.IsAssignableFrom<IOException>(e);
        Assert.Equal("CUDA error 42", new CudaException("cuInit", 42, null, "cuda:0").ResultName);
    }
}
