namespace Gguf.Cli;

/// <summary>The statistics the bench commands report, defined once.</summary>
internal static class Statistics
{
    /// <summary>The median: the middle value, or the mean of the two middle values for an even count. Sorts <paramref name="values"/>.</summary>
    public static double Median(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0)
        {
            throw new ArgumentException("the median of no values is undefined", nameof(values));
        }

        Array.Sort(values);
        int middle = values.Length / 2;
        return values.Length % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }
}
