using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.ExceptionServices;
using Gguf.Format;
using Gguf.IO;
using Gguf.Model;
using Microsoft.Extensions.Logging;

namespace Gguf.Loading;

public sealed partial class ModelLoader
{
    /// <summary>The state of one <see cref="Load(GgufFile, IProgress{LoadProgress}?, CancellationToken)"/> call.</summary>
    private sealed class LoadRun
    {
        // In mmap mode the file's size is re-checked after every this many bytes a reader copies (see docs/loading.md).
        private const long SizeCheckInterval = 64L << 20;

        private readonly ModelLoader _loader;
        private readonly GgufFile _file;
        private readonly LoadOptions _options;
        private readonly ITensorDestination _destination;
        private readonly IProgress<LoadProgress>? _progress;
        private readonly CancellationToken _cancellationToken;
        private readonly LoadMode _mode;
        private readonly int _chunkSize;
        private readonly int _readers;
        private readonly bool _staged;
        private readonly IReadOnlyList<LoadedTensor> _plan;
        private readonly long _allocationBytes;

        // Tensors in the order they are read (by file offset), and where each one's chunks start in the global chunk numbering.
        private readonly LoadedTensor[] _order;
        private readonly long[] _chunkStart;
        private readonly int[] _chunksLeft;
        private readonly long _tensorBytes;
        private readonly ulong[]? _sourceHashes;
        private readonly long _intervalTicks;
        private readonly object _progressLock = new();
        private readonly Stopwatch _clock = new();

        private IDeviceBuffer? _buffer;
        private IStagingBuffer[]? _staging;
        private MappedFileLease? _mapped;
        private long _nextChunk;
        private long _bytesDone;
        private int _tensorsDone;
        private long _lastReport;
        private long _peakRss;
        private volatile bool _failed;

        public LoadRun(ModelLoader loader, GgufFile file, IReadOnlyList<GgufTensorInfo> tensors, IProgress<LoadProgress>? progress, CancellationToken cancellationToken)
        {
            _loader = loader;
            _file = file;
            _options = loader.Options;
            _destination = loader.Destination;
            _progress = progress;
            _cancellationToken = cancellationToken;
            _mode = ResolveMode(_options.Mode, _destination);
            _chunkSize = _options.ChunkSize;
            _readers = _options.EffectiveReaders;
            _staged = !(_destination.IsHostMemory && _options.DirectHostWrites);
            _plan = Plan(tensors, Math.Max(_options.TensorAlignment, 1), out _allocationBytes);

            _order = [.. _plan.OrderBy(t => t.SourceOffset)];
            _chunkStart = new long[_order.Length + 1];
            _chunksLeft = new int[_order.Length];
            for (int i = 0; i < _order.Length; i++)
            {
                long chunks = (_order[i].ByteSize + _chunkSize - 1) / _chunkSize;
                _chunksLeft[i] = (int)Math.Min(chunks, int.MaxValue);
                _chunkStart[i + 1] = _chunkStart[i] + chunks;
                _tensorBytes += _order[i].ByteSize;
                if (chunks == 0)
                {
                    _tensorsDone++;
                }
            }

            if (_options.Verify)
            {
                _sourceHashes = new ulong[_chunkStart[^1]];
            }

            _intervalTicks = (long)(_options.ProgressInterval.TotalSeconds * Stopwatch.Frequency);
        }

        private long TotalChunks => _chunkStart[^1];

        private string Path => _file.Path;

