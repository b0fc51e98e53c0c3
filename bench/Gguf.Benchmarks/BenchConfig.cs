using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using Perfolizer.Horology;

namespace Gguf.Benchmarks;

/// <summary>
/// One launch, short iterations: the whole suite runs in minutes on two cores. Medians and the
/// ratio to the baseline are what docs/benchmarks.md quotes.
/// </summary>
public sealed class BenchConfig : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public BenchConfig()
    {
        AddJob(Job.Default
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(11)
            .WithIterationTime(TimeInterval.FromMilliseconds(100))
            .WithId("Short"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(StatisticColumn.Median, StatisticColumn.Min, new MedianRatioColumn());
        HideColumns(Column.Error, Column.StdDev, Column.RatioSD, Column.Job);
        SummaryStyle = SummaryStyle.Default.WithTimeUnit(TimeUnit.Microsecond).WithMaxParameterColumnWidth(40);
        WithOptions(ConfigOptions.DisableLogFile);
    }
}

/// <summary>For inputs where the baseline takes seconds per call: one warm-up and five measured calls.</summary>
public sealed class LargeCountConfig : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public LargeCountConfig()
    {
        AddJob(Job.Default
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(5)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithId("Seconds"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(StatisticColumn.Median, StatisticColumn.Min, new MedianRatioColumn());
        HideColumns(Column.Error, Column.StdDev, Column.RatioSD, Column.Job);
        SummaryStyle = SummaryStyle.Default.WithTimeUnit(TimeUnit.Millisecond).WithMaxParameterColumnWidth(40);
        WithOptions(ConfigOptions.DisableLogFile);
    }
}
