using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Gguf.Benchmarks;

/// <summary>
/// Median of a case over the median of its baseline (llama.cpp) on the same input: the figure the
/// issue's target is stated in. BenchmarkDotNet's own Ratio column divides means, which one slow
/// iteration on a busy machine can move.
/// </summary>
public sealed class MedianRatioColumn : IColumn
{
    /// <inheritdoc />
    public string Id => nameof(MedianRatioColumn);

    /// <inheritdoc />
    public string ColumnName => "Median ratio";

    /// <inheritdoc />
    public bool AlwaysShow => true;

    /// <inheritdoc />
    public ColumnCategory Category => ColumnCategory.Baseline;

    /// <inheritdoc />
    public int PriorityInCategory => 10;

    /// <inheritdoc />
    public bool IsNumeric => true;

    /// <inheritdoc />
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc />
    public string Legend => "Median of the case over the median of llama.cpp on the same file";

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc />
    public bool IsAvailable(Summary summary) => summary?.BenchmarksCases.Any(b => b.Descriptor.Baseline) ?? false;

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        ArgumentNullException.ThrowIfNull(summary);
        BenchmarkCase? baseline = summary.GetBaseline(summary.GetLogicalGroupKey(benchmarkCase));
        double? ours = summary[benchmarkCase]?.ResultStatistics?.Median;
        double? theirs = baseline is null ? null : summary[baseline]?.ResultStatistics?.Median;
        return ours is double o && theirs is double t && t > 0 ? (o / t).ToString("0.000", CultureInfo.InvariantCulture) : "?";
    }
}