        public LoadedModel Execute()
        {
            _cancellationToken.ThrowIfCancellationRequested();
            MappedFile mapping = _file.Mapping;

            // The file must still be the size it was parsed with: reading a mapping past a truncation is SIGBUS.
            mapping.EnsureUnchanged();

            long available = _destination.AvailableBytes;
            if (_allocationBytes > available)
            {
                throw new InsufficientDeviceMemoryException(_allocationBytes, available, _destination.DeviceName, Path);
            }

            LogStarting(_loader._logger, _plan.Count, _tensorBytes, Path, _destination.DeviceName, _mode, _chunkSize, _readers,
                _staged ? $"{_options.RingSize} staging buffers each" : "written in place");
            if (_options.PeakMemory == PeakMemoryTracking.HighWaterMark)
            {
                _ = ProcessMemory.TryResetPeak();
            }

            _clock.Start();
            bool touchesMapping = _mode == LoadMode.Mmap;
            bool advised = false;
            try
            {
                try
                {
                    _buffer = _destination.Allocate(_allocationBytes);
                }
                catch (InsufficientDeviceMemoryException e)
                {
                    throw e.WithPath(Path);
                }

                if (_staged)
                {
                    AllocateStaging();
                }

                Report(null, force: true);
                using MappedFileLease lease = mapping.Acquire();
                _mapped = lease;
                if (_mode == LoadMode.Mmap && _tensorBytes > 0)
                {
                    mapping.Advise(AccessAdvice.Sequential, _file.DataOffset, mapping.Length - _file.DataOffset);
                    advised = true;
                }

                RunReaders();
                _buffer.Synchronize();
                TimeSpan loadTime = _clock.Elapsed;
                SampleRss();

                if (touchesMapping && _options.ReleaseConsumedRanges && _tensorBytes > 0)
                {
                    // Chunks released their whole pages as they went; this drops the partial pages at their edges.
                    _ = mapping.Release(_file.DataOffset, mapping.Length - _file.DataOffset);
                }

                DeviceMemoryKind kind = _buffer.QueryMemoryKind();
                if (_destination.ExpectedMemoryKind != DeviceMemoryKind.Unknown && kind != _destination.ExpectedMemoryKind)
                {
                    throw new InvalidOperationException($"the allocation on {_destination.DeviceName} is {kind} memory, not {_destination.ExpectedMemoryKind} memory");
                }

                long? peak = _options.PeakMemory switch
                {
                    PeakMemoryTracking.HighWaterMark => ProcessMemory.PeakRssBytes,
                    PeakMemoryTracking.Sampled when _peakRss > 0 => _peakRss,
                    _ => null,
                };

                TimeSpan verifyTime = TimeSpan.Zero;
                if (_options.Verify)
                {
                    long verifyStart = Stopwatch.GetTimestamp();
                    VerifyAll();
                    verifyTime = Stopwatch.GetElapsedTime(verifyStart);
                    if (touchesMapping && _options.ReleaseConsumedRanges && _tensorBytes > 0)
                    {
                        _ = mapping.Release(_file.DataOffset, mapping.Length - _file.DataOffset);
                    }
                }

                long? mappingResident = _options.PeakMemory == PeakMemoryTracking.None ? null : ProcessMemory.ResidentBytesInRange((long)lease.DangerousGetAddress(), mapping.Length);
                var statistics = new LoadStatistics
                {
                    DeviceName = _destination.DeviceName,
                    Mode = _mode,
                    ChunkSize = _chunkSize,
                    Readers = _readers,
                    RingSize = _staged ? _options.RingSize : 0,
                    Tensors = _plan.Count,
                    Bytes = _tensorBytes,
                    AllocatedBytes = _allocationBytes,
                    LoadTime = loadTime,
                    VerifyTime = verifyTime,
                    Verified = _options.Verify,
                    MemoryKind = kind,
                    PeakRssBytes = peak,
                    MappingResidentBytes = mappingResident,
                };

                Report(null, force: true);
                var model = new LoadedModel(_destination, _buffer, Path, _plan, statistics);
                _buffer = null;
                LogCompleted(_loader._logger, Path, _destination.DeviceName, loadTime.TotalSeconds, statistics.GigabytesPerSecond, _options.Verify ? ", verified" : "");
                return model;
            }
            catch (OperationCanceledException)
            {
                FreeAfterFailure();
                LogCancelled(_loader._logger, Path, Interlocked.Read(ref _bytesDone), _tensorBytes);
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
                FreeStaging();
                if (advised && !mapping.IsDisposed)
                {
                    mapping.Advise(AccessAdvice.Normal, _file.DataOffset, mapping.Length - _file.DataOffset);
                }
            }
        }

        private void AllocateStaging()
        {
            int count = _readers * _options.RingSize;
            int length = (int)Math.Min(_chunkSize, Math.Max(1, _order.Length == 0 ? 1 : _order.Max(t => t.ByteSize)));
            _staging = new IStagingBuffer[count];
            for (int i = 0; i < count; i++)
            {
                _staging[i] = _destination.AllocateStaging(length);
            }
        }

