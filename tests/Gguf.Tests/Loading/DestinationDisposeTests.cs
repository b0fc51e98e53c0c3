using Gguf.Loading;
using Gguf.Tests.Support;
using Xunit;

namespace Gguf.Tests.Loading;

/// <summary>
/// Every route a caller could take to memory after a dispose, on both destinations of this assembly (the host
/// arena and the fake GPU, which share the <see cref="TensorDestination"/> base): each is an
/// <see cref="ObjectDisposedException"/>, never a crash, and every count comes back to zero exactly once.
/// </summary>
public sealed class DestinationDisposeTests
{
    public static TheoryData<string> Destinations => new() { "host", "fake" };

    private static TensorDestination Open(string kind, CapturingLogger? logger = null) => kind == "host"
        ? new HostArenaDestination(null, logger)
        : new FakeDevice();

    [Theory]
    [MemberData(nameof(Destinations))]
    public void Buffer_AfterItsDispose_EveryCallThrowsObjectDisposed(string kind)
    {
        using TensorDestination destination = Open(kind);
        IStagingBuffer staging = destination.AllocateStaging(64);
        IDeviceBuffer buffer = destination.Allocate(4096);
        buffer.Dispose();

        AssertEveryCallThrows(buffer, staging);
        buffer.Dispose();
        staging.Dispose();
        Assert.Equal(0, destination.LiveBuffers);
    }

    [Theory]
    [MemberData(nameof(Destinations))]
    public void Buffer_AfterItsDestinationsDispose_EveryCallThrowsObjectDisposed(string kind)
    {
        TensorDestination destination = Open(kind);
        IDeviceBuffer buffer = destination.Allocate(4096);
        IStagingBuffer staging = destination.AllocateStaging(64);
        buffer.CopyFromHost(0, [1, 2, 3]);

        destination.Dispose();

        AssertEveryCallThrows(buffer, staging);
        Assert.Throws<ObjectDisposedException>(() => staging.Span.Length);
        Assert.Throws<ObjectDisposedException>(staging.WaitForCopies);

        // The buffers are still owned by their owner, who disposes them: the counts come back to zero.
        Assert.Equal(1, destination.LiveBuffers);
        Assert.Equal(1, destination.LiveStagingBuffers);
        buffer.Dispose();
        staging.Dispose();
        Assert.Equal(0, destination.LiveBuffers);
        Assert.Equal(0, destination.LiveStagingBuffers);
        Assert.Equal(0, destination.AllocatedBytes);
    }

    [Theory]
    [MemberData(nameof(Destinations))]
    public void Destination_AfterDispose_AllocationsThrowObjectDisposed(string kind)
    {
        TensorDestination destination = Open(kind);
        destination.Dispose();
        destination.Dispose();

        Assert.True(destination.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => destination.Allocate(16));
        Assert.Throws<ObjectDisposedException>(() => destination.AllocateStaging(16));
        Assert.Equal(0, destination.LiveBuffers);
    }

    [Theory]
    [MemberData(nameof(Destinations))]
    public void Buffer_DisposedTwice_CountedOnce(string kind)
    {
        using TensorDestination destination = Open(kind);
        IDeviceBuffer keep = destination.Allocate(100);
        IDeviceBuffer buffer = destination.Allocate(1000);
        IStagingBuffer staging = destination.AllocateStaging(10);

        buffer.Dispose();
        buffer.Dispose();
        staging.Dispose();
        staging.Dispose();

        Assert.Equal(1, destination.LiveBuffers);
        Assert.Equal(100, destination.AllocatedBytes);
        Assert.Equal(0, destination.LiveStagingBuffers);
        keep.Dispose();
        Assert.Equal(0, destination.AllocatedBytes);
    }

