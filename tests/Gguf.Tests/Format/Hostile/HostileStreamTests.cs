using Gguf.Format;
using Gguf.Testing;
using Xunit;

namespace Gguf.Tests.Format.Hostile;

/// <summary>Streams that lie: a Length longer than the data (a file truncated under the reader), short reads.</summary>
public sealed class HostileStreamTests
{
    [Fact]
    public void ReadStream_LengthLongerThanItsData_RejectsAsTruncatedWithoutHangingOrHugeAllocation()
    {
        // A 200 MB string the stream claims to have; it ends after a few bytes.
        RawGguf raw = new RawGguf().Header(0, 1).Key("s", GgufValueType.String).LyingStr(200_000_000, "abc"u8);
        byte[] file = raw.ToArray();
        using var stream = new LyingLengthStream(file, claimedLength: 1L << 40);

        long before = GC.GetAllocatedBytesForCurrentThread();
        GgufFormatException e = RunWithTimeout(() => HostileSupport.Rejects(() => GgufReader.Read(stream), "lying stream"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(GgufErrorCode.StringPastEnd, e.Code);
        Assert.Equal(raw["kv:s.value"], e.Offset);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes for a {file.Length}-byte stream");
    }

    [Fact]
    public void ReadStream_LengthLongerThanAValidHeader_RejectsTheTensorDataAsPastTheEnd()
    {
        // A header whose tensor data was cut off, in a stream still claiming the full length.
        byte[] file = new RawGguf().Header(1, 0).Tensor("w", [1024], GgmlType.F32, 0).DataSection().Zeros(100).ToArray();
        using var stream = new LyingLengthStream(file, claimedLength: file.Length + 4096 - 100);
        GgufFormatException e = RunWithTimeout(() => HostileSupport.Rejects(() => GgufReader.Read(stream), "cut stream"));
        Assert.Equal(GgufErrorCode.TensorDataPastEnd, e.Code);
    }

    [Fact]
    public void ReadStream_LargeHeaderThroughOneByteReads_MatchesTheMemoryParse()
    {
        // 200 KB of metadata forces the stream reader to grow its buffer several times.
        var raw = new RawGguf().Header(0, 2000);
        for (int i = 0; i < 2000; i++)
        {
            raw.KvString($"key.{i}", new string('v', 90));
        }

        byte[] file = raw.ToArray();
        using var stream = new LyingLengthStream(file, claimedLength: file.Length, maxRead: 1);
        GgufHeader fromStream = RunWithTimeout(() => GgufReader.Read(stream));
        GgufHeader fromMemory = GgufReader.Read(file);
        Assert.Equal(fromMemory.HeaderEnd, fromStream.HeaderEnd);
        Assert.Equal(fromMemory.Metadata.Count, fromStream.Metadata.Count);
        Assert.Equal(new string('v', 90), fromStream.Metadata["key.1999"].GetString());
    }

    private static T RunWithTimeout<T>(Func<T> func)
    {
        var task = Task.Factory.StartNew(func, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(task.Wait(TimeSpan.FromSeconds(20)), "the reader hung");
        return task.Result;
    }

    /// <summary>A read-only seekable stream over bytes that reports any Length and returns at most maxRead bytes per read.</summary>
    private sealed class LyingLengthStream(byte[] data, long claimedLength, int maxRead = int.MaxValue) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => claimedLength;

        public override long Position
        {
            get => _position;
            set => _position = value;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= data.Length)
            {
                return 0;
            }

            int n = (int)Math.Min(Math.Min(count, maxRead), data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => _position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => claimedLength + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