        private void RunReaders()
        {
            if (TotalChunks == 0)
            {
                return;
            }

            int readers = (int)Math.Min(_readers, TotalChunks);
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
                int ring = _options.RingSize;
                int slot = 0;
                long sinceSizeCheck = 0;
                long lookahead = (long)_readers * ring;
                byte[]? scratch = null;
                while (!_failed)
                {
                    _cancellationToken.ThrowIfCancellationRequested();
                    long chunk = Interlocked.Increment(ref _nextChunk) - 1;
                    if (chunk >= TotalChunks)
                    {
                        return;
                    }

                    (int index, long offsetInTensor, int length) = Locate(chunk);
                    LoadedTensor tensor = _order[index];
                    long fileOffset = tensor.SourceOffset + offsetInTensor;
                    long deviceOffset = tensor.Offset + offsetInTensor;
                    if (_mode == LoadMode.Mmap)
                    {
                        if ((sinceSizeCheck += length) >= SizeCheckInterval)
                        {
                            _file.Mapping.EnsureUnchanged();
                            sinceSizeCheck = 0;
                        }

                        if (chunk + lookahead < TotalChunks)
                        {
                            (int aheadIndex, long aheadOffset, int aheadLength) = Locate(chunk + lookahead);
                            _file.Mapping.Prefetch(_order[aheadIndex].SourceOffset + aheadOffset, aheadLength);
                        }
                    }

                    if (_staged)
                    {
                        IStagingBuffer staging = _staging![(reader * ring) + slot];
                        slot = (slot + 1) % ring;

                        // The copy that last read this buffer must be done before it is written again.
                        staging.WaitForCopies();
                        Span<byte> target = staging.Span[..length];
                        Fill(target, fileOffset, tensor);
                        if (_sourceHashes is not null)
                        {
                            _sourceHashes[chunk] = XxHash64.HashToUInt64(target);
                        }

                        _buffer!.EnqueueCopyFromHost(deviceOffset, staging, length);
                    }
                    else
                    {
                        if (!_buffer!.TryGetHostSpan(deviceOffset, length, out Span<byte> target))
                        {
                            throw new InvalidOperationException($"{_destination.DeviceName} says it is host memory but gives no host span");
                        }

                        Fill(target, fileOffset, tensor);
                        if (_sourceHashes is not null)
                        {
                            // Hash the file's bytes, not the destination's: the source side of the comparison must not be
                            // what it checks. In mmap mode they are the mapping; in read mode a second read of the chunk
                            // into a scratch buffer, which keeps read mode off the mapping (and so immune to SIGBUS).
                            if (_mode == LoadMode.Mmap)
                            {
                                _sourceHashes[chunk] = XxHash64.HashToUInt64(_mapped!.GetSpan(fileOffset, length));
                            }
                            else
                            {
                                scratch ??= GC.AllocateUninitializedArray<byte>(_chunkSize);
                                Fill(scratch.AsSpan(0, length), fileOffset, tensor);
                                _sourceHashes[chunk] = XxHash64.HashToUInt64(scratch.AsSpan(0, length));
                            }
                        }
                    }

                    if (_mode == LoadMode.Mmap && _options.ReleaseConsumedRanges)
                    {
                        _ = _file.Mapping.Release(fileOffset, length);
                    }

                    AfterChunk(index, length, tensor.Name);
                }
            }
            catch
            {
                _failed = true;
                throw;
            }
        }

        private void Fill(Span<byte> target, long fileOffset, LoadedTensor tensor)
        {
            if (_mode == LoadMode.Mmap)
            {
                _mapped!.GetSpan(fileOffset, target.Length).CopyTo(target);
                return;
            }

            int done = 0;
            while (done < target.Length)
            {
                // Through the descriptor the file was opened with: the same file, never the path again.
                int read = _file.Mapping.ReadAt(fileOffset + done, target[done..]);
                if (read <= 0)
                {
                    long now = RandomAccess.GetLength(_file.Mapping.FileHandle);
                    throw new MappedFileException(MappedFileError.FileChanged, Path,
                        $"unexpected end of file reading tensor '{tensor.Name}': got {done} of {target.Length} bytes at offset {fileOffset} (the file is {now} bytes now, {_file.FileSize} when opened)");
                }

                done += read;
            }
        }

