using Gguf.Loading;

namespace Gguf.Tests.Loading;

/// <summary>
/// A destination that behaves like a GPU: not host memory, so every byte goes through staging buffers, and
/// (optionally) enqueued copies that only run when the staging buffer is waited for, as an asynchronous DMA
/// would. A loader that rewrites a staging buffer before waiting for it produces wrong bytes here. It counts
/// live allocations (through its <see cref="TensorDestination"/> base), can corrupt a byte, can refuse memory,
/// and can keep nothing (for huge tensors).
/// </summary>
public sealed class FakeDevice(long capacity = 1L << 40) : TensorDestination
{
    private readonly object _gate = new();
    private readonly List<Staging> _stagings = [];
    private long _copied;

    public long Capacity { get; } = capacity;

    /// <summary>Run enqueued copies only when the staging buffer is waited for (or the buffer synchronized).</summary>
    public bool DeferCopies { get; init; } = true;

    /// <summary>Keep the bytes (false: only count and inspect them).</summary>
    public bool Store { get; init; } = true;

    /// <summary>Flip the byte that lands at this device offset.</summary>
    public long? CorruptOffset { get; init; }

    /// <summary>Throw from <see cref="AllocateCore"/> as a driver out of memory would, though the fit check passed.</summary>
    public bool FailAllocation { get; init; }

    /// <summary>Called with every copy as it lands: device offset and bytes.</summary>
    public Action<long, ReadOnlyMemory<byte>>? OnCopy { get; init; }

    public int LiveStaging => LiveStagingBuffers;

    public int AllocateCalls { get; private set; }

    public long LastAllocationLength { get; private set; }

    public int MaxCopyLength { get; private set; }

    public long BytesCopied => Interlocked.Read(ref _copied);

    public override string DeviceName => "fake-gpu:0";

    public override bool IsHostMemory => false;

    public override DeviceMemoryKind ExpectedMemoryKind => DeviceMemoryKind.Device;

    public override long TotalBytes => Capacity;

    public override long AvailableBytes => Capacity - AllocatedBytes;

    protected override DeviceBuffer AllocateCore(long length)
    {
        AllocateCalls++;
        LastAllocationLength = length;
        if (FailAllocation)
        {
            throw new InsufficientDeviceMemoryException(length, AvailableBytes, DeviceName);
        }

        return new Buffer(this, length);
    }

    protected override StagingBuffer AllocateStagingCore(int length)
    {
        var staging = new Staging(this, length);
        lock (_gate)
        {
            _stagings.Add(staging);
        }

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
            s.RunPending();
        }
    }

    private sealed class Staging(FakeDevice owner, int length) : StagingBuffer(owner, length)
    {
        private readonly byte[] _data = new byte[length];
        private readonly List<Action> _pending = [];

        public byte[] Data => _data;

        public void Enqueue(Action copy)
        {
            lock (_pending)
            {
                _pending.Add(copy);
            }
        }

        public void RunPending()
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

        protected override Span<byte> GetSpanCore() => _data;

        protected override void WaitForCopiesCore() => RunPending();

        protected override void Dispose(bool disposing)
        {
            lock (_pending)
            {
                if (_pending.Count > 0)
                {
                    throw new InvalidOperationException("a staging buffer was freed with copies pending");
                }
            }

            lock (owner._gate)
            {
                owner._stagings.Remove(this);
            }
        }
    }

    private sealed class Buffer(FakeDevice owner, long length) : DeviceBuffer(owner, length)
    {
        private readonly byte[]? _memory = owner.Store ? new byte[length] : null;

        protected override void CopyFromHostCore(long offset, ReadOnlySpan<byte> source) => Land(offset, source.ToArray());

        protected override void EnqueueCopyFromHostCore(long offset, StagingBuffer source, int count)
        {
            var staging = (Staging)source;
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

        protected override void SynchronizeCore() => owner.RunAllPending();

        protected override void CopyToHostCore(long offset, Span<byte> destination) =>
            _memory.AsSpan(checked((int)offset), destination.Length).CopyTo(destination);

        protected override DeviceMemoryKind QueryMemoryKindCore() => DeviceMemoryKind.Device;

        protected override void Dispose(bool disposing)
        {
        }

        private void Land(long offset, ReadOnlyMemory<byte> bytes)
        {
            ThrowIfDisposed();
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
