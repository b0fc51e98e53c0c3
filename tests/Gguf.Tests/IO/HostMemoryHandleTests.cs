using Gguf.IO;
using Gguf.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Gguf.Tests.IO;

public sealed class HostMemoryHandleTests
{
    [Theory]
    [InlineData(0, 256, false)]
    [InlineData(1, 256, false)]
    [InlineData(4097, 4096, false)]
    [InlineData((3 << 20) + 17, 256, true)]
    [InlineData(5 << 20, 256, false)]
    public void Allocate_AlignedWritableAndReadable(long length, int alignment, bool hugePages)
    {
        using HostMemoryHandle memory = HostMemoryHandle.Allocate(length, alignment, hugePages, "test", NullLogger.Instance);

        Assert.Equal(length, memory.Length);
        Assert.Equal(0, memory.Address % alignment);
        if (hugePages && OperatingSystem.IsLinux())
        {
            Assert.Equal(0, memory.Address % (2 << 20));
        }

        if (length > 0)
        {
            byte[] pattern = new byte[Math.Min(length, 1 << 16)];
            new Random((int)length).NextBytes(pattern);
            memory.Write(length - pattern.Length, pattern);
            byte[] back = new byte[pattern.Length];
            memory.Read(length - pattern.Length, back);
            Assert.Equal(pattern, back);
            Assert.True(memory.Populate(0, length, TestContext.Current.CancellationToken));
            memory.Read(length - pattern.Length, back);
            Assert.Equal(pattern, back);
        }
    }

    [Fact]
    public void AfterDispose_EveryAccessThrowsObjectDisposed()
    {
        HostMemoryHandle memory = HostMemoryHandle.Allocate(8192, 256, false, "test", NullLogger.Instance);
        memory.Dispose();
        memory.Dispose();

        Assert.Throws<ObjectDisposedException>(() => memory.Write(0, new byte[1]));
        Assert.Throws<ObjectDisposedException>(() => memory.Read(0, new byte[1]));
        Assert.Throws<ObjectDisposedException>(() => memory.GetSpan(0, 1).Length);
        Assert.False(memory.Populate(0, 8192, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void DisposeWhileReferenced_FreesWhenTheLastReferenceGoes()
    {
        var logger = new CapturingLogger();
        HostMemoryHandle memory = HostMemoryHandle.Allocate(8192, 256, false, "test", logger);
        bool added = false;
        memory.DangerousAddRef(ref added);

        memory.Dispose();
        Assert.Equal(0, logger.Count("Freed test memory"));
        memory.DangerousRelease();

        Assert.Equal(1, logger.Count("Freed test memory: 8192 bytes"));
        Assert.True(memory.IsClosed);
    }

    [Fact]
    public void Ranges_OutsideOrOverflowing_Throw()
    {
        using HostMemoryHandle memory = HostMemoryHandle.Allocate(100, 256, false, "test", NullLogger.Instance);

        Assert.Throws<ArgumentOutOfRangeException>(() => memory.Write(99, new byte[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.Read(long.MaxValue, new byte[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.GetSpan(-1, 1).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.Populate(50, 51, TestContext.Current.CancellationToken));
        Assert.Throws<ArgumentOutOfRangeException>(() => HostMemoryHandle.Allocate(10, 3, false, "test", NullLogger.Instance));
    }

    [Fact]
    public void AlignedAllocation_WorksOnEverySystem()
    {
        var logger = new CapturingLogger();
        using (AlignedMemoryHandle memory = AlignedMemoryHandle.Allocate(10_000, 4096, "staging", logger))
        {
            Assert.Equal(0, memory.Address % 4096);
            memory.Write(9_999, [7]);
            Assert.Equal(7, memory.GetSpan(9_999, 1)[0]);
        }

        Assert.Equal(1, logger.Count("Allocated staging memory: 10000 bytes"));
        Assert.Equal(1, logger.Count("Freed staging memory: 10000 bytes"));
    }
}
