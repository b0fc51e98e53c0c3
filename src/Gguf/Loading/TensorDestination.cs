namespace Gguf.Loading;

/// <summary>
/// The base of every destination: dispose-once, the argument and fit checks of <see cref="Allocate"/> and
/// <see cref="AllocateStaging"/>, and the count of live allocations, so that an implementation only does its
/// memory work (<see cref="AllocateCore"/>, <see cref="AllocateStagingCore"/>).
/// </summary>
/// <remarks>
/// <para>
/// The contract of <see cref="Dispose()"/>: disposing a destination ends its use. <see cref="Allocate"/>,
/// <see cref="AllocateStaging"/> and every call on a buffer or staging buffer it made then throw
/// <see cref="ObjectDisposedException"/>, except their own <c>Dispose</c>. The memory itself belongs to the
/// buffers, each held by a <see cref="System.Runtime.InteropServices.SafeHandle"/>: a block is freed when its
/// buffer is disposed (by its owner: a <see cref="LoadedModel"/>, the loader), never under a copy, a span or a
/// pre-fault still using it on another thread. Dispose the models loaded into a destination before or after
/// the destination, in either order.
/// </para>
/// <para>Thread-safe: allocations and disposals may run on any threads at once.</para>
/// </remarks>
public abstract class TensorDestination : ITensorDestination
{
    private long _allocatedBytes;
    private int _liveBuffers;
    private int _liveStaging;
    private int _disposed;

    /// <inheritdoc />
    public abstract string DeviceName { get; }

    /// <inheritdoc />
    public abstract bool IsHostMemory { get; }

    /// <inheritdoc />
    public abstract DeviceMemoryKind ExpectedMemoryKind { get; }

    /// <inheritdoc />
    public abstract long TotalBytes { get; }

    /// <inheritdoc />
    public abstract long AvailableBytes { get; }

    /// <inheritdoc />
    public virtual int Alignment => 256;

    /// <summary>Bytes held by live blocks of this destination (staging buffers excluded).</summary>
    public long AllocatedBytes => Interlocked.Read(ref _allocatedBytes);

    /// <summary>Blocks allocated and not yet disposed.</summary>
    public int LiveBuffers => Volatile.Read(ref _liveBuffers);

    /// <summary>Staging buffers allocated and not yet disposed.</summary>
    public int LiveStagingBuffers => Volatile.Read(ref _liveStaging);

    /// <summary>Whether <see cref="Dispose()"/> was called.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The destination was disposed.</exception>
    public IDeviceBuffer Allocate(long length)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long available = AvailableBytes;
        if (length > available)
        {
            throw new InsufficientDeviceMemoryException(length, available, DeviceName);
        }

        DeviceBuffer buffer = AllocateCore(length);
        if (buffer.Destination != this || buffer.Length != length)
        {
            buffer.Dispose();
            throw new InvalidOperationException($"{GetType().Name}.AllocateCore returned a buffer of another destination or length");
        }

        Interlocked.Add(ref _allocatedBytes, length);
        Interlocked.Increment(ref _liveBuffers);
        return buffer;
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The destination was disposed.</exception>
    public IStagingBuffer AllocateStaging(int length)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        StagingBuffer staging = AllocateStagingCore(length);
        if (staging.Destination != this || staging.Length != length)
        {
            staging.Dispose();
            throw new InvalidOperationException($"{GetType().Name}.AllocateStagingCore returned a staging buffer of another destination or length");
        }

        Interlocked.Increment(ref _liveStaging);
        return staging;
    }

    /// <summary>Ends the use of the destination (see the remarks of the class); only the first call does anything.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Allocates a block of exactly <paramref name="length"/> bytes (arguments and fit already checked).</summary>
    /// <exception cref="InsufficientDeviceMemoryException">The device cannot hold the block after all.</exception>
    protected abstract DeviceBuffer AllocateCore(long length);

    /// <summary>Allocates a staging buffer of exactly <paramref name="length"/> bytes (positive, checked).</summary>
    protected abstract StagingBuffer AllocateStagingCore(int length);

    /// <summary>Releases what the destination itself holds; called once, by the first <see cref="Dispose()"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the destination was disposed.</summary>
    protected void ThrowIfDisposed()
    {
        if (IsDisposed)
        {
            throw new ObjectDisposedException(GetType().Name, $"the destination '{DeviceName}' was disposed");
        }
    }

    internal void OnBufferFreed(long length)
    {
        Interlocked.Add(ref _allocatedBytes, -length);
        Interlocked.Decrement(ref _liveBuffers);
    }

    internal void OnStagingFreed() => Interlocked.Decrement(ref _liveStaging);
}

/// <summary>
/// The base of every device buffer: dispose-once (thread-safe), and the checks every call makes before the
/// implementation's memory work: the buffer and its destination alive, ranges inside the block (overflow-safe),
/// staging buffers of the same destination.
/// </summary>
public abstract class DeviceBuffer : IDeviceBuffer
{
    private int _disposed;

