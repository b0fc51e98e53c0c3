using Gguf.Loading;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gguf.Gpu;

/// <summary>Options of <see cref="GpuDestination"/>.</summary>
public sealed record GpuDestinationOptions
{
    /// <summary>The default options.</summary>
    public static GpuDestinationOptions Default { get; } = new();

    /// <summary>
    /// The most device memory the loader may take (for example to leave room for a KV cache); null means all
    /// the free memory the driver reports.
    /// </summary>
    public long? MemoryLimitBytes { get; init; }
}

/// <summary>No GPU of the requested kind is usable; the message says why.</summary>
public sealed class GpuUnavailableException : IOException
{
    /// <summary>Creates an exception.</summary>
    public GpuUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception.</summary>
    public GpuUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception.</summary>
    public GpuUnavailableException()
        : base("no GPU is available")
    {
    }
}

/// <summary>
/// Device memory of a GPU, through ILGPU: blocks from the driver's allocator, page-locked staging buffers,
/// each with its own stream, so the loader's copies run asynchronously and overlap its reads. The same code
/// runs on ILGPU's CPU accelerator (<see cref="CreateCpuAccelerator"/>), which is how machines without a GPU
/// test it. Dispose it after the models loaded into it.
/// </summary>
public sealed partial class GpuDestination : ITensorDestination, IDisposable
{
    private readonly Context _context;
    private readonly GpuDestinationOptions _options;
    private long _allocatedBytes;
    private int _liveBuffers;
    private int _liveStaging;
    private bool _disposed;

