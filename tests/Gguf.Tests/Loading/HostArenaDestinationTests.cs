using Gguf.Loading;
using Gguf.Testing;
using Xunit;

namespace Gguf.Tests.Loading;

public sealed class HostArenaDestinationTests
{
    [Theory]
    [InlineData(nameof(ArenaPrefault.None), true)]
    [InlineData(nameof(ArenaPrefault.Upfront), true)]
    [InlineData(nameof(ArenaPrefault.Background), true)]
    [InlineData(nameof(ArenaPrefault.Background), false)]
    [InlineData(nameof(ArenaPrefault.OnDemand), true)]
    [InlineData(nameof(ArenaPrefault.OnDemand), false)]
    public void Allocate_AlignedAndWritable(string prefaultName, bool hugePages)
    {
        ArenaPrefault prefault = Enum.Parse<ArenaPrefault>(prefaultName);
        using var arena = new HostArenaDestination(new HostArenaOptions { Prefault = prefault, HugePages = hugePages });
        foreach (long length in new long[] { 1, 255, 4097, (3L << 20) + 17, 20L << 20 })
        {
            using IDeviceBuffer buffer = arena.Allocate(length);
            Assert.True(buffer.TryGetHostSpan(0, 1, out Span<byte> first));
            unsafe
            {
                fixed (byte* p = first)
                {
                    Assert.Equal(0, (long)p % 256);
                }
            }

            byte[] pattern = new byte[Math.Min(length, 1 << 20)];
            new Random((int)length).NextBytes(pattern);
            long at = length - pattern.Length;
            buffer.CopyFromHost(at, pattern);
            byte[] back = new byte[pattern.Length];
            buffer.CopyToHost(at, back);
            Assert.Equal(pattern, back);
            Assert.Equal(DeviceMemoryKind.Host, buffer.QueryMemoryKind());
        }

        Assert.Equal(0, arena.LiveBuffers);
        Assert.Equal(0, arena.AllocatedBytes);
    }

    [Fact]
    public void OnDemand_ManyThreadsFirstTouchingTheSameRegions_AllGetTheirSpansAndEveryWriteLands()
    {
        // Eight threads ask for interleaved 64 KiB spans of the same few 2 MiB regions at once: whoever comes first
        // faults a region in, the others wait for it; nobody may hang, and every byte written must read back.
        using var arena = new HostArenaDestination(new HostArenaOptions { Prefault = ArenaPrefault.OnDemand, PrefaultRegion = 2L << 20 });
        const int Span = 64 << 10;
        const int Threads = 8;
        long length = (6L << 20) + 4096;
        using IDeviceBuffer buffer = arena.Allocate(length);
        int spans = (int)((length + Span - 1) / Span);
        using var start = new Barrier(Threads);
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, thread =>
        {
            start.SignalAndWait();
            for (int s = thread; s < spans; s += Threads)
            {
                long offset = (long)s * Span;
                int count = (int)Math.Min(Span, length - offset);
                Assert.True(buffer.TryGetHostSpan(offset, count, out Span<byte> target));
                target.Fill((byte)(s % 251));
            }
        });

        // Each region was faulted in exactly once, by one thread, and the arena counted it once.
        Assert.Equal(length, arena.FaultCounters.Bytes);
        Assert.True(arena.FaultCounters.Ticks > 0);