    /// <summary>Creates the buffer of a block of <paramref name="length"/> bytes of <paramref name="destination"/>.</summary>
    protected DeviceBuffer(TensorDestination destination, long length)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Destination = destination;
        Length = length;
    }

    /// <summary>The destination that allocated the block.</summary>
    public TensorDestination Destination { get; }

    /// <inheritdoc />
    public long Length { get; }

    /// <summary>Whether <see cref="Dispose()"/> was called.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The buffer or its destination was disposed.</exception>
    public void CopyFromHost(long offset, ReadOnlySpan<byte> source)
    {
        CheckRange(offset, source.Length);
        CopyFromHostCore(offset, source);
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The buffer, the staging buffer or the destination was disposed.</exception>
    /// <exception cref="ArgumentException">The staging buffer belongs to another destination.</exception>
    public void EnqueueCopyFromHost(long offset, IStagingBuffer source, int length)
    {
        ArgumentNullException.ThrowIfNull(source);
        ThrowIfDisposed();
        if (source is not StagingBuffer staging || staging.Destination != Destination)
        {
            throw new ArgumentException("the staging buffer was not allocated by this buffer's destination", nameof(source));
        }

        staging.ThrowIfDisposed();
        if ((uint)length > (uint)staging.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"the staging buffer holds {staging.Length} bytes");
        }

        CheckRange(offset, length);
        EnqueueCopyFromHostCore(offset, staging, length);
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The buffer or its destination was disposed.</exception>
    public void Synchronize()
    {
        ThrowIfDisposed();
        SynchronizeCore();
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The buffer or its destination was disposed.</exception>
    public void CopyToHost(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        CopyToHostCore(offset, destination);
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The buffer or its destination was disposed.</exception>
    public bool TryGetHostSpan(long offset, int length, out Span<byte> span)
    {
        CheckRange(offset, length);
        return TryGetHostSpanCore(offset, length, out span);
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The buffer or its destination was disposed.</exception>
    public DeviceMemoryKind QueryMemoryKind()
    {
        ThrowIfDisposed();
        return QueryMemoryKindCore();
    }

    /// <summary>Frees the block (after pending copies finish); only the first call, from any thread, does anything.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            Dispose(disposing: true);
        }
        finally
        {
            Destination.OnBufferFreed(Length);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Copies host bytes in (range checked, buffer alive).</summary>
    protected abstract void CopyFromHostCore(long offset, ReadOnlySpan<byte> source);

    /// <summary>Enqueues a copy from a staging buffer of the same destination (range and length checked).</summary>
    protected abstract void EnqueueCopyFromHostCore(long offset, StagingBuffer source, int length);

    /// <summary>Waits for the copies enqueued to this buffer.</summary>
    protected abstract void SynchronizeCore();

    /// <summary>Copies bytes back to the host (range checked, buffer alive).</summary>
    protected abstract void CopyToHostCore(long offset, Span<byte> destination);

    /// <summary>A span over host memory, or false for device memory (the default).</summary>
    protected virtual bool TryGetHostSpanCore(long offset, int length, out Span<byte> span)
    {
        span = default;
        return false;
    }

    /// <summary>What kind of memory the block is.</summary>
    protected abstract DeviceMemoryKind QueryMemoryKindCore();

    /// <summary>Frees the block; called once, by the first <see cref="Dispose()"/>.</summary>
    protected abstract void Dispose(bool disposing);

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the buffer or its destination was disposed.</summary>
    protected void ThrowIfDisposed()
    {
        if (IsDisposed)
        {
            throw new ObjectDisposedException(GetType().Name, $"the {Length}-byte buffer on {Destination.DeviceName} was disposed");
        }

        if (Destination.IsDisposed)
        {
            throw new ObjectDisposedException(GetType().Name, $"the destination '{Destination.DeviceName}' of this buffer was disposed");
        }
    }

    private void CheckRange(long offset, int length)
    {
        ThrowIfDisposed();

        // Length >= 0 and length >= 0, so Length - length cannot overflow.
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Length}-byte block on {Destination.DeviceName}");
        }
    }
}

/// <summary>
/// The base of every staging buffer: dispose-once (thread-safe), and <see cref="ObjectDisposedException"/> for
/// every call once the buffer or its destination was disposed.
/// </summary>
/// <remarks>
/// A <see cref="Span"/> taken before <see cref="Dispose()"/> must not be used after it: the buffer's owner (the
/// loader) disposes it only when it no longer writes it.
/// </remarks>
public abstract class StagingBuffer : IStagingBuffer
{
    private int _disposed;

    /// <summary>Creates the staging buffer of <paramref name="length"/> bytes of <paramref name="destination"/>.</summary>
    protected StagingBuffer(TensorDestination destination, int length)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        Destination = destination;
        Length = length;
    }

    /// <summary>The destination that allocated the buffer.</summary>
    public TensorDestination Destination { get; }

    /// <inheritdoc />
    public int Length { get; }

    /// <summary>Whether <see cref="Dispose()"/> was called.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The buffer or its destination was disposed.</exception>
    public Span<byte> Span
    {
        get
        {
            ThrowIfDisposed();
            return GetSpanCore();
        }
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The buffer or its destination was disposed.</exception>
    public void WaitForCopies()
    {
        ThrowIfDisposed();
        WaitForCopiesCore();
    }

    /// <summary>Frees the buffer (after the copies reading it finish); only the first call, from any thread, does anything.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            Dispose(disposing: true);
        }
        finally
        {
            Destination.OnStagingFreed();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the buffer or its destination was disposed.</summary>
    protected internal void ThrowIfDisposed()
    {
        if (IsDisposed)
        {
            throw new ObjectDisposedException(GetType().Name, $"the {Length}-byte staging buffer of {Destination.DeviceName} was disposed");
        }

        if (Destination.IsDisposed)
        {
            throw new ObjectDisposedException(GetType().Name, $"the destination '{Destination.DeviceName}' of this staging buffer was disposed");
        }
    }

    /// <summary>The whole buffer's bytes (buffer alive).</summary>
    protected abstract Span<byte> GetSpanCore();

    /// <summary>Waits for the copies reading this buffer; nothing to wait for by default (copies that complete at once).</summary>
    protected virtual void WaitForCopiesCore()
    {
    }

    /// <summary>Frees the buffer; called once, by the first <see cref="Dispose()"/>.</summary>
    protected abstract void Dispose(bool disposing);
}
