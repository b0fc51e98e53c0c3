using System.Runtime.InteropServices;
using System.Text;
using Gguf.Loading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gguf.Gpu;

/// <summary>
/// The same GPU destination as <see cref="GpuDestination"/> on a thin binding of the CUDA driver API instead of
/// ILGPU: <c>cuMemAlloc</c> blocks, <c>cuMemHostAlloc</c> staging buffers with one non-blocking stream each,
/// <c>cuMemcpyHtoDAsync</c> copies. Kept as a measured alternative (docs/benchmarks-load.md) and as a fallback
/// for drivers that ILGPU does not know yet. All unsafe code of this project is in this file.
/// </summary>
public sealed unsafe partial class CudaDriverDestination : ITensorDestination, IDisposable
{
    private readonly int _device;
    private readonly long? _limit;
    private IntPtr _context;
    private long _allocatedBytes;
    private int _liveBuffers;
    private int _liveStaging;

    private CudaDriverDestination(int device, IntPtr context, string name, long total, long? limit, ILogger logger)
    {
        _device = device;
        _context = context;
        DeviceName = name;
        TotalBytes = total;
        _limit = limit;
        Logger = logger;
    }

    /// <inheritdoc />
    public string DeviceName { get; }

    /// <inheritdoc />
    public bool IsHostMemory => false;

    /// <inheritdoc />
    public DeviceMemoryKind ExpectedMemoryKind => DeviceMemoryKind.Device;

    /// <inheritdoc />
    public long TotalBytes { get; }

    /// <summary>Free device memory as the driver reports it now (<c>cuMemGetInfo</c>).</summary>
    public long FreeBytes
    {
        get
        {
            MakeCurrent();
            Check(Native.cuMemGetInfo_v2(out nuint free, out _), "cuMemGetInfo");
            return (long)free;
        }
    }

    /// <inheritdoc />
    public long AvailableBytes => _limit is long limit ? Math.Min(FreeBytes, Math.Max(0, limit - Interlocked.Read(ref _allocatedBytes))) : FreeBytes;

    /// <inheritdoc />
    public int Alignment => 256;

    /// <summary>Blocks allocated and not yet freed.</summary>
    public int LiveBuffers => Volatile.Read(ref _liveBuffers);

    /// <summary>Staging buffers allocated and not yet freed.</summary>
    public int LiveStagingBuffers => Volatile.Read(ref _liveStaging);

    private ILogger Logger { get; }

    /// <summary>Opens CUDA device <paramref name="deviceIndex"/> through its primary context.</summary>
    /// <exception cref="GpuUnavailableException">No driver, no such device, or the context cannot be created.</exception>
    public static CudaDriverDestination Open(int deviceIndex = 0, GpuDestinationOptions? options = null, ILogger? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(deviceIndex);
        try
        {
            Unavailable(Native.cuInit(0), "cuInit");
            Unavailable(Native.cuDeviceGetCount(out int count), "cuDeviceGetCount");
            if (deviceIndex >= count)
            {
                throw new GpuUnavailableException(count == 0
                    ? "no CUDA device found (no GPU visible to this process)"
                    : $"CUDA device {deviceIndex} does not exist; this machine has {count} (cuda:0 to cuda:{count - 1})");
            }

            Unavailable(Native.cuDeviceGet(out int device, deviceIndex), "cuDeviceGet");
            byte[] name = new byte[256];
            Unavailable(Native.cuDeviceGetName(name, name.Length, device), "cuDeviceGetName");
            Unavailable(Native.cuDeviceTotalMem_v2(out nuint total, device), "cuDeviceTotalMem");
            Unavailable(Native.cuDevicePrimaryCtxRetain(out IntPtr context, device), "cuDevicePrimaryCtxRetain");
            string text = Encoding.UTF8.GetString(name, 0, Math.Max(0, Array.IndexOf(name, (byte)0)));
            var destination = new CudaDriverDestination(device, context, $"{text} (cuda:{deviceIndex}, driver API)", (long)total, options?.MemoryLimitBytes, logger ?? NullLogger.Instance);
            LogOpened(destination.Logger, destination.DeviceName, destination.TotalBytes, destination.FreeBytes);
            return destination;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            string library = OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";
            throw new GpuUnavailableException($"the CUDA driver library ({library}) cannot be loaded: no NVIDIA driver on this machine, or it is not on the library path", e);
        }
    }

    /// <inheritdoc />
    public IDeviceBuffer Allocate(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long available = AvailableBytes;
        if (length > available)
        {
            throw new InsufficientDeviceMemoryException(length, available, DeviceName);
        }

        MakeCurrent();
        int result = Native.cuMemAlloc_v2(out ulong pointer, (nuint)Math.Max(1, length));
        if (result == Native.CUDA_ERROR_OUT_OF_MEMORY)
        {
            throw new InsufficientDeviceMemoryException(length, FreeBytes, DeviceName);
        }

        Check(result, "cuMemAlloc");
        Interlocked.Add(ref _allocatedBytes, length);
        Interlocked.Increment(ref _liveBuffers);
        return new Block(this, pointer, length);
    }

