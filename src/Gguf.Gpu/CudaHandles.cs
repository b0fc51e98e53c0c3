using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Gguf.Gpu;

/// <summary>
/// A retained primary context (<c>cuDevicePrimaryCtxRetain</c>), released when the destination and every
/// resource made in it are gone: each <see cref="CudaResourceHandle"/> holds a reference on it.
/// </summary>
internal sealed class CudaContextHandle : SafeHandle
{
    public CudaContextHandle(int device, IntPtr context)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        Device = device;
        SetHandle(context);
    }

    public int Device { get; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Makes the context current on this thread (the driver keeps one per thread); the caller holds a reference.</summary>
    public int MakeCurrent() => CudaInterop.cuCtxSetCurrent(handle);

    protected override bool ReleaseHandle() => CudaInterop.cuDevicePrimaryCtxRelease_v2(Device) == CudaInterop.CUDA_SUCCESS;
}

/// <summary>
/// A driver resource made in a context (device memory, page-locked memory, a stream). It holds a reference on the
/// context for its whole life and makes the context current to free itself, so it may be freed on any thread
/// (the finalizer's included) and after the destination was disposed. Like every SafeHandle here, callers hold a
/// reference (<see cref="HandleLease"/>) while the driver uses the resource, so a Dispose never frees it under them.
/// </summary>
internal abstract class CudaResourceHandle : SafeHandle
{
    private readonly CudaContextHandle _context;

    /// <summary>Wraps a resource made in <paramref name="context"/>; the caller holds a reference on the context, so this one cannot fail.</summary>
    protected CudaResourceHandle(CudaContextHandle context, IntPtr value, long length, ILogger logger)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        bool added = false;
        context.DangerousAddRef(ref added);
        _context = context;
        Length = length;
        Logger = logger;
        SetHandle(value);
    }

    public long Length { get; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected ILogger Logger { get; }

    protected sealed override bool ReleaseHandle()
    {
        try
        {
            return _context.MakeCurrent() == CudaInterop.CUDA_SUCCESS && Free();
        }
        finally
        {
            _context.DangerousRelease();
        }
    }

    /// <summary>Frees the resource; its context is current.</summary>
    protected abstract bool Free();
}

/// <summary>A block of device memory (<c>cuMemAlloc_v2</c>), freed with <c>cuMemFree_v2</c> after the device finished with it.</summary>
internal sealed partial class CudaDeviceMemoryHandle(CudaContextHandle context, ulong pointer, long length, ILogger logger)
    : CudaResourceHandle(context, new IntPtr(unchecked((long)pointer)), length, logger)
{
    public ulong Pointer => unchecked((ulong)handle.ToInt64());

    protected override bool Free()
    {
        ulong pointer = Pointer;

        // Copies still in flight (on any stream) write this block: they finish before it is freed.
        _ = CudaInterop.cuCtxSynchronize();
        bool freed = CudaInterop.cuMemFree_v2(pointer) == CudaInterop.CUDA_SUCCESS;
        LogFreed(Logger, Length, pointer);
        return freed;
    }

    [LoggerMessage(EventId = 312, Level = LogLevel.Debug, Message = "CUDA: freed {Length} bytes of device memory at 0x{Address:X}")]
    private static partial void LogFreed(ILogger logger, long length, ulong address);
}

/// <summary>Page-locked host memory (<c>cuMemHostAlloc</c>), freed with <c>cuMemFreeHost</c>.</summary>
internal sealed unsafe partial class CudaPinnedMemoryHandle(CudaContextHandle context, IntPtr pointer, long length, ILogger logger)
    : CudaResourceHandle(context, pointer, length, logger)
{
    public IntPtr Pointer => handle;

    /// <summary>A span over a range already checked against <see cref="CudaResourceHandle.Length"/>; valid while the handle is.</summary>
    public Span<byte> GetSpan(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);

        // In range (checked by the caller) of the live allocation.
        return new Span<byte>((byte*)handle + offset, length);
    }

    protected override bool Free()
    {
        long address = handle;
        bool freed = CudaInterop.cuMemFreeHost(handle) == CudaInterop.CUDA_SUCCESS;
        LogFreed(Logger, Length, address);
        return freed;
    }

    [LoggerMessage(EventId = 314, Level = LogLevel.Debug, Message = "CUDA: freed {Length} bytes of page-locked host memory at 0x{Address:X}")]
    private static partial void LogFreed(ILogger logger, long length, long address);
}

/// <summary>A non-blocking stream (<c>cuStreamCreate</c>), synchronized and destroyed on release.</summary>
internal sealed class CudaStreamHandle(CudaContextHandle context, IntPtr stream, ILogger logger)
    : CudaResourceHandle(context, stream, 0, logger)
{
    public IntPtr Stream => handle;

    protected override bool Free()
    {
        // The page-locked memory its copies read is freed after this returns.
        _ = CudaInterop.cuStreamSynchronize(handle);
        return CudaInterop.cuStreamDestroy_v2(handle) == CudaInterop.CUDA_SUCCESS;
    }
}

/// <summary>A reference on a SafeHandle for the length of a driver call: a concurrent Dispose frees nothing under it.</summary>
internal readonly ref struct HandleLease
{
    private readonly SafeHandle _handle;

    /// <exception cref="ObjectDisposedException">The handle was released.</exception>
    public HandleLease(SafeHandle handle)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        _handle = handle;
    }

    public void Dispose() => _handle.DangerousRelease();
}
