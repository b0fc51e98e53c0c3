using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Gguf.IO;
using Gguf.Format;
using Gguf.Model;
using Microsoft.Win32.SafeHandles;

namespace Gguf.Loading;

public sealed partial class ModelLoader
{
    /// <summary>
    /// One <see cref="Load(GgufFile, IProgress{LoadProgress}?, CancellationToken)"/> call: checks the fit, allocates,
    /// runs the reader threads over the <see cref="ChunkPlan"/> with a <see cref="IChunkReader"/> each, then
    /// verifies and cleans up. The parts do the work; this class only wires them and owns what the load allocated.
    /// </summary>
    private sealed class LoadRun : IDisposable
    {
        private readonly ModelLoader _loader;
        private readonly GgufFile _file;
        private readonly LoadOptions _options;
        private readonly ITensorDestination _destination;
        private readonly CancellationToken _cancellationToken;
        private readonly bool _staged;
        private readonly ChunkPlan _plan;
        private readonly RssSampler _rss;
        private readonly ProgressThrottle _progress;
        private readonly ChunkVerifier? _verifier;
        private readonly Stopwatch _clock = new();

        private IDeviceBuffer? _buffer;
        private StagingRing? _staging;
        private MappedFileLease? _lease;
        private ReadAheadWorker? _readAhead;
        private SafeFileHandle? _direct;
        private string? _directRefusal;
        private LoadMode _mode;
        private int _readers;
        private long _nextChunk;
        private long _nextRegion;
        private bool _regionClaims;
        private volatile bool _failed;

        public LoadRun(ModelLoader loader, GgufFile file, IReadOnlyList<GgufTensorInfo> tensors, IProgress<LoadProgress>? progress, CancellationToken cancellationToken)
        {
            _loader = loader;
            _file = file;
            _options = loader.Options;
            _destination = loader.Destination;
            _cancellationToken = cancellationToken;
            _staged = !(_destination.IsHostMemory && _options.DirectHostWrites);
            _plan = new ChunkPlan(tensors, Math.Max(_options.TensorAlignment, 1), _options.ChunkSize);
            _rss = new RssSampler(_options.PeakMemory);
            _progress = new ProgressThrottle(_plan, progress, _options.ProgressInterval, _rss, _clock);
            _verifier = _options.Verify ? new ChunkVerifier(_plan, _destination.DeviceName, file.Path) : null;
        }

        private string Path => _file.Path;

