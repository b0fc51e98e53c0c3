using System.Diagnostics;

namespace Gguf.Loading;

/// <summary>
/// Counts the bytes and tensors a load has done and reports them at most once per interval (plus forced first
/// and final reports), serialized under a lock so reports are monotonic; each tick also samples RSS.
/// </summary>
internal sealed class ProgressThrottle
{
    private readonly ChunkPlan _plan;
    private readonly IProgress<LoadProgress>? _progress;
    private readonly RssSampler _rss;
    private readonly Stopwatch _clock;
    private readonly long _intervalTicks;
    private readonly int[] _chunksLeft;
    private readonly object _lock = new();
    private readonly bool _ticks;
    private long _bytesDone;
    private int _tensorsDone;
    private long _lastReport;

    public ProgressThrottle(ChunkPlan plan, IProgress<LoadProgress>? progress, TimeSpan interval, RssSampler rss, Stopwatch clock)
    {
        _plan = plan;
        _progress = progress;
        _rss = rss;
        _clock = clock;
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        _ticks = progress is not null || rss.SamplesOnTicks;
        _chunksLeft = new int[plan.Order.Length];
        for (int i = 0; i < _chunksLeft.Length; i++)
        {
            long chunks = plan.ChunkCountOf(i);
            _chunksLeft[i] = (int)Math.Min(chunks, int.MaxValue);
            if (chunks == 0)
            {
                _tensorsDone++;
            }
        }
    }

    /// <summary>Tensor bytes copied so far.</summary>
    public long BytesDone => Interlocked.Read(ref _bytesDone);

    /// <summary>Counts a chunk as done; reports if the interval has passed. Thread-safe.</summary>
    public void ChunkDone(in LoadChunk chunk)
    {
        Interlocked.Add(ref _bytesDone, chunk.Length);
        if (Interlocked.Decrement(ref _chunksLeft[chunk.TensorIndex]) == 0)
        {
            Interlocked.Increment(ref _tensorsDone);
        }

        if (_ticks && Stopwatch.GetTimestamp() - Volatile.Read(ref _lastReport) >= _intervalTicks)
        {
            Report(chunk.Tensor.Name, force: false);
        }
    }

    /// <summary>Reports now (forced) or if the interval has passed.</summary>
    public void Report(string? currentTensor, bool force)
    {
        lock (_lock)
        {
            long now = Stopwatch.GetTimestamp();
            if (!force && now - _lastReport < _intervalTicks)
            {
                return;
            }

            Volatile.Write(ref _lastReport, now);
            _rss.Sample();
            _progress?.Report(new LoadProgress(BytesDone, _plan.TensorBytes, Volatile.Read(ref _tensorsDone), _plan.Tensors.Count, currentTensor, _clock.Elapsed));
        }
    }
}
