using Gguf.Loading;
using ILGPU;
using ILGPU.Runtime;
using Microsoft.Extensions.Logging;

namespace Gguf.Gpu;

/// <summary>One block of device memory.</summary>
internal sealed partial class GpuDeviceBuffer : IDeviceBuffer
{
    private readonly GpuDestination _owner;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _memory;

    public GpuDeviceBuffer(GpuDestination owner, MemoryBuffer1D<byte, Stride1D.Dense> memory, long length)
    {
        _owner = owner;
        _memory = memory;
        Length = length;
    }

    public long Length { get; }

    /// <summary>The device address of the block.</summary>
    public IntPtr DevicePointer => Memory.NativePtr;

    private MemoryBuffer1D<byte, Stride1D.Dense> Memory => _memory ?? throw new ObjectDisposedException(nameof(GpuDeviceBuffer));

    public void CopyFromHost(long offset, ReadOnlySpan<byte> source)
    {
        CheckRange(offset, source.Length);
        if (source.IsEmpty)
        {
            return;
        }

        AcceleratorStream stream = _owner.Accelerator.DefaultStream;
        Memory.View.SubView(offset, source.Length).CopyFromCPU(stream, source);
        stream.Synchronize();
    }

    public void EnqueueCopyFromHost(long offset, IStagingBuffer source, int length)
    {
        if (source is not GpuStagingBuffer staging || staging.Owner != _owner)
        {
            throw new ArgumentException("the staging buffer was not allocated by this destination", nameof(source));
        }

        if ((uint)length > (uint)staging.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"the staging buffer holds {staging.Length} bytes");
        }

        CheckRange(offset, length);
        if (length == 0)
        {
            return;
        }

        // Asynchronous on the staging buffer's own stream: the buffer is page-locked, so the driver DMAs from it
        // directly and returns at once; WaitForCopies on the staging buffer waits for this copy.
        Memory.View.SubView(offset, length).CopyFrom(staging.Stream, staging.View.SubView(0, length));
    }

    public void Synchronize()
    {
        _ = Memory;
        _owner.Accelerator.Synchronize();
    }

    public void CopyToHost(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        if (destination.IsEmpty)
        {
            return;
        }

        // Copies enqueued on other streams are not ordered with the default stream: let them land first.
        _owner.Accelerator.Synchronize();
        AcceleratorStream stream = _owner.Accelerator.DefaultStream;
        Memory.View.SubView(offset, destination.Length).CopyToCPU(stream, destination);
        stream.Synchronize();
    }

    public bool TryGetHostSpan(long offset, int length, out Span<byte> span)
    {
        span = default;
        return false;
    }

    public DeviceMemoryKind QueryMemoryKind() =>
        _owner.IsCuda ? CudaDriver.QueryMemoryKind(_owner.Accelerator, Memory.NativePtr) : DeviceMemoryKind.Host;

    public void Dispose()
    {
        MemoryBuffer1D<byte, Stride1D.Dense>? memory = Interlocked.Exchange(ref _memory, null);
        if (memory is null)
        {
            return;
        }

        // Copies still reading staging buffers or writing this block must finish before it is freed.
        _owner.Accelerator.Synchronize();
        memory.Dispose();
        _owner.OnFreed(Length);
        LogFreed(_owner.Logger, Length, _owner.DeviceName);
    }

    private void CheckRange(long offset, int length)
    {
        _ = Memory;
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Length}-byte block on {_owner.DeviceName}");
        }
    }

    [LoggerMessage(EventId = 303, Level = LogLevel.Debug, Message = "Freed {Length} bytes on {Device}")]
    private static partial void LogFreed(ILogger logger, long length, string device);
}

/// <summary>A page-locked host buffer with its own stream: copies from it are enqueued on that stream.</summary>
internal sealed class GpuStagingBuffer : IStagingBuffer
{
    private PageLockedArray1D<byte>? _array;
    private AcceleratorStream? _stream;

    public GpuStagingBuffer(GpuDestination owner, int length)
    {
        Owner = owner;
        Length = length;
        _array = owner.Accelerator.AllocatePageLocked1D<byte>(length, true);
        try
        {
            _stream = owner.Accelerator.CreateStream();
        }
        catch
        {
            _array.Dispose();
            throw;
        }
    }

    public GpuDestination Owner { get; }

    public int Length { get; }

    public Span<byte> Span => Array.Span;

    public AcceleratorStream Stream => _stream ?? throw new ObjectDisposedException(nameof(GpuStagingBuffer));

    public ArrayView<byte> View => Array.ArrayView;

    private PageLockedArray1D<byte> Array => _array ?? throw new ObjectDisposedException(nameof(GpuStagingBuffer));

    public void WaitForCopies() => Stream.Synchronize();

    public void Dispose()
    {
        AcceleratorStream? stream = Interlocked.Exchange(ref _stream, null);
        if (stream is null)
        {
            return;
        }

        // The page-locked memory must outlive every copy that reads it.
        stream.Synchronize();
        stream.Dispose();
        _array?.Dispose();
        _array = null;
        Owner.OnStagingFreed();
    }
}
