using System.Runtime.InteropServices;
using Gguf.IO;
using Gguf.Tests.Support;

namespace Gguf.Tests.IO;

public sealed class MappedFileTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string WritePattern(string name, int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i * 31 + 7);
        }

        return _temp.WriteBytes(name, bytes);
    }

    [Fact]
    public void Open_MapsWholeFile_LengthPathAndContent()
    {
        string path = WritePattern("a.bin", 10_000);
        using MappedFile file = MappedFile.Open(path);

        Assert.Equal(10_000, file.Length);
        Assert.Equal(path, file.Path);
        Assert.False(file.IsDisposed);
        using MappedFileLease lease = file.Acquire();
        Assert.Equal(File.ReadAllBytes(path), lease.GetSpan(0, 10_000).ToArray());
    }

    [Theory]
    [InlineData(0, 16)]
    [InlineData(1, 1)]
    [InlineData(4095, 3)]
    [InlineData(4096, 100)]
    [InlineData(9_000, 1_000)]
    public void GetSpan_AtVariousOffsets_ReturnsFileBytes(long offset, int length)
    {
        string path = WritePattern("b.bin", 10_000);
        byte[] expected = File.ReadAllBytes(path).AsSpan((int)offset, length).ToArray();
        using MappedFile file = MappedFile.Open(path);
        using MappedFileLease lease = file.Acquire();

        Assert.Equal(expected, lease.GetSpan(offset, length).ToArray());
        var copy = new byte[length];
        file.Read(offset, copy);
        Assert.Equal(expected, copy);
    }

    [Fact]
    public void GetRange_ValidTensorRange_ReturnsExactSize()
    {
        string path = WritePattern("c.bin", 4096);
        using MappedFile file = MappedFile.Open(path);
        using MappedFileLease lease = file.Acquire();

        MappedRange range = lease.GetRange(100, 200);
        Assert.Equal(200, range.Length);
        Assert.True(range.FitsSpan);
        Assert.Equal(File.ReadAllBytes(path).AsSpan(100, 200).ToArray(), range.Span.ToArray());
    }

    [Fact]
    public void GetSpan_OffsetBeyondSize_Throws()
    {
        using MappedFile file = MappedFile.Open(WritePattern("d.bin", 100));
        using MappedFileLease lease = file.Acquire();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => lease.GetSpan(101, 0).Length);
        Assert.Contains("d.bin", e.Message);
    }

    [Fact]
    public void GetRange_DataPastEnd_Throws()
    {
        using MappedFile file = MappedFile.Open(WritePattern("e.bin", 100));
        using MappedFileLease lease = file.Acquire();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => lease.GetRange(90, 11).Length);
        Assert.Contains("past the end", e.Message);
    }

    [Fact]
    public void GetRange_OffsetPlusSizeOverflows_Throws()
    {
        using MappedFile file = MappedFile.Open(WritePattern("f.bin", 100));
        using MappedFileLease lease = file.Acquire();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => lease.GetRange(10, long.MaxValue).Length);
        Assert.Contains("overflows", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => lease.GetRange(-1, 1).Length);
    }

    [Fact]
    public void GetRange_EndingExactlyAtEndOfFile_Succeeds()
    {
        string path = WritePattern("g.bin", 1000);
        using MappedFile file = MappedFile.Open(path);
        using MappedFileLease lease = file.Acquire();

        MappedRange range = lease.GetRange(900, 100);
        Assert.Equal(File.ReadAllBytes(path)[900..], range.Span.ToArray());
        Assert.Equal(File.ReadAllBytes(path)[999], lease.GetSpan(999, 1)[0]);
    }

    [Fact]
    public void GetRange_ZeroSizeAtVeryEnd_Succeeds()
    {
        using MappedFile file = MappedFile.Open(WritePattern("h.bin", 1000));
        using MappedFileLease lease = file.Acquire();

        Assert.Equal(0, lease.GetRange(1000, 0).Length);
        Assert.True(lease.GetSpan(1000, 0).IsEmpty);
        Assert.Throws<ArgumentOutOfRangeException>(() => lease.GetRange(1001, 0).Length);
    }

    [Fact]
    public void Open_MissingFile_ThrowsNotFoundWithPath()
    {
        string path = _temp.File("missing.gguf");
        var e = Assert.Throws<MappedFileException>(() => MappedFile.Open(path));
        Assert.Equal(MappedFileError.NotFound, e.Error);
        Assert.Equal(path, e.Path);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Open_EmptyFile_ThrowsEmptyWithPath()
    {
        string path = _temp.WriteBytes("empty.gguf", []);
        var e = Assert.Throws<MappedFileException>(() => MappedFile.Open(path));
        Assert.Equal(MappedFileError.Empty, e.Error);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Open_Directory_ThrowsIsDirectory()
    {
        var e = Assert.Throws<MappedFileException>(() => MappedFile.Open(_temp.Path));
        Assert.Equal(MappedFileError.IsDirectory, e.Error);
        Assert.Contains(_temp.Path, e.Message);
    }

    [Fact]
    public void Open_UnreadableFile_ThrowsPermissionDeniedUnlessPrivileged()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("file modes are POSIX-only");
        }

        string path = WritePattern("secret.bin", 10);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.None);
        }
        if (geteuid() == 0)
        {
            // Root bypasses file modes (CAP_DAC_OVERRIDE), so the same open must succeed.
            using MappedFile file = MappedFile.Open(path);
            Assert.Equal(10, file.Length);
            return;
        }

        var e = Assert.Throws<MappedFileException>(() => MappedFile.Open(path));
        Assert.Equal(MappedFileError.PermissionDenied, e.Error);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Dispose_Twice_IsIdempotentAndLaterUseThrowsObjectDisposed()
    {
        MappedFile file = MappedFile.Open(WritePattern("i.bin", 100));
        file.Dispose();
        file.Dispose();

        Assert.True(file.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => file.Acquire());
        Assert.Throws<ObjectDisposedException>(() => file.Read(0, new byte[1]));
        Assert.Throws<ObjectDisposedException>(() => file.Advise(AccessAdvice.Sequential));
    }

    [Fact]
    public void Dispose_WhileLeaseHeld_UnmapsOnlyAfterLeaseReleased()
    {
        var logger = new CapturingLogger();
        string path = WritePattern("j.bin", 8192);
        MappedFile file = MappedFile.Open(path, logger);
        MappedFileLease lease = file.Acquire();
        file.Dispose();

        // The lease keeps the memory valid; the unmap waits for it.
        Assert.Equal(File.ReadAllBytes(path)[8000], lease.GetSpan(8000, 1)[0]);
        Assert.False(logger.Has("Unmapped"));
        Assert.Throws<ObjectDisposedException>(() => file.Acquire());
        lease.Dispose();
        Assert.True(logger.Has("Unmapped"));
    }

    [Fact]
    public void Open_MapsOnlyOnFirstUse_AndReadsThroughTheDescriptorWithoutMapping()
    {
        var logger = new CapturingLogger();
        string path = WritePattern("k.bin", 4096);
        using MappedFile file = MappedFile.Open(path, logger);

        var bytes = new byte[16];
        file.Read(4080, bytes);
        Assert.Equal(File.ReadAllBytes(path)[4080..], bytes);
        Assert.False(logger.Has("Mapped"));

        using (MappedFileLease lease = file.Acquire())
        {
            Assert.Equal(bytes, lease.GetSpan(4080, 16).ToArray());
        }

        Assert.Equal(1, logger.Count("Mapped '"));
        using (file.Acquire())
        {
        }

        Assert.Equal(1, logger.Count("Mapped '"));
    }

    [Fact]
    public void Read_AfterThePathIsReplaced_StillReadsTheOpenedFile()
    {
        string path = WritePattern("replaced.bin", 8192);
        byte[] original = File.ReadAllBytes(path);
        using MappedFile file = MappedFile.Open(path);

        // Another writer replaces the path by rename, as editors and downloaders do.
        string other = _temp.WriteBytes("other.bin", new byte[8192]);
        File.Move(other, path, overwrite: true);

        var bytes = new byte[8192];
        file.Read(0, bytes);
        Assert.Equal(original, bytes);
        file.EnsureUnchanged();
    }

    [Fact]
    public void Lease_EveryEscapeRoute_ThrowsObjectDisposedInsteadOfReadingUnmappedMemory()
    {
        string path = WritePattern("escape.bin", 3 * MappedFile.PageSize);
        MappedFile file = MappedFile.Open(path);
        MappedFileLease lease = file.Acquire();
        MappedFileLease alias = lease;
        file.Dispose();

        // The lease still works after the file is disposed; the range checks its lease on every access.
        Assert.Equal(File.ReadAllBytes(path)[5], ReadThroughRange(lease));
        lease.Dispose();
        alias.Dispose();
        Assert.True(lease.IsDisposed);

        // The mapping is gone now: every route to its memory refuses.
        Assert.Throws<ObjectDisposedException>(() => lease.GetSpan(0, 1).Length);
        Assert.Throws<ObjectDisposedException>(() => lease.GetRange(0, 1).Length);
        Assert.Throws<ObjectDisposedException>(() => alias.Length);
        Assert.Throws<ObjectDisposedException>(() => file.Acquire());
        Assert.Throws<ObjectDisposedException>(() => file.Read(0, new byte[1]));

        static byte ReadThroughRange(MappedFileLease lease) => lease.GetRange(0, 100).Span[5];
    }

    [Fact]
    public void Range_UsedAfterItsLeaseIsReleased_ThrowsObjectDisposed()
    {
        using MappedFile file = MappedFile.Open(WritePattern("range.bin", 4096));
        MappedFileLease lease = file.Acquire();
        MappedRange range = lease.GetRange(10, 100);
        MappedRange copy = range;
        Assert.Equal(100, copy.Span.Length);
        lease.Dispose();

        bool threw = false;
        try
        {
            _ = range.GetChunk(0, 1)[0];
        }
        catch (ObjectDisposedException)
        {
            threw = true;
        }

        Assert.True(threw);
        threw = false;
        try
        {
            _ = copy.Span.Length;
        }
        catch (ObjectDisposedException)
        {
            threw = true;
        }

        Assert.True(threw);
    }

    [Fact]
    public void Operations_LogDebugEvents()
    {
        var logger = new CapturingLogger();
        string path = WritePattern("l.bin", 5 * MappedFile.PageSize);
        using (MappedFile file = MappedFile.Open(path, logger))
        {
            file.Advise(AccessAdvice.Sequential);
            file.Advise(AccessAdvice.Random, 0, 100);
            file.Prefetch(0, file.Length);
            file.Lock(0, MappedFile.PageSize);
            file.Unlock(0, MappedFile.PageSize);
            file.Release(0, file.Length);
        }

        Assert.True(logger.Has("Mapped"));
        Assert.True(logger.Has("Sequential"));
        Assert.True(logger.Has("Random"));
        Assert.True(logger.Has("WillNeed"));
        Assert.True(logger.Has("Locked"));
        Assert.True(logger.Has("Unlocked"));
        Assert.True(logger.Has("Released"));
        Assert.True(logger.Has("Unmapped"));
    }

    [Fact]
    public void Release_ReleasesOnlyWholePagesInsideTheRange()
    {
        int page = MappedFile.PageSize;
        string path = WritePattern("m.bin", 10 * page);
        using MappedFile file = MappedFile.Open(path);
        file.Prefetch(0, file.Length);

        Assert.Equal(0, file.Release(1, page));
        Assert.Equal(2 * page, file.Release(page - 1, (2 * page) + 2));
        Assert.Equal(10 * page, file.Release(0, file.Length));

        // Released pages come back from the file on the next read.
        var bytes = new byte[page];
        file.Read(3 * page, bytes);
        Assert.Equal(File.ReadAllBytes(path).AsSpan(3 * page, page).ToArray(), bytes);
    }

    [Fact]
    public void EnsureUnchanged_DetectsTruncation()
    {
        string path = WritePattern("n.bin", 3 * MappedFile.PageSize);
        using MappedFile file = MappedFile.Open(path);
        file.EnsureUnchanged();

        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(MappedFile.PageSize);
        }

        var e = Assert.Throws<MappedFileException>(file.EnsureUnchanged);
        Assert.Equal(MappedFileError.FileChanged, e.Error);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void LargeSparseFile_Over5GiB_ReadsDataNearEndAndChunksLargeRanges()
    {
        const long size = (5L << 30) + 12345;
        string path = _temp.File("large.bin");
        byte[] tail = "end-of-a-five-gigabyte-file"u8.ToArray();
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write))
        {
            stream.SetLength(size);
            stream.Position = size - tail.Length;
            stream.Write(tail);
        }

        try
        {
            using MappedFile file = MappedFile.Open(path);
            Assert.Equal(size, file.Length);
            using MappedFileLease lease = file.Acquire();

            Assert.Equal(tail, lease.GetSpan(size - tail.Length, tail.Length).ToArray());

            // A range over 2 GiB is never truncated into a span: it is read in chunks.
            MappedRange whole = lease.GetRange(0, size);
            Assert.Equal(size, whole.Length);
            Assert.False(whole.FitsSpan);
            Assert.Throws<InvalidOperationException>(() => lease.GetRange(0, size).Span.Length);
            Assert.Equal(tail, whole.GetChunk(size - tail.Length, tail.Length).ToArray());
            Assert.Equal(0, whole.GetChunk(3L << 30, 4096)[100]);
            Assert.Throws<ArgumentOutOfRangeException>(() => lease.GetRange(0, size).GetChunk(size - 1, 2).Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ConcurrentReadersAndDispose_NeverCrash()
    {
        string path = WritePattern("o.bin", 1 << 20);
        for (int round = 0; round < 20; round++)
        {
            MappedFile file = MappedFile.Open(path);
            int disposedSeen = 0;
            var readers = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
            {
                var buffer = new byte[64 * 1024];
                for (int i = 0; i < 200; i++)
                {
                    try
                    {
                        file.Read((i * 4096L) % ((1 << 20) - buffer.Length), buffer);
                    }
                    catch (ObjectDisposedException)
                    {
                        Interlocked.Increment(ref disposedSeen);
                        return;
                    }
                }
            })).ToList();
            readers.ForEach(t => t.Start());
            Thread.Sleep(round % 3);
            file.Dispose();
            readers.ForEach(t => t.Join());
            Assert.True(file.IsDisposed);
        }
    }

    [DllImport("libc")]
    private static extern uint geteuid();
}