        private (int Index, long OffsetInTensor, int Length) Locate(long chunk)
        {
            int index = Array.BinarySearch(_chunkStart, chunk);

            // Not found: ~index is the first start greater than chunk, so the tensor is the one before it.
            // Found: several tensors may share the start (zero-size tensors); take the last, which owns chunks.
            if (index < 0)
            {
                index = ~index - 1;
            }
            else
            {
                while (index + 1 < _chunkStart.Length && _chunkStart[index + 1] == chunk)
                {
                    index++;
                }
            }

            long offset = (chunk - _chunkStart[index]) * _chunkSize;
            int length = (int)Math.Min(_chunkSize, _order[index].ByteSize - offset);
            return (index, offset, length);
        }

        private void AfterChunk(int index, int length, string tensorName)
        {
            Interlocked.Add(ref _bytesDone, length);
            if (Interlocked.Decrement(ref _chunksLeft[index]) == 0)
            {
                Interlocked.Increment(ref _tensorsDone);
            }

            if (_progress is null && _options.PeakMemory != PeakMemoryTracking.Sampled)
            {
                return;
            }

            if (Stopwatch.GetTimestamp() - Volatile.Read(ref _lastReport) >= _intervalTicks)
            {
                Report(tensorName, force: false);
            }
        }

        private void Report(string? currentTensor, bool force)
        {
            lock (_progressLock)
            {
                long now = Stopwatch.GetTimestamp();
                if (!force && now - _lastReport < _intervalTicks)
                {
                    return;
                }

                Volatile.Write(ref _lastReport, now);
                SampleRss();
                _progress?.Report(new LoadProgress(Interlocked.Read(ref _bytesDone), _tensorBytes, Volatile.Read(ref _tensorsDone), _plan.Count, currentTensor, _clock.Elapsed));
            }
        }

        private void SampleRss()
        {
            if (_options.PeakMemory == PeakMemoryTracking.Sampled && ProcessMemory.CurrentRssBytes is long rss && rss > _peakRss)
            {
                _peakRss = rss;
            }
        }

        /// <summary>Reads every chunk back from the device and compares its hash with the file's.</summary>
        private void VerifyAll()
        {
            byte[]? rented = null;
            try
            {
                Span<byte> scratch = default;
                if (_staging is { Length: > 0 })
                {
                    _staging[0].WaitForCopies();
                    scratch = _staging[0].Span;
                }
                else
                {
                    rented = ArrayPool<byte>.Shared.Rent(_chunkSize);
                    scratch = rented;
                }

                Span<byte> pair = stackalloc byte[8];
                for (int index = 0; index < _order.Length; index++)
                {
                    LoadedTensor tensor = _order[index];
                    long first = _chunkStart[index];
                    long count = _chunkStart[index + 1] - first;
                    var expected = new XxHash64();
                    var actual = new XxHash64();
                    bool same = true;
                    for (long c = 0; c < count; c++)
                    {
                        _cancellationToken.ThrowIfCancellationRequested();
                        long offset = c * _chunkSize;
                        int length = (int)Math.Min(_chunkSize, tensor.ByteSize - offset);
                        ulong hash;
                        if (_buffer!.TryGetHostSpan(tensor.Offset + offset, length, out Span<byte> inPlace))
                        {
                            hash = XxHash64.HashToUInt64(inPlace);
                        }
                        else
                        {
                            Span<byte> back = scratch[..length];
                            _buffer.CopyToHost(tensor.Offset + offset, back);
                            hash = XxHash64.HashToUInt64(back);
                        }

                        ulong source = _sourceHashes![first + c];
                        same &= hash == source;
                        BinaryPrimitives.WriteUInt64LittleEndian(pair, source);
                        expected.Append(pair);
                        BinaryPrimitives.WriteUInt64LittleEndian(pair, hash);
                        actual.Append(pair);
                    }

                    if (!same)
                    {
                        throw new TensorVerificationException(tensor.Name, expected.GetCurrentHashAsUInt64(), actual.GetCurrentHashAsUInt64(), _destination.DeviceName, Path);
                    }
                }
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
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

        private void FreeStaging()
        {
            if (_staging is null)
            {
                return;
            }

            foreach (IStagingBuffer? staging in _staging)
            {
                if (staging is null)
                {
                    continue;
                }

                try
                {
                    staging.WaitForCopies();
                }
                catch (Exception e)
                {
                    LogCleanupFailed(_loader._logger, e);
                }
                finally
                {
                    staging.Dispose();
                }
            }

            _staging = null;
        }
    }
}
