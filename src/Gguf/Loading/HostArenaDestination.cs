using System.Diagnostics;
using Gguf.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gguf.Loading;

/// <summary>
/// How a host arena gets its pages before the loader writes them. A benchmark knob (internal): on-demand is the
/// default because it measured as fast as the others without an extra thread (docs/benchmarks-load.md).
/// </summary>
internal enum ArenaPrefault
{
    /// <summary>Pages are faulted in by the writes themselves.</summary>
    None,

    /// <summary>The whole arena is faulted in when it is allocated (<c>MADV_POPULATE_WRITE</c>).</summary>
    Upfront,

    /// <summary>A background thread faults the arena in from the front while the loader writes behind it.</summary>
    Background,

    /// <summary>
    /// Each region (2 MiB by default) is faulted in, in one call, the first time the loader asks for a span in it: no extra
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

    /// <summary>How pages are faulted in ahead of the writes (benchmarks compare the strategies).</summary>
    internal ArenaPrefault Prefault { get; init; } = ArenaPrefault.OnDemand;

    /// <summary>The bytes one pre-faulting call covers (<see cref="ArenaPrefault.OnDemand"/>, <see cref="ArenaPrefault.Background"/>); a multiple of 2 MiB.</summary>
    internal long PrefaultRegion { get; init; } = DefaultPrefaultRegion;

    internal const long DefaultPrefaultRegion = 2L << 20;
}

/// <summary>
/// The default destination: native host memory outside the GC heap (an anonymous mapping on Linux, an aligned
/// allocation elsewhere), each block aligned to 256 bytes (2 MiB for large blocks, so they can be huge pages)
/// and owned by a SafeHandle in the IO layer. Thread-safe. Dispose it after use; see
/// <see cref="TensorDestination"/> for what that does to the blocks still alive.
/// </summary>
public sealed class HostArenaDestination : TensorDestination
{
    private const int BlockAlignment = 256;
    private const int StagingAlignment = 4096;
    private readonly HostArenaOptions _options;
    private readonly ILogger _logger;
    private long _faultedBytes;
    private long _faultTicks;

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
    public override string DeviceName => "host";

    /// <inheritdoc />
    public override bool IsHostMemory => true;

    /// <inheritdoc />
    public override DeviceMemoryKind ExpectedMemoryKind => DeviceMemoryKind.Host;

    /// <inheritdoc />
    public override long TotalBytes => _options.CapacityBytes ?? HostMemoryInfo.TotalBytes;

    /// <inheritdoc />
    public override long AvailableBytes => _options.CapacityBytes is long cap
        ? Math.Max(0, cap - AllocatedBytes)
        : HostMemoryInfo.AvailableBytes;

    /// <inheritdoc />
    public override int Alignment => BlockAlignment;

    /// <summary>
    /// The bytes the on-demand regions of this arena's blocks were faulted in for so far, and the time the faulting
    /// threads spent on it (<see cref="System.Diagnostics.Stopwatch"/> ticks, summed over threads): benchmarks report
    /// the rate, which bounds a load into fresh memory.
    /// </summary>
    internal (long Bytes, long Ticks) FaultCounters => (Interlocked.Read(ref _faultedBytes), Interlocked.Read(ref _faultTicks));

    /// <inheritdoc />
    protected override DeviceBuffer AllocateCore(long length)
    {
        HostMemoryHandle memory;
        try
        {
            memory = HostMemoryHandle.Allocate(length, BlockAlignment, _options.HugePages, "arena", _logger);
        }
        catch (OutOfMemoryException e)
        {
            throw new InsufficientDeviceMemoryException(length, AvailableBytes, DeviceName, null, e);
        }

        return new ArenaBuffer(this, memory, length, length == 0 ? ArenaPrefault.None : _options.Prefault, _options.PrefaultRegion);
    }

    /// <inheritdoc />
    protected override StagingBuffer AllocateStagingCore(int length) =>
        new HostStagingBuffer(this, AlignedMemoryHandle.Allocate(length, StagingAlignment, "staging", _logger));

    private void CountFault(long bytes, long ticks)
    {
        Interlocked.Add(ref _faultedBytes, bytes);
        Interlocked.Add(ref _faultTicks, ticks);
    }

    /// <summary>One block of host memory; its pointer work is done by the handle, in the IO layer.</summary>
    private sealed class ArenaBuffer : DeviceBuffer
    {
        // The states of an on-demand region: nobody asked for it yet, a thread is faulting it in, it is in.
        private const int RegionUntouched = 0;
        private const int RegionFaulting = 1;
        private const int RegionReady = 2;
        private readonly HostMemoryHandle _memory;
        private readonly long _region;
        private readonly int[]? _regionState;
        private readonly CancellationTokenSource? _stopPrefault;