    private GpuDestination(Context context, Accelerator accelerator, string deviceName, GpuDestinationOptions options, ILogger logger, int deviceIndex = 0)
    {
        DeviceIndex = deviceIndex;
        _context = context;
        Accelerator = accelerator;
        DeviceName = deviceName;
        _options = options;
        Logger = logger;
        if (options.MemoryLimitBytes is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MemoryLimitBytes, "the memory limit must not be negative");
        }
    }

    /// <summary>The ILGPU accelerator.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>The CUDA device index (0 for the CPU accelerator).</summary>
    public int DeviceIndex { get; }

    /// <summary>Whether this is a CUDA GPU (not ILGPU's CPU accelerator).</summary>
    public bool IsCuda => Accelerator is CudaAccelerator;

    /// <inheritdoc />
    public string DeviceName { get; }

    /// <inheritdoc />
    /// <remarks>False even on the CPU accelerator: its memory is host memory, but it is reached the GPU's way.</remarks>
    public bool IsHostMemory => false;

    /// <inheritdoc />
    public DeviceMemoryKind ExpectedMemoryKind => IsCuda ? DeviceMemoryKind.Device : DeviceMemoryKind.Host;

    /// <inheritdoc />
    public long TotalBytes => IsCuda ? Accelerator.MemorySize : HostMemoryInfo.TotalBytes;

    /// <summary>Free device memory as the driver reports it now.</summary>
    public long FreeBytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Accelerator is CudaAccelerator cuda ? cuda.GetFreeMemory() : HostMemoryInfo.AvailableBytes;
        }
    }

    /// <inheritdoc />
    public long AvailableBytes => _options.MemoryLimitBytes is long limit
        ? Math.Min(FreeBytes, Math.Max(0, limit - Interlocked.Read(ref _allocatedBytes)))
        : FreeBytes;

    /// <inheritdoc />
    public int Alignment => 256;

    /// <summary>Blocks allocated and not yet freed.</summary>
    public int LiveBuffers => Volatile.Read(ref _liveBuffers);

    /// <summary>Staging buffers allocated and not yet freed.</summary>
    public int LiveStagingBuffers => Volatile.Read(ref _liveStaging);

    internal ILogger Logger { get; }

    // ILGPU's default filter drops devices whose PTX instruction set it cannot name (a driver newer than the
    // package); copies need no kernels, so every device the driver lists is usable here.
    private static bool AnyDevice(CudaDevice device) => true;

    /// <summary>Whether a CUDA GPU is usable here; <paramref name="reason"/> says why not.</summary>
    public static bool IsCudaAvailable(out string reason)
    {
        try
        {
            using Context context = Context.Create(builder => builder.Cuda(AnyDevice));
            int count = context.GetCudaDevices().Count;
            reason = count > 0 ? $"{count} CUDA device(s)" : "no CUDA device found (no NVIDIA driver, or no GPU visible to this process)";
            return count > 0;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reason = $"CUDA cannot be initialised: {FirstLine(e.Message)}";
            return false;
        }
    }

    /// <summary>Opens CUDA device <paramref name="deviceIndex"/>.</summary>
    /// <exception cref="GpuUnavailableException">No such CUDA device, or no CUDA at all.</exception>
    public static GpuDestination CreateCuda(int deviceIndex = 0, GpuDestinationOptions? options = null, ILogger? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(deviceIndex);
        logger ??= NullLogger.Instance;
        Context? context = null;
        try
        {
            context = Context.Create(builder => builder.Cuda(AnyDevice));
            Context.DeviceCollection<CudaDevice> devices = context.GetCudaDevices();
            if (devices.Count == 0)
            {
                throw new GpuUnavailableException("no CUDA device found (no NVIDIA driver, or no GPU visible to this process)");
            }

            if (deviceIndex >= devices.Count)
            {
                throw new GpuUnavailableException($"CUDA device {deviceIndex} does not exist; this machine has {devices.Count} (cuda:0 to cuda:{devices.Count - 1})");
            }

            CudaAccelerator accelerator = devices[deviceIndex].CreateCudaAccelerator(context);
            var destination = new GpuDestination(context, accelerator, $"{accelerator.Name} (cuda:{deviceIndex})", options ?? GpuDestinationOptions.Default, logger, deviceIndex);
            LogOpened(logger, destination.DeviceName, destination.TotalBytes, destination.FreeBytes);
            context = null;
            return destination;
        }
        catch (Exception e) when (e is not GpuUnavailableException and not OutOfMemoryException and not ArgumentException)
        {
            throw new GpuUnavailableException($"CUDA device {deviceIndex} cannot be opened: {FirstLine(e.Message)}", e);
        }
        finally
        {
            context?.Dispose();
        }
    }

    /// <summary>
    /// ILGPU's CPU accelerator behind the same interface: staging buffers, streams and copies take the GPU's code
    /// path with host memory underneath. For tests and machines without a GPU.
    /// </summary>
    public static GpuDestination CreateCpuAccelerator(GpuDestinationOptions? options = null, ILogger? logger = null)
    {
        Context context = Context.Create(builder => builder.CPU());
        try
        {
            CPUAccelerator accelerator = context.GetCPUDevice(0).CreateCPUAccelerator(context);
            return new GpuDestination(context, accelerator, "ILGPU CPU accelerator", options ?? GpuDestinationOptions.Default, logger ?? NullLogger.Instance);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public IDeviceBuffer Allocate(long length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long available = AvailableBytes;
        if (length > available)
        {
            throw new InsufficientDeviceMemoryException(length, available, DeviceName);
        }

        return AllocateFromDriver(length);
    }

    /// <summary>Allocates without the fit check; the driver's out-of-memory becomes the fit error.</summary>
    internal GpuDeviceBuffer AllocateFromDriver(long length)
    {
        MemoryBuffer1D<byte, Stride1D.Dense> memory;
        try
        {
            // ILGPU refuses empty buffers; an empty model still gets a (one-byte) block.
            memory = Accelerator.Allocate1D<byte>(Math.Max(1, length));
        }
        catch (CudaException e) when (IsOutOfMemory(e))
        {
            throw new InsufficientDeviceMemoryException(length, FreeBytes, DeviceName, null, e);
        }
        catch (OutOfMemoryException e)
        {
            throw new InsufficientDeviceMemoryException(length, FreeBytes, DeviceName, null, e);
        }

        Interlocked.Add(ref _allocatedBytes, length);
        Interlocked.Increment(ref _liveBuffers);
        LogAllocated(Logger, length, DeviceName, memory.NativePtr);
        return new GpuDeviceBuffer(this, memory, length);
    }

    /// <inheritdoc />
    public IStagingBuffer AllocateStaging(int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        var staging = new GpuStagingBuffer(this, length);
        Interlocked.Increment(ref _liveStaging);
        return staging;
    }

    /// <summary>Releases the accelerator and the ILGPU context. Free loaded models first.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Accelerator.Dispose();
        _context.Dispose();
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    private static bool IsOutOfMemory(CudaException e) =>
        (e.Error ?? "").Contains(nameof(CudaError.CUDA_ERROR_OUT_OF_MEMORY), StringComparison.Ordinal) ||
        e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase);

    internal void OnFreed(long length)
    {
        Interlocked.Add(ref _allocatedBytes, -length);
        Interlocked.Decrement(ref _liveBuffers);
    }

    internal void OnStagingFreed() => Interlocked.Decrement(ref _liveStaging);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Opened {Device}: {Total} bytes total, {Free} bytes free")]
    private static partial void LogOpened(ILogger logger, string device, long total, long free);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug, Message = "Allocated {Length} bytes on {Device} at 0x{Address:X}")]
    private static partial void LogAllocated(ILogger logger, long length, string device, IntPtr address);
}
