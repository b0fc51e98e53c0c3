using System.Diagnostics;
using System.Text;
using Gguf.Loading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gguf.Gpu;

/// <summary>Options of <see cref="CudaDestination"/>.</summary>
public sealed record CudaDestinationOptions
{
    /// <summary>The default options.</summary>
    public static CudaDestinationOptions Default { get; } = new();

    /// <summary>
    /// The most device memory the loader may take (for example to leave room for a KV cache); null means all
    /// the free memory the driver reports.
    /// </summary>
    public long? MemoryLimitBytes { get; init; }
}

/// <summary>
/// Device memory of a CUDA GPU through the driver API: blocks from <c>cuMemAlloc</c>, page-locked staging buffers
/// (<c>cuMemHostAlloc</c>) with one non-blocking stream each, so the loader's copies
/// (<c>cuMemcpyHtoDAsync</c>) run while it reads on. Every driver resource is owned by a SafeHandle that holds the
/// device's primary context; a failed driver call is a <see cref="CudaException"/> with the driver's code.
/// Dispose it after use; see <see cref="TensorDestination"/> for what that does to blocks still alive.
/// </summary>
public sealed unsafe partial class CudaDestination : TensorDestination
{
    private readonly CudaContextHandle _context;
    private readonly long? _limit;
    private readonly ILogger _logger;

    private CudaDestination(CudaContextHandle context, int ordinal, string name, long total, long? limit, ILogger logger)
    {
        _context = context;
        DeviceOrdinal = ordinal;
        DeviceName = name;
        TotalBytes = total;
        _limit = limit;
        _logger = logger;
    }

    /// <summary>The CUDA device ordinal (<c>cuda:N</c>).</summary>
    public int DeviceOrdinal { get; }

    /// <inheritdoc />
    public override string DeviceName { get; }

    /// <inheritdoc />
    public override bool IsHostMemory => false;

    /// <inheritdoc />
    public override DeviceMemoryKind ExpectedMemoryKind => DeviceMemoryKind.Device;

    /// <inheritdoc />
    public override long TotalBytes { get; }

    /// <summary>Free device memory as the driver reports it now (<c>cuMemGetInfo</c>).</summary>
    /// <exception cref="ObjectDisposedException">The destination was disposed.</exception>
    public long FreeBytes
    {
        get
        {
            ThrowIfDisposed();
            using var lease = new HandleLease(_context);
            nuint free;
            nuint total;
            Check(_context.MakeCurrent(), "cuCtxSetCurrent");
            Check(CudaInterop.cuMemGetInfo_v2(&free, &total), "cuMemGetInfo_v2");
            return (long)free;
        }
    }

    /// <inheritdoc />
    public override long AvailableBytes => _limit is long limit ? Math.Min(FreeBytes, Math.Max(0, limit - AllocatedBytes)) : FreeBytes;

    /// <summary>Whether a CUDA GPU is usable here; <paramref name="reason"/> says how many, or why not.</summary>
    public static bool IsAvailable(out string reason)
    {
        try
        {
            int result = CudaInterop.cuInit(0);
            if (result != CudaInterop.CUDA_SUCCESS)
            {
                reason = $"CUDA cannot be initialised: cuInit returned {CudaInterop.ErrorName(result) ?? "an error"} ({result})";
                return false;
            }

            int count = 0;
            result = CudaInterop.cuDeviceGetCount(&count);
            if (result != CudaInterop.CUDA_SUCCESS || count == 0)
            {
                reason = "no CUDA device found (no GPU visible to this process)";
                return false;
            }

            reason = $"{count} CUDA device(s)";
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            reason = NoDriver;
            return false;
        }
    }

    /// <summary>Opens CUDA device <paramref name="deviceOrdinal"/> through its primary context.</summary>
    /// <exception cref="GpuUnavailableException">No driver, no such device, or its context cannot be created; the inner exception is the driver's <see cref="CudaException"/> where there is one.</exception>
    public static CudaDestination Open(int deviceOrdinal = 0, CudaDestinationOptions? options = null, ILogger? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(deviceOrdinal);
        options ??= CudaDestinationOptions.Default;
        if (options.MemoryLimitBytes is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MemoryLimitBytes, "the memory limit must not be negative");
        }

