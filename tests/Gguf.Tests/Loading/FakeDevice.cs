using Gguf.Loading;

namespace Gguf.Tests.Loading;

/// <summary>
/// A destination that behaves like a GPU: not host memory, so every byte goes through staging buffers, and
/// (optionally) enqueued copies that only run when the staging buffer is waited for, as an asynchronous DMA
/// would. A loader that rewrites a staging buffer before waiting for it produces wrong bytes here. It counts
/// live allocations, can corrupt a byte, can refuse memory, and can keep nothing (for huge tensors).
/// </summary>
public sealed class FakeDevice : ITensorDestination
{
    private readonly object _gate = new();
    private readonly List<Staging> _stagings = [];
    private int _liveBuffers;
    private int _liveStaging;
    private long _allocated;

    public FakeDevice(long capacity = 1L << 40)
    {
        Capacity = capacity;
    }

    public long Capacity { get; }

    /// <summary>Run enqueued copies only when the staging buffer is waited for (or the buffer synchronized).</summary>
    public bool DeferCopies { get; init; } = true;

    /// <summary>Keep the bytes (false: only count and inspect them).</summary>
    public bool Store { get; init; } = true;

    /// <summary>Flip the byte that lands at this device offset.</summary>
    public long? CorruptOffset { get; init; }

    /// <summary>Throw from <see cref="Allocate"/> as a driver out of memory would, though the fit check passed.</summary>
    public bool FailAllocation { get; init; }

    /// <summary>Called with every copy as it lands: device offset and bytes.</summary>
    public Action<long, ReadOnlyMemory<byte>>? OnCopy { get; init; }

    public int LiveBuffers => Volatile.Read(ref _liveBuffers);

    public int LiveStaging => Volatile.Read(ref _liveStaging);

    public int AllocateCalls { get; private set; }

    public long LastAllocationLength { get; private set; }

    public int MaxCopyLength { get; private set; }

    public long BytesCopied => Interlocked.Read(ref _copied);

    private long _copied;

    public string DeviceName => "fake-gpu:0";

    public bool IsHostMemory => false;

    public DeviceMemoryKind ExpectedMemoryKind => DeviceMemoryKind.Device;

    public long TotalBytes => Capacity;

    public long AvailableBytes => Capacity - Interlocked.Read(ref _allocated);

    public int Alignment => 256;

    public IDeviceBuffer Allocate(long length)
    {
        AllocateCalls++;
        LastAllocationLength = length;
        if (FailAllocation || length > AvailableBytes)
        {
            throw new InsufficientDeviceMemoryException(length, AvailableBytes, DeviceName);
        }

        Interlocked.Add(ref _allocated, length);
        Interlocked.Increment(ref _liveBuffers);
        return new Buffer(this, length);
    }

    public IStagingBuffer AllocateStaging(int length)
    {
        var staging = new Staging(this, length);
        lock (_gate)
        {
            _stagings.Add(staging);
        }

        Interlocked.Increment(ref _liveStaging);
        return staging;
    }

    private void RunAllPending()
    {
        Staging[] all;
        lock (_gate)
        {
            all = [.. _stagings];
        }

        foreach (Staging s in all)
        {
            s.WaitForCopies();
        }
    }

    private sealed class Staging(FakeDevice owner, int length) : IStagingBuffer
    {
        private readonly byte[] _data = new byte[length];
        private readonly List<Action> _pending = [];
        private bool _disposed;

        public int Length => length;

        public Span<byte> Span => _disposed ? throw new ObjectDisposedException(nameof(Staging)) : _data;

        public byte[] Data => _data;

        public void Enqueue(Action copy)
        {
            lock (_pending)
            {
                _pending.Add(copy);
            }
        }

        public void WaitForCopies()
        {
            Action[] pending;
            lock (_pending)
            {
                pending = [.. _pending];
                _pending.Clear();
            }

            foreach (Action copy in pending)
            {
                copy();
            }
        }

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            lock (_pending)
            {
                if (_pending.Count > 0)
                {
                    throw new InvalidOperationException("a staging buffer was freed with copies pending");
                }
            }

            _disposed = true;
            lock (owner._gate)
            {
                owner._stagings.Remove(this);
            }

            Interlocked.Decrement(ref owner._liveStaging);
        }
    }

    private sealed class Buffer(FakeDevice owner, long length) : IDeviceBuffer
    {
        private readonly byte[]? _memory = owner.Store ? new byte[length] : null;
        private bool _disposed;

        public long Length => length;

        public void CopyFromHost(long offset, ReadOnlySpan<byte> source) => Land(offset, source.ToArray());

        public void EnqueueCopyFromHost(long offset, IStagingBuffer source, int count)
        {
            CheckAlive();
            var staging = (Staging)source;
            if (offset < 0 || offset + count > length)
            {
                throw new ArgumentOutOfRangeException(nameof(offset));
            }

            lock (owner._gate)
            {
                owner.MaxCopyLength = Math.Max(owner.MaxCopyLength, count);
            }

            if (owner.DeferCopies)
            {
                // The bytes are taken when the copy runs, not now: as a DMA engine would.
                staging.Enqueue(() => Land(offset, staging.Data.AsMemory(0, count)));
            }
            else
            {
                Land(offset, staging.Data.AsMemory(0, count));
            }
        }

        public void Synchronize()
        {
            CheckAlive();
            owner.RunAllPending();
        }

        public void CopyToHost(long offset, Span<byte> destination)
        {
            CheckAlive();
            _memory.AsSpan(checked((int)offset), destination.Length).CopyTo(destination);
        }

        public bool TryGetHostSpan(long offset, int count, out Span<byte> span)
        {
            span = default;
            return false;
        }

        public DeviceMemoryKind QueryMemoryKind() => DeviceMemoryKind.Device;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                Interlocked.Add(ref owner._allocated, -length);
                Interlocked.Decrement(ref owner._liveBuffers);
            }
        }

        private void Land(long offset, ReadOnlyMemory<byte> bytes)
        {
            CheckAlive();
            Interlocked.Add(ref owner._copied, bytes.Length);
            owner.OnCopy?.Invoke(offset, bytes);
            if (_memory is not null)
            {
                bytes.Span.CopyTo(_memory.AsSpan(checked((int)offset)));
                if (owner.CorruptOffset is long bad && bad >= offset && bad < offset + bytes.Length)
                {
                    _memory[bad] ^= 0xFF;
                }
            }
        }

        private void CheckAlive() => ObjectDisposedException.ThrowIf(_disposed, this);
    }
}

/// <summary>An <see cref="IProgress{T}"/> that records synchronously, in order.</summary>
public sealed class RecordingProgress(Action<LoadProgress>? onReport = null) : IProgress<LoadProgress>
{
    private readonly List<LoadProgress> _reports = [];

    public IReadOnlyList<LoadProgress> Reports
    {
        get
        {
            lock (_reports)
            {
                return [.. _reports];
            }
        }
    }

    public void Report(LoadProgress value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }

        onReport?.Invoke(value);
    }
}