        public LoadedModel Execute()
        {
            _cancellationToken.ThrowIfCancellationRequested();
            MappedFile mapping = _file.Mapping;

            // The file must still be the size it was parsed with: reading a mapping past a truncation is SIGBUS.
            mapping.EnsureUnchanged();

            long available = _destination.AvailableBytes;
            if (_plan.AllocationBytes > available)
            {
                throw new InsufficientDeviceMemoryException(_plan.AllocationBytes, available, _destination.DeviceName, Path);
            }

            _clock.Start();
            bool advised = false;
            long dataLength = mapping.Length - _file.DataOffset;
            try
            {
                using MappedFileLease lease = mapping.Acquire();
                _lease = lease;
                double? resident = ChooseMode();
                bool touchesMapping = _mode == LoadMode.Mmap;
                LogStarting(_loader._logger, _plan.Tensors.Count, _plan.TensorBytes, Path, _destination.DeviceName, _mode, _plan.ChunkSize, _readers,
                    _staged ? $"{_options.RingSize} staging buffers each" : "written in place");
                _rss.Start();
                try
                {
                    _buffer = _destination.Allocate(_plan.AllocationBytes);
                }
                catch (InsufficientDeviceMemoryException e)
                {
                    throw e.WithPath(Path);
                }

                if (_staged)
                {
                    _staging = new StagingRing(_destination, _readers, _options.RingSize, _plan.LargestChunk, e => LogCleanupFailed(_loader._logger, e));
                }

                _progress.Report(null, force: true);
                if (touchesMapping && _plan.TensorBytes > 0)
                {
                    mapping.Advise(AccessAdvice.Sequential, _file.DataOffset, dataLength);
                    advised = true;
                }

                // The helper maps the file in ahead of mmap readers (one helper beat each reader populating its own
                // chunk, docs/benchmarks-load.md) and faults the destination in where the readers do not: ahead of
                // disk-bound direct readers, and for a single reader. Several readers with region claims each fault in
                // the region they fill next, which measured faster than one helper running ahead of them.
                ReadAheadMode readAhead = _options.ReadAhead ?? ReadAheadMode.Helper;
                bool helper = readAhead == ReadAheadMode.Helper;
                bool helperFaultsBlock = helper && !_staged && (_mode == LoadMode.Direct || !_regionClaims || _readers == 1);
                if (_plan.TotalChunks > 0 && readAhead != ReadAheadMode.Off && (touchesMapping || helperFaultsBlock))
                {
                    // Direct reads wait for the disk: there the helper faults the whole block in as fast as it can (it is
                    // allocated in full anyway), and once it is done the readers, and on a VM the disk emulation, have the
                    // CPU to themselves. Copies from the page cache keep it one window ahead, so that the pages it zeroed
                    // are still in the cache when the copy writes them (docs/benchmarks-load.md).
                    long window = _options.ReadAheadWindow ?? (_mode == LoadMode.Direct ? Math.Max(ReadAheadWindow, _plan.AllocationBytes) : ReadAheadWindow);
                    _readAhead = new ReadAheadWorker(_plan, () => Interlocked.Read(ref _nextChunk), _file, touchesMapping ? lease : null, helperFaultsBlock ? _buffer : null,
                        window, ReadAheadBatch, _loader._logger);
                    if (helper)
                    {
                        _readAhead.Start();
                    }
                }

                try
                {
                    RunReaders();
                }
                finally
                {
                    // The helper touches the mapping and the block: it must be gone before either is released.
                    _readAhead?.Dispose();
                    _readAhead = null;
                }

                _buffer.Synchronize();
                TimeSpan loadTime = _clock.Elapsed;
                _rss.Sample();

                bool release = touchesMapping && _options.ReleaseConsumedRanges && _plan.TensorBytes > 0;
                if (release)
                {
                    // Chunks released their whole pages as they went; this drops the partial pages at their edges.
                    _ = mapping.Release(_file.DataOffset, dataLength);
                }

                DeviceMemoryKind kind = _buffer.QueryMemoryKind();
                if (_destination.ExpectedMemoryKind != DeviceMemoryKind.Unknown && kind != _destination.ExpectedMemoryKind)
                {
                    throw new InvalidOperationException($"the allocation on {_destination.DeviceName} is {kind} memory, not {_destination.ExpectedMemoryKind} memory");
                }

                long? peak = _rss.Peak;
                TimeSpan verifyTime = TimeSpan.Zero;
                if (_verifier is not null)
                {
                    long verifyStart = Stopwatch.GetTimestamp();
                    _verifier.VerifyAll(_buffer, _staging is null ? default : _staging.Scratch(), _cancellationToken);
                    verifyTime = Stopwatch.GetElapsedTime(verifyStart);
                    if (release)
                    {
                        _ = mapping.Release(_file.DataOffset, dataLength);
                    }
                }

                long? mappingResident = _rss.Enabled ? ProcessMemory.ResidentBytesInRange((long)lease.DangerousGetAddress(), mapping.Length) : null;
                var statistics = new LoadStatistics
                {
                    DeviceName = _destination.DeviceName,
                    Mode = _mode,
                    RequestedMode = _options.Mode,
                    ResidentFraction = resident,
                    DirectIoRefused = _directRefusal is not null,
                    ChunkSize = _plan.ChunkSize,
                    Readers = _readers,
                    RingSize = _staged ? _options.RingSize : 0,
                    Tensors = _plan.Tensors.Count,
                    Bytes = _plan.TensorBytes,
                    AllocatedBytes = _plan.AllocationBytes,
                    LoadTime = loadTime,
                    VerifyTime = verifyTime,
                    Verified = _options.Verify,
                    MemoryKind = kind,
                    PeakRssBytes = peak,
                    MappingResidentBytes = mappingResident,
                };

                _progress.Report(null, force: true);
                var model = new LoadedModel(_destination, _buffer, Path, _plan.Tensors, statistics);
                _buffer = null;
                LogCompleted(_loader._logger, Path, _destination.DeviceName, loadTime.TotalSeconds, statistics.GigabytesPerSecond, _options.Verify ? ", verified" : "");
                return model;
            }
            catch (OperationCanceledException)
            {
                FreeAfterFailure();
                LogCancelled(_loader._logger, Path, _progress.BytesDone, _plan.TensorBytes);
                throw;
            }
            catch (Exception e)
            {
                FreeAfterFailure();
                LogFailed(_loader._logger, e, Path);
                throw;
            }
            finally
            {
                Dispose();
                if (advised && !mapping.IsDisposed)
                {
                    mapping.Advise(AccessAdvice.Normal, _file.DataOffset, dataLength);
                }
            }
        }

        /// <summary>Frees the staging buffers (after the copies from them finished) and the direct descriptor; the block belongs to the model or was freed.</summary>
        public void Dispose()
        {
            Interlocked.Exchange(ref _staging, null)?.Dispose();
            Interlocked.Exchange(ref _direct, null)?.Dispose();
        }

        /// <summary>
        /// Settles the mode (<see cref="LoadMode.Auto"/> by the file's residency; <see cref="LoadMode.Direct"/> falls back
        /// to <see cref="LoadMode.Read"/> where O_DIRECT is refused) and the reader count; returns the residency measured.
        /// </summary>
        private double? ChooseMode()
        {
            double? resident = null;
            _mode = _options.Mode;
            if (_mode == LoadMode.Auto)
            {
                resident = DirectIo.ResidentFraction(_file, _lease!);
                _mode = resident is double f && f < AutoDirectBelowResidency ? LoadMode.Direct : LoadMode.Read;
                LogAutoChose(_loader._logger, Path, _mode, resident is double r ? $"{r:P0} of the data cached" : "residency unknown");
            }

            if (_mode == LoadMode.Direct && _plan.TotalChunks > 0)
            {
                _direct = DirectIo.TryOpen(_file, _options.SimulateDirectIoRefusal, out _directRefusal);
                if (_direct is null)
                {
                    LogDirectRefused(_loader._logger, Path, _directRefusal!);
                    _mode = LoadMode.Read;
                }
            }

            _readers = _options.EffectiveReaders(_mode, inPlaceHost: !_staged);
            _regionClaims = (_options.RegionClaims ?? true) && !_staged && _mode != LoadMode.Direct && _plan.DeviceFollowsFile;
            return resident;
        }