        logger ??= NullLogger.Instance;
        string where = $"cuda:{deviceOrdinal}";
        try
        {
            Unavailable(CudaInterop.cuInit(0), "cuInit", where);
            int count = 0;
            Unavailable(CudaInterop.cuDeviceGetCount(&count), "cuDeviceGetCount", where);
            if (deviceOrdinal >= count)
            {
                throw new GpuUnavailableException(count == 0
                    ? "no CUDA device found (no GPU visible to this process)"
                    : $"CUDA device {deviceOrdinal} does not exist; this machine has {count} (cuda:0 to cuda:{count - 1})");
            }

            int device = 0;
            Unavailable(CudaInterop.cuDeviceGet(&device, deviceOrdinal), "cuDeviceGet", where);
            byte* name = stackalloc byte[256];
            Unavailable(CudaInterop.cuDeviceGetName(name, 256, device), "cuDeviceGetName", where);
            nuint total = 0;
            Unavailable(CudaInterop.cuDeviceTotalMem_v2(&total, device), "cuDeviceTotalMem_v2", where);
            IntPtr context = IntPtr.Zero;
            Unavailable(CudaInterop.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain", where);
            int nameLength = new ReadOnlySpan<byte>(name, 256).IndexOf((byte)0);
            string text = Encoding.UTF8.GetString(name, nameLength < 0 ? 256 : nameLength);
            var destination = new CudaDestination(new CudaContextHandle(device, context), deviceOrdinal, $"{text} ({where})", (long)total, options.MemoryLimitBytes, logger);
            try
            {
                LogOpened(logger, destination.DeviceName, destination.TotalBytes, destination.FreeBytes);
                return destination;
            }
            catch
            {
                destination.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new GpuUnavailableException(NoDriver, e);
        }
    }

    /// <summary>
    /// The median bandwidth, in GB/s (10^9 bytes per second), of <paramref name="runs"/> copies of
    /// <paramref name="bytes"/> bytes from one page-locked host buffer to device memory, after one warm-up copy:
    /// the baseline of the GPU load benchmark.
    /// </summary>
    internal double MeasurePinnedCopy(long bytes = 256L << 20, int runs = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1L);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        using var block = (CudaBuffer)Allocate(bytes);
        using CudaPinnedMemoryHandle host = AllocatePinned(bytes);
        using var blockLease = new HandleLease(block.Memory);
        using var hostLease = new HandleLease(host);
        Check(_context.MakeCurrent(), "cuCtxSetCurrent");
        host.GetSpan(0, (int)Math.Min(bytes, int.MaxValue)).Fill(1);
        var seconds = new double[runs];
        for (int run = -1; run < runs; run++)
        {
            long start = Stopwatch.GetTimestamp();
            Check(CudaInterop.cuMemcpyHtoD_v2(block.Memory.Pointer, (void*)host.Pointer, (nuint)bytes), "cuMemcpyHtoD_v2");
            if (run >= 0)
            {
                seconds[run] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        }

        Array.Sort(seconds);
        return bytes / seconds[runs / 2] / 1e9;
    }

    /// <inheritdoc />
    protected override DeviceBuffer AllocateCore(long length)
    {
        using var lease = new HandleLease(_context);
        Check(_context.MakeCurrent(), "cuCtxSetCurrent");
        ulong pointer = 0;

        // The driver refuses empty blocks; an empty model still gets a (one-byte) block.
        int result = CudaInterop.cuMemAlloc_v2(&pointer, (nuint)Math.Max(1, length));
        if (result == CudaInterop.CUDA_ERROR_OUT_OF_MEMORY)
        {
            throw new InsufficientDeviceMemoryException(length, FreeBytes, DeviceName, null, Failure(result, "cuMemAlloc_v2"));
        }

        Check(result, "cuMemAlloc_v2");
        var memory = new CudaDeviceMemoryHandle(_context, pointer, length, _logger);
        LogAllocated(_logger, length, DeviceName, pointer);
        return new CudaBuffer(this, memory);
    }

    /// <inheritdoc />
    protected override StagingBuffer AllocateStagingCore(int length)
    {
        CudaPinnedMemoryHandle host = AllocatePinned(length);
        try
        {
            using var lease = new HandleLease(_context);
            Check(_context.MakeCurrent(), "cuCtxSetCurrent");
            IntPtr stream = IntPtr.Zero;
            Check(CudaInterop.cuStreamCreate(&stream, CudaInterop.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            return new CudaStagingBuffer(this, host, new CudaStreamHandle(_context, stream, _logger));
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Releases the destination's reference on the primary context; blocks still alive hold their own.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _context.Dispose();
        }

        base.Dispose(disposing);
    }

    private CudaPinnedMemoryHandle AllocatePinned(long length)
    {
        using var lease = new HandleLease(_context);
        Check(_context.MakeCurrent(), "cuCtxSetCurrent");
        IntPtr host = IntPtr.Zero;
        Check(CudaInterop.cuMemHostAlloc(&host, (nuint)length, 0), "cuMemHostAlloc");
        LogPinnedAllocated(_logger, length, DeviceName, host);
        return new CudaPinnedMemoryHandle(_context, host, length, _logger);
    }

    /// <summary>Throws the typed exception for a failed call.</summary>
    internal void Check(int result, string call)
    {
        if (result != CudaInterop.CUDA_SUCCESS)
        {
            throw Failure(result, call);
        }
    }

    private CudaException Failure(int result, string call) => new(call, result, CudaInterop.ErrorName(result), DeviceName);

    private static void Unavailable(int result, string call, string where)
    {
        if (result != CudaInterop.CUDA_SUCCESS)
        {
            var cause = new CudaException(call, result, CudaInterop.ErrorName(result), where);
            throw new GpuUnavailableException($"CUDA is not usable: {call} returned {cause.ResultName} ({result})", cause);
        }
    }

    private static string NoDriver =>
        $"the CUDA driver library ({CudaInterop.LibraryFile}) cannot be loaded: no NVIDIA driver on this machine, or it is not on the library path";

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "Opened {Device}: {Total} bytes total, {Free} bytes free")]
    private static partial void LogOpened(ILogger logger, string device, long total, long free);

    [LoggerMessage(EventId = 311, Level = LogLevel.Debug, Message = "CUDA: allocated {Length} bytes of device memory on {Device} at 0x{Address:X}")]
    private static partial void LogAllocated(ILogger logger, long length, string device, ulong address);

    [LoggerMessage(EventId = 313, Level = LogLevel.Debug, Message = "CUDA: allocated {Length} bytes of page-locked host memory for {Device} at 0x{Address:X}")]
    private static partial void LogPinnedAllocated(ILogger logger, long length, string device, IntPtr address);

    /// <summary>One block of device memory.</summary>
    private sealed class CudaBuffer(CudaDestination owner, CudaDeviceMemoryHandle memory) : DeviceBuffer(owner, memory.Length)
    {
        public CudaDeviceMemoryHandle Memory => memory;

        protected override void CopyFromHostCore(long offset, ReadOnlySpan<byte> source)
        {
            if (source.IsEmpty)
            {
                return;
            }

            using var lease = new HandleLease(memory);
            owner.Check(owner._context.MakeCurrent(), "cuCtxSetCurrent");
            fixed (byte* p = source)
            {
                // Synchronous copy of pageable memory: returns once the bytes are on the device.
                owner.Check(CudaInterop.cuMemcpyHtoD_v2(memory.Pointer + (ulong)offset, p, (nuint)source.Length), "cuMemcpyHtoD_v2");
            }
        }

        protected override void EnqueueCopyFromHostCore(long offset, StagingBuffer source, int length)
        {
            if (length == 0)
            {
                return;
            }

            var staging = (CudaStagingBuffer)source;
            using var lease = new HandleLease(memory);
            using var hostLease = new HandleLease(staging.Host);
            using var streamLease = new HandleLease(staging.Stream);
            owner.Check(owner._context.MakeCurrent(), "cuCtxSetCurrent");

            // Page-locked source on the staging buffer's own stream: a DMA that runs while the loader reads on.
            // The staging buffer's Dispose synchronizes that stream before the memory goes.
            owner.Check(CudaInterop.cuMemcpyHtoDAsync_v2(memory.Pointer + (ulong)offset, (void*)staging.Host.Pointer, (nuint)length, staging.Stream.Stream), "cuMemcpyHtoDAsync_v2");
        }

        protected override void SynchronizeCore()
        {
            using var lease = new HandleLease(memory);
            owner.Check(owner._context.MakeCurrent(), "cuCtxSetCurrent");
            owner.Check(CudaInterop.cuCtxSynchronize(), "cuCtxSynchronize");
        }

        protected override void CopyToHostCore(long offset, Span<byte> destination)
        {
            if (destination.IsEmpty)
            {
                return;
            }

            using var lease = new HandleLease(memory);
            owner.Check(owner._context.MakeCurrent(), "cuCtxSetCurrent");

            // Copies enqueued on other streams are not ordered with this one: let them land first.
            owner.Check(CudaInterop.cuCtxSynchronize(), "cuCtxSynchronize");
            fixed (byte* p = destination)
            {
                owner.Check(CudaInterop.cuMemcpyDtoH_v2(p, memory.Pointer + (ulong)offset, (nuint)destination.Length), "cuMemcpyDtoH_v2");
            }
        }

        protected override DeviceMemoryKind QueryMemoryKindCore()
        {
            using var lease = new HandleLease(memory);
            owner.Check(owner._context.MakeCurrent(), "cuCtxSetCurrent");
            int managed = 0;
            if (CudaInterop.cuPointerGetAttribute(&managed, CudaInterop.CU_POINTER_ATTRIBUTE_IS_MANAGED, memory.Pointer) == CudaInterop.CUDA_SUCCESS && managed != 0)
            {
                return DeviceMemoryKind.Managed;
            }

            int type = 0;
            if (CudaInterop.cuPointerGetAttribute(&type, CudaInterop.CU_POINTER_ATTRIBUTE_MEMORY_TYPE, memory.Pointer) != CudaInterop.CUDA_SUCCESS)
            {
                return DeviceMemoryKind.Unknown;
            }

            return type switch
            {
                CudaInterop.CU_MEMORYTYPE_DEVICE => DeviceMemoryKind.Device,
                CudaInterop.CU_MEMORYTYPE_HOST => DeviceMemoryKind.Host,
                CudaInterop.CU_MEMORYTYPE_UNIFIED => DeviceMemoryKind.Managed,
                _ => DeviceMemoryKind.Unknown,
            };
        }

        // The handle synchronizes the device before it frees the block, and frees it only after the last call
        // holding a reference returned.
        protected override void Dispose(bool disposing) => memory.Dispose();
    }

    /// <summary>A page-locked host buffer with its own stream; copies from it are enqueued on that stream.</summary>
    private sealed class CudaStagingBuffer(CudaDestination owner, CudaPinnedMemoryHandle host, CudaStreamHandle stream)
        : StagingBuffer(owner, checked((int)host.Length))
    {
        public CudaPinnedMemoryHandle Host => host;

        public CudaStreamHandle Stream => stream;

        // The whole allocation; valid until Dispose, as StagingBuffer documents.
        protected override Span<byte> GetSpanCore() => host.GetSpan(0, Length);

        protected override void WaitForCopiesCore()
        {
            using var lease = new HandleLease(stream);
            owner.Check(owner._context.MakeCurrent(), "cuCtxSetCurrent");
            owner.Check(CudaInterop.cuStreamSynchronize(stream.Stream), "cuStreamSynchronize");
        }

        protected override void Dispose(bool disposing)
        {
            // The stream's release synchronizes it: every copy reading the page-locked memory is done before it goes.
            stream.Dispose();
            host.Dispose();
        }
    }
}
