namespace Gguf.Loading;

/// <summary>Measures the process's peak resident memory during one load, as <see cref="PeakMemoryTracking"/> says.</summary>
internal sealed class RssSampler(PeakMemoryTracking tracking)
{
    private long _peak;

    /// <summary>Whether the sampler wants a sample with every progress tick.</summary>
    public bool SamplesOnTicks => tracking == PeakMemoryTracking.Sampled;

    /// <summary>Whether anything is measured at all.</summary>
    public bool Enabled => tracking != PeakMemoryTracking.None;

    /// <summary>Called once before the load: resets the high-water mark when that is how peaks are measured.</summary>
    public void Start()
    {
        if (tracking == PeakMemoryTracking.HighWaterMark)
        {
            _ = ProcessMemory.TryResetPeak();
        }
    }

    /// <summary>Takes one sample (sampled tracking only). Callers serialize calls.</summary>
    public void Sample()
    {
        if (tracking == PeakMemoryTracking.Sampled && ProcessMemory.CurrentRssBytes is long rss && rss > _peak)
        {
            _peak = rss;
        }
    }

    /// <summary>The peak seen, or null when not measured.</summary>
    public long? Peak => tracking switch
    {
        PeakMemoryTracking.HighWaterMark => ProcessMemory.PeakRssBytes,
        PeakMemoryTracking.Sampled when _peak > 0 => _peak,
        _ => null,
    };
}