        // Streaming stores only for host memory written in place: that block is large, fresh and not read again
        // soon, while a staging buffer is reused at once and is best left in the cache (docs/loading.md).
        private bool StreamingStores => _options.StreamingStores && !_staged;

        private IChunkReader CreateReader() => _mode switch
        {
            LoadMode.Mmap => new MmapChunkReader(_file, _lease!, _readAhead, _options.ReleaseConsumedRanges, StreamingStores),
            LoadMode.Direct => new DirectChunkReader(_file, _direct!, _plan.ChunkSize, StreamingStores),
            _ => new PreadChunkReader(_file),
        };

        private void RunReaders()
        {
            if (_plan.TotalChunks == 0)
            {
                return;
            }

            int readers = (int)Math.Min(_readers, _plan.TotalChunks);
            if (readers == 1)
            {
                ReadLoop(0);
                return;
            }

            try
            {
                Parallel.For(0, readers, new ParallelOptions { MaxDegreeOfParallelism = readers }, ReadLoop);
            }
            catch (AggregateException e)
            {
                Exception first = e.Flatten().InnerExceptions.FirstOrDefault(x => x is not OperationCanceledException) ?? e.Flatten().InnerExceptions[0];
                ExceptionDispatchInfo.Throw(first);
            }
        }

        /// <summary>One reader: takes the next chunk, reads it, hands it to the destination, until none is left.</summary>
        private void ReadLoop(int reader)
        {
            try
            {
                using IChunkReader source = CreateReader();
                int slot = 0;
                long number = 0;
                long end = 0;
                while (!_failed)
                {
                    _cancellationToken.ThrowIfCancellationRequested();
                    if (number == end && !Claim(out number, out end))
                    {
                        return;
                    }

                    LoadChunk chunk = _plan.Locate(number);
                    _readAhead?.BeforeRead(chunk);
                    if (_staging is not null)
                    {
                        IStagingBuffer staging = _staging.Next(reader, ref slot);
                        Span<byte> target = staging.Span[..chunk.Length];
                        source.Read(chunk, target);
                        _verifier?.Record(chunk, target);
                        _buffer!.EnqueueCopyFromHost(chunk.DeviceOffset, staging, chunk.Length);
                    }
                    else
                    {
                        if (!_buffer!.TryGetHostSpan(chunk.DeviceOffset, chunk.Length, out Span<byte> target))
                        {
                            throw new InvalidOperationException($"{_destination.DeviceName} says it is host memory but gives no host span");
                        }

                        source.Read(chunk, target);

                        // Hash the file's bytes, not the destination's: the source side of the comparison must not be what it checks.
                        _verifier?.Record(chunk, source.ReadAgain(chunk));
                    }

                    source.Consumed(chunk);
                    _progress.ChunkDone(chunk);
                    number++;
                }
            }
            catch
            {
                _failed = true;
                throw;
            }
        }

        /// <summary>
        /// The next chunks for a reader, [<paramref name="first"/>, <paramref name="end"/>): one chunk, or with region
        /// claims every chunk that starts in the next region of the block, so that one reader faults a region in and
        /// fills it while the memory it just zeroed is still in the cache, and readers never wait on each other's faults.
        /// </summary>
        private bool Claim(out long first, out long end)
        {
            if (!_regionClaims)
            {
                first = Interlocked.Increment(ref _nextChunk) - 1;
                end = first + 1;
                return first < _plan.TotalChunks;
            }

            while (true)
            {
                long region = Interlocked.Increment(ref _nextRegion) - 1;
                long start = region * ClaimRegion;
                if (start >= _plan.AllocationBytes)
                {
                    first = end = _plan.TotalChunks;
                    return false;
                }

                first = _plan.FirstChunkAtOrAfter(start);
                end = _plan.FirstChunkAtOrAfter(start + ClaimRegion);
                if (first < end)
                {
                    // What the read-ahead helper and the progress consider "taken".
                    long taken;
                    while ((taken = Interlocked.Read(ref _nextChunk)) < end && Interlocked.CompareExchange(ref _nextChunk, end, taken) != taken)
                    {
                    }

                    return true;
                }
            }
        }

        private void FreeAfterFailure()
        {
            _failed = true;
            IDeviceBuffer? buffer = Interlocked.Exchange(ref _buffer, null);
            if (buffer is null)
            {
                return;
            }

            try
            {
                // Copies still in flight read staging buffers and write the block: let them land first.
                buffer.Synchronize();
            }
            catch (Exception e)
            {
                LogCleanupFailed(_loader._logger, e);
            }
            finally
            {
                buffer.Dispose();
            }
        }
    }
}