    /// <inheritdoc />
    public IStagingBuffer AllocateStaging(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        MakeCurrent();
        Check(Native.cuMemHostAlloc(out IntPtr host, (nuint)length, 0), "cuMemHostAlloc");
        int result = Native.cuStreamCreate(out IntPtr stream, Native.CU_STREAM_NON_BLOCKING);
        if (result != 0)
        {
            _ = Native.cuMemFreeHost(host);
            Check(result, "cuStreamCreate");
        }

        Interlocked.Increment(ref _liveStaging);
        return new Staging(this, host, stream, length);
    }

    /// <summary>The median bandwidth (GB/s) of copies from one page-locked buffer to device memory: the GPU benchmark's baseline.</summary>
    public double MeasurePinnedCopy(long bytes = 256L << 20, int runs = 5)
    {
        using var block = (Block)Allocate(bytes);
        MakeCurrent();
        Check(Native.cuMemHostAlloc(out IntPtr host, (nuint)bytes, 0), "cuMemHostAlloc");
        try
        {
            new Span<byte>((void*)host, (int)Math.Min(bytes, int.MaxValue)).Fill(1);
            var seconds = new double[runs];
            for (int run = -1; run < runs; run++)
            {
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                Check(Native.cuMemcpyHtoD_v2(block.Pointer, host, (nuint)bytes), "cuMemcpyHtoD");
                if (run >= 0)
                {
                    seconds[run] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
                }
            }

            Array.Sort(seconds);
            return bytes / seconds[runs / 2] / 1e9;
        }
        finally
        {
            _ = Native.cuMemFreeHost(host);
        }
    }

    /// <summary>Releases the primary context. Free loaded models first.</summary>
    public void Dispose()
    {
        if (_context != IntPtr.Zero)
        {
            _context = IntPtr.Zero;
            _ = Native.cuDevicePrimaryCtxRelease_v2(_device);
        }
    }

    private void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(_context == IntPtr.Zero, this);

        // The driver keeps one current context per thread; the loader calls from several threads.
        Check(Native.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
    }

