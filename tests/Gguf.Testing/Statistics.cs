namespace Gguf.Testing;

/// <summary>Summary statistics of measurements.</summary>
public static class Statistics
{
    /// <summary>
    /// The median: the middle value of the sorted samples, or the mean of the two middle values when their
    /// count is even. The samples are not modified.
    /// </summary>
    public static double Median(IEnumerable<double> samples)
    {
        double[] sorted = [.. samples];
        if (sorted.Length == 0)
        {
            throw new ArgumentException("the median of no samples is undefined", nameof(samples));
        }

        Array.Sort(sorted);
        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