        public ArenaBuffer(HostArenaDestination owner, HostMemoryHandle memory, long length, ArenaPrefault prefault, long region)
            : base(owner, length)
        {
            _memory = memory;
            _region = region;
            if (prefault == ArenaPrefault.Background && length <= region)
            {
                prefault = ArenaPrefault.Upfront;
            }

            if (prefault == ArenaPrefault.Upfront)
            {
                _ = _memory.Populate(0, length, CancellationToken.None);
            }
            else if (prefault == ArenaPrefault.Background)
            {
                // The prefaulter's calls hold references on the handle: Dispose stops it, and the memory is
                // unmapped only after its last call returned.
                _stopPrefault = new CancellationTokenSource();
                CancellationToken stop = _stopPrefault.Token;
                new Thread(() => PrefaultLoop(memory, length, region, stop)) { IsBackground = true, Name = "gguf arena prefault" }.Start();
            }
            else if (prefault == ArenaPrefault.OnDemand)
            {
                _regionState = new int[(length + region - 1) / region];
            }
        }

        protected override void CopyFromHostCore(long offset, ReadOnlySpan<byte> source)
        {
            EnsureFaultedIn(offset, source.Length);
            _memory.Write(offset, source);
        }

        // Host memory: the "enqueued" copy completes before returning, so the staging buffer is free at once.
        protected override void EnqueueCopyFromHostCore(long offset, StagingBuffer source, int length) =>
            CopyFromHost(offset, source.Span[..length]);

        protected override void SynchronizeCore()
        {
        }

        protected override void CopyToHostCore(long offset, Span<byte> destination) => _memory.Read(offset, destination);

        protected override bool TryGetHostSpanCore(long offset, int length, out Span<byte> span)
        {
            EnsureFaultedIn(offset, length);

            // Valid until the buffer is disposed, as IDeviceBuffer documents.
            span = _memory.GetSpan(offset, length);
            return true;
        }

        protected override DeviceMemoryKind QueryMemoryKindCore() => DeviceMemoryKind.Host;

        protected override void Dispose(bool disposing)
        {
            _stopPrefault?.Cancel();
            _stopPrefault?.Dispose();
            _memory.Dispose();
        }

        private static void PrefaultLoop(HostMemoryHandle memory, long length, long region, CancellationToken stop)
        {
            for (long offset = 0; offset < length && !stop.IsCancellationRequested; offset += region)
            {
                if (!memory.Populate(offset, Math.Min(region, length - offset), stop))
                {
                    return;
                }
            }
        }

        private void EnsureFaultedIn(long offset, int length)
        {
            if (_regionState is null || length == 0)
            {
                return;
            }

            for (long region = offset / _region; region <= (offset + length - 1) / _region; region++)
            {
                ref int state = ref _regionState[region];
                if (Volatile.Read(ref state) == RegionReady)
                {
                    continue;
                }

                if (Interlocked.CompareExchange(ref state, RegionFaulting, RegionUntouched) == RegionUntouched)
                {
                    long began = Stopwatch.GetTimestamp();
                    long start = region * _region;
                    long bytes = Math.Min(_region, Length - start);
                    try
                    {
                        _ = _memory.Populate(start, bytes, CancellationToken.None);
                    }
                    finally
                    {
                        Volatile.Write(ref state, RegionReady);
                        ((HostArenaDestination)Destination).CountFault(bytes, Stopwatch.GetTimestamp() - began);
                    }

                    continue;
                }

                // Another thread is faulting this region in. Writing into it now would fault the same huge page a
                // second time, and the kernel would zero a second 2 MiB page only to throw one away: wait instead
                // (one region takes well under a millisecond when the memory is warm).
                var spin = default(SpinWait);
                while (Volatile.Read(ref state) != RegionReady)
                {
                    spin.SpinOnce();
                }
            }
        }
    }

    /// <summary>A host staging buffer: page-aligned native memory.</summary>
    private sealed class HostStagingBuffer(HostArenaDestination owner, HostMemoryHandle memory) : StagingBuffer(owner, checked((int)memory.Length))
    {
        // The whole buffer; valid until Dispose, as StagingBuffer documents.
        protected override Span<byte> GetSpanCore() => memory.GetSpan(0, Length);

        protected override void Dispose(bool disposing) => memory.Dispose();
    }
}