    private void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new IOException($"{call} failed on {DeviceName}: {Native.Describe(result)}");
        }
    }

    private static void Unavailable(int result, string call)
    {
        if (result != 0)
        {
            throw new GpuUnavailableException($"CUDA is not usable: {call} returned {Native.Describe(result)}");
        }
    }

    [LoggerMessage(EventId = 311, Level = LogLevel.Information, Message = "Opened {Device}: {Total} bytes total, {Free} bytes free")]
    private static partial void LogOpened(ILogger logger, string device, long total, long free);

    private sealed class Block(CudaDriverDestination owner, ulong pointer, long length) : IDeviceBuffer
    {
        private bool _freed;

        public ulong Pointer => _freed ? throw new ObjectDisposedException(nameof(Block)) : pointer;

        public long Length => length;

        public void CopyFromHost(long offset, ReadOnlySpan<byte> source)
        {
            CheckRange(offset, source.Length);
            owner.MakeCurrent();
            fixed (byte* p = source)
            {
                // Synchronous copy of pageable memory: returns once the bytes are on the device.
                owner.Check(Native.cuMemcpyHtoD_v2(pointer + (ulong)offset, (IntPtr)p, (nuint)source.Length), "cuMemcpyHtoD");
            }
        }

        public void EnqueueCopyFromHost(long offset, IStagingBuffer source, int count)
        {
            if (source is not Staging staging || staging.Owner != owner)
            {
                throw new ArgumentException("the staging buffer was not allocated by this destination", nameof(source));
            }

            if ((uint)count > (uint)staging.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(count), count, $"the staging buffer holds {staging.Length} bytes");
            }

            CheckRange(offset, count);
            owner.MakeCurrent();

            // Page-locked source on the staging buffer's own stream: a DMA that runs while the loader reads on.
            owner.Check(Native.cuMemcpyHtoDAsync_v2(pointer + (ulong)offset, staging.Host, (nuint)count, staging.Stream), "cuMemcpyHtoDAsync");
        }

        public void Synchronize()
        {
            _ = Pointer;
            owner.MakeCurrent();
            owner.Check(Native.cuCtxSynchronize(), "cuCtxSynchronize");
        }

        public void CopyToHost(long offset, Span<byte> destination)
        {
            CheckRange(offset, destination.Length);
            Synchronize();
            fixed (byte* p = destination)
            {
                owner.Check(Native.cuMemcpyDtoH_v2((IntPtr)p, pointer + (ulong)offset, (nuint)destination.Length), "cuMemcpyDtoH");
            }
        }

        public bool TryGetHostSpan(long offset, int count, out Span<byte> span)
        {
            span = default;
            return false;
        }

        public DeviceMemoryKind QueryMemoryKind()
        {
            owner.MakeCurrent();
            return CudaDriver.QueryMemoryKind(new IntPtr(unchecked((long)Pointer)));
        }

        public void Dispose()
        {
            if (_freed)
            {
                return;
            }

            // Copies in flight read staging buffers and write this block: they finish before it is freed.
            owner.MakeCurrent();
            _ = Native.cuCtxSynchronize();
            _ = Native.cuMemFree_v2(pointer);
            _freed = true;
            Interlocked.Add(ref owner._allocatedBytes, -length);
            Interlocked.Decrement(ref owner._liveBuffers);
        }

        private void CheckRange(long offset, int count)
        {
            _ = Pointer;
            if (offset < 0 || count < 0 || offset > length - count)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{count}) is outside the {length}-byte block on {owner.DeviceName}");
            }
        }
    }

    private sealed class Staging(CudaDriverDestination owner, IntPtr host, IntPtr stream, int length) : IStagingBuffer
    {
        private bool _freed;

        public CudaDriverDestination Owner => owner;

        public IntPtr Host => _freed ? throw new ObjectDisposedException(nameof(Staging)) : host;

        public IntPtr Stream => stream;

        public int Length => length;

        // The page-locked allocation of Length bytes, alive until Dispose.
        public Span<byte> Span => new((void*)Host, length);

        public void WaitForCopies()
        {
            _ = Host;
            owner.MakeCurrent();
            owner.Check(Native.cuStreamSynchronize(stream), "cuStreamSynchronize");
        }

        public void Dispose()
        {
            if (_freed)
            {
                return;
            }

            owner.MakeCurrent();
            _ = Native.cuStreamSynchronize(stream);
            _ = Native.cuStreamDestroy_v2(stream);
            _ = Native.cuMemFreeHost(host);
            _freed = true;
            Interlocked.Decrement(ref owner._liveStaging);
        }
    }

    /// <summary>The CUDA driver API calls (cuda.h), resolved from libcuda.so.1 (nvcuda.dll on Windows).</summary>
    private static partial class Native
    {
        public const int CUDA_ERROR_OUT_OF_MEMORY = 2;
        public const uint CU_STREAM_NON_BLOCKING = 1;
        private const string Library = "cuda";

        static Native() => NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve);

        [LibraryImport(Library)] public static partial int cuInit(uint flags);
        [LibraryImport(Library)] public static partial int cuDeviceGetCount(out int count);
        [LibraryImport(Library)] public static partial int cuDeviceGet(out int device, int ordinal);
        [LibraryImport(Library)] public static partial int cuDeviceGetName([Out] byte[] name, int length, int device);
        [LibraryImport(Library)] public static partial int cuDeviceTotalMem_v2(out nuint bytes, int device);
        [LibraryImport(Library)] public static partial int cuDevicePrimaryCtxRetain(out IntPtr context, int device);
        [LibraryImport(Library)] public static partial int cuDevicePrimaryCtxRelease_v2(int device);
        [LibraryImport(Library)] public static partial int cuCtxSetCurrent(IntPtr context);
        [LibraryImport(Library)] public static partial int cuCtxSynchronize();
        [LibraryImport(Library)] public static partial int cuMemGetInfo_v2(out nuint free, out nuint total);
        [LibraryImport(Library)] public static partial int cuMemAlloc_v2(out ulong pointer, nuint bytes);
        [LibraryImport(Library)] public static partial int cuMemFree_v2(ulong pointer);
        [LibraryImport(Library)] public static partial int cuMemHostAlloc(out IntPtr pointer, nuint bytes, uint flags);
        [LibraryImport(Library)] public static partial int cuMemFreeHost(IntPtr pointer);
        [LibraryImport(Library)] public static partial int cuStreamCreate(out IntPtr stream, uint flags);
        [LibraryImport(Library)] public static partial int cuStreamSynchronize(IntPtr stream);
        [LibraryImport(Library)] public static partial int cuStreamDestroy_v2(IntPtr stream);
        [LibraryImport(Library)] public static partial int cuMemcpyHtoD_v2(ulong destination, IntPtr source, nuint bytes);
        [LibraryImport(Library)] public static partial int cuMemcpyHtoDAsync_v2(ulong destination, IntPtr source, nuint bytes, IntPtr stream);
        [LibraryImport(Library)] public static partial int cuMemcpyDtoH_v2(IntPtr destination, ulong source, nuint bytes);
        [LibraryImport(Library)] public static partial int cuGetErrorName(int error, out IntPtr name);

        public static string Describe(int error) =>
            cuGetErrorName(error, out IntPtr name) == 0 && name != IntPtr.Zero ? $"{Marshal.PtrToStringUTF8(name)} ({error})" : $"CUDA error {error}";

        private static IntPtr Resolve(string name, System.Reflection.Assembly assembly, DllImportSearchPath? path)
        {
            if (name != Library)
            {
                return IntPtr.Zero;
            }

            string file = OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";
            return NativeLibrary.TryLoad(file, assembly, path, out IntPtr handle) ? handle : IntPtr.Zero;
        }
    }
}
