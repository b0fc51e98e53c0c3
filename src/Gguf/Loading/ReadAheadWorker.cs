using Gguf.IO;
using Gguf.Model;
using Microsoft.Extensions.Logging;

namespace Gguf.Loading;

/// <summary>
/// A helper thread that prepares the chunks the readers take next, up to a window ahead of them: it maps the
/// file's pages in (<see cref="LoadMode.Mmap"/>: one <c>MADV_POPULATE_READ</c> per batch instead of a page fault
/// every few pages) and faults the destination's pages in (host memory written in place: the arena populates a
/// region the first time a span in it is asked for), so that neither cost falls on the reader threads. Both are
/// hints: a reader that overtakes the helper prepares its own chunk, and a failure only stops the helping.
/// </summary>
internal sealed partial class ReadAheadWorker : IDisposable
{
    private readonly ChunkPlan _plan;
    private readonly Func<long> _readersAt;
    private readonly GgufFile _file;
    private readonly MappedFileLease? _mapping;
    private readonly IDeviceBuffer? _hostBlock;
    private readonly long _windowChunks;
    private readonly long _batchChunks;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private long _prepared;
    private int _waiting;
    private bool _started;
    private volatile bool _stop;
    private volatile bool _populateUnsupported;
    private long _populatedBytes;
    private int _populateCalls;

    /// <param name="plan">The chunks.</param>
    /// <param name="readersAt">The next chunk number the readers will take.</param>
    /// <param name="file">The file.</param>
    /// <param name="mapping">The load's lease on the mapping when the readers copy from it; null otherwise.</param>
    /// <param name="hostBlock">The destination block when the readers write it in place; null otherwise.</param>
    /// <param name="windowBytes">How far ahead of the readers to prepare.</param>
    /// <param name="batchBytes">How much to prepare in one step.</param>
    /// <param name="logger">Debug logs of the mapping operations.</param>
    public ReadAheadWorker(ChunkPlan plan, Func<long> readersAt, GgufFile file, MappedFileLease? mapping, IDeviceBuffer? hostBlock, long windowBytes, long batchBytes, ILogger logger)
    {
        _plan = plan;
        _readersAt = readersAt;
        _file = file;
        _mapping = mapping;
        _hostBlock = hostBlock;
        _windowChunks = Math.Max(1, windowBytes / plan.ChunkSize);
        _batchChunks = Math.Clamp(batchBytes / plan.ChunkSize, 1, _windowChunks);
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "gguf-read-ahead" };
    }

    /// <summary>Starts the helper thread.</summary>
    public void Start()
    {
        _thread.Start();
        _started = true;
    }

    /// <summary>
    /// Called by a reader before it reads <paramref name="chunk"/>: wakes the helper and, when the helper has not
    /// reached the chunk yet, maps the chunk's pages in itself.
    /// </summary>
    public void BeforeRead(in LoadChunk chunk)
    {
        if (Interlocked.Exchange(ref _waiting, 0) == 1)
        {
            _wake.Release();
        }

        if (_mapping is not null && chunk.Number >= Volatile.Read(ref _prepared))
        {
            PopulateMapping(chunk.FileOffset, chunk.Length);
        }
    }

    /// <summary>Stops the helper and waits for it: afterwards it touches neither the mapping nor the block.</summary>
    public void Dispose()
    {
        _stop = true;
        _wake.Release();
        if (_started)
        {
            _thread.Join();
        }

        _wake.Dispose();
        if (_populateCalls > 0)
        {
            LogPopulated(_logger, _file.Path, _populatedBytes, _populateCalls);
        }
    }

    private void Run()
    {
        try
        {
            long next = 0;
            while (!_stop)
            {
                long at = _readersAt();
                next = Math.Max(next, at);
                long limit = Math.Min(_plan.TotalChunks, at + _windowChunks);
                if (next >= limit)
                {
                    if (at >= _plan.TotalChunks)
                    {
                        return;
                    }

                    // Sleep until a reader takes another chunk; re-check after announcing it, so no wake-up is lost.
                    Volatile.Write(ref _waiting, 1);
                    if (_readersAt() == at && !_stop)
                    {
                        _wake.Wait();
                    }

                    Volatile.Write(ref _waiting, 0);
                    continue;
                }

                long end = Math.Min(limit, next + _batchChunks);
                Prepare(next, end);
                Volatile.Write(ref _prepared, end);
                next = end;
            }
        }
        catch (Exception e)
        {
            // Only hints were lost: the readers do the same work themselves. Nothing may escape this thread (it would end the process).
            LogStopped(_logger, e, _file.Path);
        }
    }

    private void Prepare(long first, long end)
    {
        if (_mapping is not null)
        {
            LoadChunk a = _plan.Locate(first);
            LoadChunk b = _plan.Locate(end - 1);
            PopulateMapping(a.FileOffset, b.FileOffset + b.Length - a.FileOffset);
        }

        if (_hostBlock is not null)
        {
            for (long c = first; c < end && !_stop; c++)
            {
                // Asking for the span is what makes the host arena fault the region in (ArenaPrefault.OnDemand).
                LoadChunk chunk = _plan.Locate(c);
                _ = _hostBlock.TryGetHostSpan(chunk.DeviceOffset, chunk.Length, out _);
            }
        }
    }

    private void PopulateMapping(long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        if (!_populateUnsupported)
        {
            if (_mapping!.Mapping.PopulateForRead(offset, length))
            {
                Interlocked.Add(ref _populatedBytes, length);
                Interlocked.Increment(ref _populateCalls);
                return;
            }

            // Before Linux 5.14 (or off Linux) there is no MADV_POPULATE_READ: ask for read-ahead instead.
            _populateUnsupported = true;
            LogPopulateUnsupported(_logger, _file.Path);
        }

        _file.Mapping.Prefetch(offset, length);
    }

    [LoggerMessage(EventId = 210, Level = LogLevel.Debug, Message = "Populated {Bytes} bytes of '{Path}' ahead of the copies in {Calls} call(s)")]
    private static partial void LogPopulated(ILogger logger, string path, long bytes, int calls);

    [LoggerMessage(EventId = 211, Level = LogLevel.Debug, Message = "MADV_POPULATE_READ is not available for '{Path}'; falling back to MADV_WILLNEED")]
    private static partial void LogPopulateUnsupported(ILogger logger, string path);

    [LoggerMessage(EventId = 212, Level = LogLevel.Debug, Message = "Read-ahead of '{Path}' stopped; the readers go on without it")]
    private static partial void LogStopped(ILogger logger, Exception exception, string path);
}