    [Theory]
    [MemberData(nameof(Destinations))]
    public void Buffers_DisposedFromManyThreadsAtOnce_CountedOnceEach(string kind)
    {
        using TensorDestination destination = Open(kind);
        IDeviceBuffer[] buffers = [.. Enumerable.Range(1, 16).Select(i => destination.Allocate(i * 4096))];
        IStagingBuffer[] stagings = [.. Enumerable.Range(1, 16).Select(i => destination.AllocateStaging(i * 64))];
        using var start = new Barrier(8);

        Thread[] threads = [.. Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            foreach (IDeviceBuffer buffer in buffers)
            {
                buffer.Dispose();
            }

            foreach (IStagingBuffer staging in stagings)
            {
                staging.Dispose();
            }
        }))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        Assert.Equal(0, destination.LiveBuffers);
        Assert.Equal(0, destination.LiveStagingBuffers);
        Assert.Equal(0, destination.AllocatedBytes);
    }

    [Theory]
    [MemberData(nameof(Destinations))]
    public void Enqueue_FromDisposedOrForeignStaging_Throws(string kind)
    {
        using TensorDestination destination = Open(kind);
        using TensorDestination other = Open(kind);
        using IDeviceBuffer buffer = destination.Allocate(4096);
        IStagingBuffer staging = destination.AllocateStaging(64);
        using IStagingBuffer foreign = other.AllocateStaging(64);
        staging.Dispose();

        Assert.Throws<ObjectDisposedException>(() => buffer.EnqueueCopyFromHost(0, staging, 16));
        Assert.Throws<ArgumentException>(() => buffer.EnqueueCopyFromHost(0, foreign, 16));
        Assert.Throws<ArgumentNullException>(() => buffer.EnqueueCopyFromHost(0, null!, 16));
    }

    [Theory]
    [MemberData(nameof(Destinations))]
    public void Ranges_OverflowingOrOutside_Throw(string kind)
    {
        using TensorDestination destination = Open(kind);
        using IDeviceBuffer buffer = destination.Allocate(100);
        using IStagingBuffer staging = destination.AllocateStaging(64);

        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.CopyFromHost(long.MaxValue, new byte[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.CopyFromHost(long.MinValue, new byte[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.CopyToHost(99, new byte[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.TryGetHostSpan(1, -1, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.EnqueueCopyFromHost(90, staging, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.EnqueueCopyFromHost(0, staging, 65));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.EnqueueCopyFromHost(0, staging, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => destination.Allocate(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => destination.AllocateStaging(0));
        buffer.CopyFromHost(100, []);
        buffer.CopyToHost(0, new byte[100]);
    }

    [Fact]
    public void HostArena_DestinationDisposedWhileBuffersLive_MemoryStaysWithTheBufferUntilItsDispose()
    {
        var logger = new CapturingLogger();
        var arena = new HostArenaDestination(null, logger);
        IDeviceBuffer buffer = arena.Allocate(1 << 20);
        Assert.True(buffer.TryGetHostSpan(0, 1 << 20, out Span<byte> span));
        Assert.Equal(1, logger.Count("Allocated arena memory"));

        arena.Dispose();

        // The contract: the destination's Dispose frees nothing the buffers own; a span taken before stays valid.
        Assert.Equal(0, logger.Count("Freed arena memory"));
        span.Fill(0xA5);
        Assert.Equal(0xA5, span[(1 << 20) - 1]);
        Assert.Throws<ObjectDisposedException>(() => buffer.CopyToHost(0, new byte[1]));

        buffer.Dispose();
        Assert.Equal(1, logger.Count("Freed arena memory"));
        Assert.Equal(0, arena.LiveBuffers);
    }

    [Fact]
    public void HostArena_StagingAndBlocks_LogEveryMapAndFree()
    {
        var logger = new CapturingLogger();
        using (var arena = new HostArenaDestination(new HostArenaOptions { HugePages = true }, logger))
        {
            arena.Allocate(4L << 20).Dispose();
            arena.AllocateStaging(4096).Dispose();
        }

        Assert.Equal(1, logger.Count("Allocated arena memory: 4194304 bytes"));
        Assert.Equal(1, logger.Count("Freed arena memory: 4194304 bytes"));
        Assert.Equal(1, logger.Count("Allocated staging memory: 4096 bytes"));
        Assert.Equal(1, logger.Count("Freed staging memory: 4096 bytes"));
    }

    [Fact]
    public void HostArena_CopiesRacingDispose_EachLandsOrThrowsObjectDisposed()
    {
        using var arena = new HostArenaDestination(new HostArenaOptions { Prefault = ArenaPrefault.None });
        byte[] chunk = new byte[64 << 10];
        for (int round = 0; round < 20; round++)
        {
            IDeviceBuffer buffer = arena.Allocate(4L << 20);
            using var start = new Barrier(5);
            int landed = 0;
            int refused = 0;
            Thread[] copiers = [.. Enumerable.Range(0, 4).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                byte[] back = new byte[chunk.Length];
                for (int i = 0; i < 64; i++)
                {
                    try
                    {
                        long offset = (long)((i * 4 + t) % 64) * chunk.Length;
                        buffer.CopyFromHost(offset, chunk);
                        buffer.CopyToHost(offset, back);
                        Interlocked.Increment(ref landed);
                    }
                    catch (ObjectDisposedException)
                    {
                        Interlocked.Increment(ref refused);
                    }
                }
            }))];
            foreach (Thread copier in copiers)
            {
                copier.Start();
            }

            start.SignalAndWait(TestContext.Current.CancellationToken);
            buffer.Dispose();
            foreach (Thread copier in copiers)
            {
                copier.Join();
            }

            Assert.Equal(4 * 64, landed + refused);
        }

        Assert.Equal(0, arena.LiveBuffers);
    }

    [Theory]
    [InlineData(ArenaPrefault.Background)]
    [InlineData(ArenaPrefault.OnDemand)]
    [InlineData(ArenaPrefault.Upfront)]
    public void HostArena_DisposeDuringPrefault_FreesOnceAndSafely(ArenaPrefault prefault)
    {
        var logger = new CapturingLogger();
        var arena = new HostArenaDestination(new HostArenaOptions { Prefault = prefault }, logger);
        for (int i = 0; i < 4; i++)
        {
            IDeviceBuffer buffer = arena.Allocate(64L << 20);
            buffer.CopyFromHost(32L << 20, [9]);
            arena.Dispose();
            buffer.Dispose();
            Assert.Throws<ObjectDisposedException>(() => buffer.CopyFromHost(0, new byte[1]));
            arena = new HostArenaDestination(new HostArenaOptions { Prefault = prefault }, logger);
        }

        arena.Dispose();

        // The background prefaulter may hold the last reference: the free happens when it lets go.
        SpinWait.SpinUntil(() => logger.Count("Freed arena memory") == 4, TimeSpan.FromSeconds(30));
        Assert.Equal(4, logger.Count("Freed arena memory"));
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