        byte[] back = new byte[Span];
        for (int s = 0; s < spans; s++)
        {
            long offset = (long)s * Span;
            int count = (int)Math.Min(Span, length - offset);
            buffer.CopyToHost(offset, back.AsSpan(0, count));
            Assert.All(back.AsSpan(0, count).ToArray(), b => Assert.Equal((byte)(s % 251), b));
        }
    }

    [Fact]
    public void Allocate_OverCapacity_ThrowsWithBytesAndDevice()
    {
        using var arena = new HostArenaDestination(new HostArenaOptions { CapacityBytes = 10_000 });
        using IDeviceBuffer first = arena.Allocate(6_000);
        Assert.Equal(4_000, arena.AvailableBytes);

        InsufficientDeviceMemoryException e = Assert.Throws<InsufficientDeviceMemoryException>(() => arena.Allocate(6_000));

        Assert.Equal(6_000, e.RequiredBytes);
        Assert.Equal(4_000, e.AvailableBytes);
        Assert.Equal("host", e.DeviceName);
        Assert.Equal(1, arena.LiveBuffers);
    }

    [Fact]
    public void Dispose_WhileBackgroundPrefaultRuns_IsSafeAndFrees()
    {
        using var arena = new HostArenaDestination(new HostArenaOptions { Prefault = ArenaPrefault.Background });
        for (int i = 0; i < 3; i++)
        {
            IDeviceBuffer buffer = arena.Allocate(48L << 20);
            buffer.CopyFromHost(0, new byte[] { 1, 2, 3 });
            buffer.Dispose();
            buffer.Dispose();
            Assert.Throws<ObjectDisposedException>(() => buffer.CopyFromHost(0, new byte[1]));
        }

        Assert.Equal(0, arena.LiveBuffers);
    }

    [Fact]
    public void CopyOutsideBlock_Throws()
    {
        using var arena = new HostArenaDestination();
        using IDeviceBuffer buffer = arena.Allocate(100);

        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.CopyFromHost(90, new byte[11]));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.CopyToHost(-1, new byte[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.TryGetHostSpan(100, 1, out _));
    }

    [Fact]
    public void Staging_EnqueuedCopyLandsAndBuffersAreCounted()
    {
        using var arena = new HostArenaDestination();
        using IDeviceBuffer buffer = arena.Allocate(4096);
        using (IStagingBuffer staging = arena.AllocateStaging(1024))
        {
            Assert.Equal(1, arena.LiveStagingBuffers);
            staging.Span.Fill(7);
            buffer.EnqueueCopyFromHost(100, staging, 10);
            staging.WaitForCopies();
            buffer.Synchronize();
            byte[] back = new byte[12];
            buffer.CopyToHost(99, back);
            Assert.Equal(7, back[1]);
            Assert.Equal(7, back[10]);
        }

        Assert.Equal(0, arena.LiveStagingBuffers);
    }

    [Fact]
    public void Reports_DeviceAndMemory()
    {
        using var arena = new HostArenaDestination();

        Assert.Equal("host", arena.DeviceName);
        Assert.True(arena.IsHostMemory);
        Assert.True(arena.TotalBytes > 0);
        Assert.InRange(arena.AvailableBytes, 1, arena.TotalBytes);
        Assert.Equal(256, arena.Alignment);
    }
}

public sealed class LoadedModelTests
{
    [Fact]
    public void LoadedModel_LookupReadBackAndDispose()
    {
        using var dir = new TempDirectory();
        TestModel model = TestModels.Write(dir.File("m.gguf"));
        using var arena = new HostArenaDestination();
        LoadedModel loaded;
        using (var gguf = Gguf.Model.GgufFile.Open(model.Path))
        {
            loaded = new ModelLoader(arena).Load(gguf, null, TestContext.Current.CancellationToken);
        }

        LoadedTensor tensor = loaded.GetTensor("blk.0.ffn_up.weight");
        byte[] part = new byte[10];
        loaded.CopyToHost(tensor, 7, part);
        Assert.Equal(model.BytesOf("blk.0.ffn_up.weight").AsSpan(7, 10).ToArray(), part);
        Assert.Throws<ArgumentOutOfRangeException>(() => loaded.CopyToHost(tensor, tensor.ByteSize - 5, part));
        Assert.Throws<KeyNotFoundException>(() => loaded.GetTensor("nope"));
        Assert.False(loaded.TryGetTensor("nope", out _));

        loaded.Dispose();
        loaded.Dispose();

        Assert.Equal(0, arena.LiveBuffers);
        Assert.Throws<ObjectDisposedException>(() => loaded.Buffer);
    }
}
