using System.Runtime.InteropServices;
using Gguf.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gguf.Loading;

/// <summary>How a host arena gets its pages before the loader writes them.</summary>
public enum ArenaPrefault
{
    /// <summary>Pages are faulted in by the writes themselves.</summary>
    None,

    /// <summary>The whole arena is faulted in when it is allocated (<c>MADV_POPULATE_WRITE</c>).</summary>
    Upfront,

    /// <summary>A background thread faults the arena in from the front while the loader writes behind it.</summary>
    Background,

    /// <summary>
    /// Each 8 MiB region is faulted in, in one call, the first time the loader asks for a span in it: no extra
    /// thread, and no writer ever faults page by page.
    /// </summary>
    OnDemand,
}

/// <summary>Options of <see cref="HostArenaDestination"/>.</summary>
public sealed record HostArenaOptions
{
    /// <summary>The default options.</summary>
    public static HostArenaOptions Default { get; } = new();

    /// <summary>A cap on the bytes the arena hands out in total; null means the host's available memory.</summary>
    public long? CapacityBytes { get; init; }

    /// <summary>
    /// Back arenas of 2 MiB and more with transparent huge pages (<c>MADV_HUGEPAGE</c>, Linux): one fault and
    /// one zeroing per 2 MiB instead of per 4 KiB. Measured in docs/benchmarks-load.md.
    /// </summary>
    public bool HugePages { get; init; } = true;

    /// <summary>How pages are faulted in ahead of the writes.</summary>
    public ArenaPrefault Prefault { get; init; } = ArenaPrefault.OnDemand;
}

/// <summary>
/// The default destination: host memory from <see cref="NativeMemory.AlignedAlloc"/>, aligned to 256 bytes
/// (2 MiB for large blocks, so they can be huge pages), outside the GC heap. Thread-safe.
/// </summary>
public sealed partial class HostArenaDestination : ITensorDestination
{
    private const int BlockAlignment = 256;
    private const int HugePageSize = 2 << 20;
    private readonly HostArenaOptions _options;
    private readonly ILogger _logger;
    private long _allocatedBytes;
    private int _liveBuffers;
    private int _liveStagingBuffers;

    /// <summary>Creates a host arena.</summary>
    public HostArenaDestination(HostArenaOptions? options = null, ILogger? logger = null)
    {
        _options = options ?? HostArenaOptions.Default;
        _logger = logger ?? NullLogger.Instance;
        if (_options.CapacityBytes is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.CapacityBytes, "the capacity must not be negative");
        }
    }

    /// <inheritdoc />
    public string DeviceName => "host";

    /// <inheritdoc />
    public bool IsHostMemory => true;

    /// <inheritdoc />
    public DeviceMemoryKind ExpectedMemoryKind => DeviceMemoryKind.Host;

    /// <inheritdoc />
    public long TotalBytes => _options.CapacityBytes ?? HostMemoryInfo.TotalBytes;

    /// <inheritdoc />
    public long AvailableBytes => _options.CapacityBytes is long cap
        ? Math.Max(0, cap - Interlocked.Read(ref _allocatedBytes))
        : HostMemoryInfo.AvailableBytes;

    /// <inheritdoc />
    public int Alignment => BlockAlignment;

    /// <summary>Bytes currently allocated by this arena (staging buffers excluded).</summary>
    public long AllocatedBytes => Interlocked.Read(ref _allocatedBytes);

    /// <summary>Blocks allocated and not yet freed.</summary>
    public int LiveBuffers => Volatile.Read(ref _liveBuffers);

    /// <summary>Staging buffers allocated and not yet freed.</summary>
    public int LiveStagingBuffers => Volatile.Read(ref _liveStagingBuffers);

    /// <inheritdoc />
    public IDeviceBuffer Allocate(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long available = AvailableBytes;
        if (length > available)
        {
            throw new InsufficientDeviceMemoryException(length, available, DeviceName);
        }

        var buffer = new ArenaBuffer(this, length);
        Interlocked.Add(ref _allocatedBytes, length);
        Interlocked.Increment(ref _liveBuffers);
        return buffer;
    }

    /// <inheritdoc />
    public IStagingBuffer AllocateStaging(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        var staging = new HostStagingBuffer(this, length);
        Interlocked.Increment(ref _liveStagingBuffers);
        return staging;
    }

    private void OnFreed(long length)
    {
        Interlocked.Add(ref _allocatedBytes, -length);
        Interlocked.Decrement(ref _liveBuffers);
    }

    private void OnStagingFreed() => Interlocked.Decrement(ref _liveStagingBuffers);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Host arena: allocated {Length} bytes at 0x{Address:X} (huge pages: {HugePages}, prefault: {Prefault})")]
    private static partial void LogAllocated(ILogger logger, long length, long address, bool hugePages, ArenaPrefault prefault);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Host arena: freed {Length} bytes at 0x{Address:X}")]
    private static partial void LogFreed(ILogger logger, long length, long address);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Host arena: MADV_POPULATE_WRITE unavailable ({Reason}); touching pages instead")]
    private static partial void LogPopulateFallback(ILogger logger, string reason);

    /// <summary>One block of native memory; the only unsafe code of the loading layer.</summary>
    private sealed unsafe class ArenaBuffer : IDeviceBuffer
    {
        private const int MADV_POPULATE_WRITE = 23;
        private const long PrefaultStep = 8L << 20;
        private readonly HostArenaDestination _owner;
        private readonly Thread? _prefaulter;
        private readonly int[]? _regionReady;
        private byte* _start;
        private volatile bool _stopPrefault;

        public ArenaBuffer(HostArenaDestination owner, long length)
        {
            _owner = owner;
            Length = length;
            bool huge = owner._options.HugePages && length >= HugePageSize && OperatingSystem.IsLinux();
            nuint size = (nuint)Math.Max(1, huge ? AlignUp(length, HugePageSize) : length);
            try
            {
                _start = (byte*)NativeMemory.AlignedAlloc(size, huge ? (nuint)HugePageSize : BlockAlignment);
            }
            catch (OutOfMemoryException e)
            {
                throw new InsufficientDeviceMemoryException(length, owner.AvailableBytes, owner.DeviceName, null, e);
            }

            // Huge pages are a hint: a kernel without THP simply ignores it.
            if (huge)
            {
                _ = PosixInterop.Madvise((IntPtr)_start, size, PosixInterop.MADV_HUGEPAGE);
            }

            ArenaPrefault prefault = length == 0 ? ArenaPrefault.None : owner._options.Prefault;
            if (prefault == ArenaPrefault.Background && length <= PrefaultStep)
            {
                prefault = ArenaPrefault.Upfront;
            }

            if (prefault == ArenaPrefault.Upfront)
            {
                Populate(0, length);
            }
            else if (prefault == ArenaPrefault.Background)
            {
                _prefaulter = new Thread(PrefaultLoop) { IsBackground = true, Name = "gguf arena prefault" };
                _prefaulter.Start();
            }
            else if (prefault == ArenaPrefault.OnDemand)
            {
                _regionReady = new int[(length + PrefaultStep - 1) / PrefaultStep];
            }

            LogAllocated(owner._logger, length, (long)_start, huge, prefault);
        }

        public long Length { get; }

        public void CopyFromHost(long offset, ReadOnlySpan<byte> source)
        {
            CheckRange(offset, source.Length);
            EnsureFaultedIn(offset, source.Length);

            // In range of the live block (checked above).
            source.CopyTo(new Span<byte>(_start + offset, source.Length));
        }

        public void EnqueueCopyFromHost(long offset, IStagingBuffer source, int length)
        {
            ArgumentNullException.ThrowIfNull(source);
            if ((uint)length > (uint)source.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(length), length, $"the staging buffer holds {source.Length} bytes");
            }

            // Host memory: the "enqueued" copy completes before returning, so the staging buffer is free at once.
            CopyFromHost(offset, source.Span[..length]);
        }

        public void Synchronize() => CheckAlive();

        public void CopyToHost(long offset, Span<byte> destination)
        {
            CheckRange(offset, destination.Length);

            // In range of the live block (checked above).
            new ReadOnlySpan<byte>(_start + offset, destination.Length).CopyTo(destination);
        }

        public bool TryGetHostSpan(long offset, int length, out Span<byte> span)
        {
            CheckRange(offset, length);
            EnsureFaultedIn(offset, length);

            // In range of the live block; valid until Dispose, as the interface documents.
            span = new Span<byte>(_start + offset, length);
            return true;
        }

        public DeviceMemoryKind QueryMemoryKind()
        {
            CheckAlive();
            return DeviceMemoryKind.Host;
        }

        public void Dispose()
        {
            if (_start == null)
            {
                return;
            }

            // The prefaulter must not touch the block once it is freed.
            _stopPrefault = true;
            _prefaulter?.Join();
            byte* start = _start;
            _start = null;
            NativeMemory.AlignedFree(start);
            _owner.OnFreed(Length);
            LogFreed(_owner._logger, Length, (long)start);
        }

        private void EnsureFaultedIn(long offset, int length)
        {
            if (_regionReady is null || length == 0)
            {
                return;
            }

            for (long region = offset / PrefaultStep; region <= (offset + length - 1) / PrefaultStep; region++)
            {
                // The first caller of a region faults all of it in; a concurrent second caller repeats the call,
                // which finds the pages present and returns at once.
                if (Volatile.Read(ref _regionReady[region]) == 0)
                {
                    long start = region * PrefaultStep;
                    Populate(start, Math.Min(PrefaultStep, Length - start));
                    Volatile.Write(ref _regionReady[region], 1);
                }
            }
        }

        private void PrefaultLoop()
        {
            for (long offset = 0; offset < Length && !_stopPrefault; offset += PrefaultStep)
            {
                Populate(offset, Math.Min(PrefaultStep, Length - offset));
            }
        }

        private void Populate(long offset, long length)
        {
            // Faulting pages in never changes their contents, so it may race with the loader's writes.
            if (OperatingSystem.IsLinux() && PosixInterop.Madvise((IntPtr)(_start + offset), (nuint)length, MADV_POPULATE_WRITE) == 0)
            {
                return;
            }

            if (OperatingSystem.IsLinux() && offset == 0 && _owner._logger.IsEnabled(LogLevel.Debug))
            {
#pragma warning disable CA1873 // Guarded by IsEnabled just above.
                LogPopulateFallback(_owner._logger, PosixInterop.Describe(Marshal.GetLastPInvokeError()));
#pragma warning restore CA1873
            }

            // Fallback (older kernels, other systems): an atomic add of zero write-faults each page without
            // changing a byte that a concurrent writer may already have stored.
            long first = AlignUp(offset, Environment.SystemPageSize);
            for (long p = first; p + sizeof(int) <= offset + length && !_stopPrefault; p += Environment.SystemPageSize)
            {
                Interlocked.Add(ref *(int*)(_start + p), 0);
            }
        }

        private void CheckRange(long offset, int length)
        {
            CheckAlive();
            if (offset < 0 || length < 0 || offset > Length - length)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Length}-byte block");
            }
        }

        private void CheckAlive() => ObjectDisposedException.ThrowIf(_start == null, this);

        private static long AlignUp(long value, long alignment) => (value + alignment - 1) & ~(alignment - 1);
    }

    /// <summary>A host staging buffer: page-aligned native memory.</summary>
    private sealed unsafe class HostStagingBuffer : IStagingBuffer
    {
        private readonly HostArenaDestination _owner;
        private byte* _start;

        public HostStagingBuffer(HostArenaDestination owner, int length)
        {
            _owner = owner;
            Length = length;
            _start = (byte*)NativeMemory.AlignedAlloc((nuint)length, 4096);
        }

        public int Length { get; }

        public Span<byte> Span
        {
            get
            {
                ObjectDisposedException.ThrowIf(_start == null, this);

                // The whole live buffer.
                return new Span<byte>(_start, Length);
            }
        }

        public void WaitForCopies()
        {
        }

        public void Dispose()
        {
            if (_start != null)
            {
                NativeMemory.AlignedFree(_start);
                _start = null;
                _owner.OnStagingFreed();
            }
        }
    }
}
