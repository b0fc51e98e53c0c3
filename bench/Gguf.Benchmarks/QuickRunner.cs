using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Gguf.Format;
using Gguf.LlamaCpp;
using Gguf.Model;

namespace Gguf.Benchmarks;

/// <summary>
/// A light in-process runner for noisy machines: for each input it alternates batches of ours and
/// llama.cpp's open (ABAB…, the order flipped every round), so both see the same load, and reports the
/// median and minimum per open and the ratio of the medians. A run over all inputs takes about a minute.
/// </summary>
public static class QuickRunner
{
    /// <summary>The target: our median at most this fraction of llama.cpp's.</summary>
    public const double TargetRatio = 0.5;

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>Runs with command-line options; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        string? filter = Option(args, "--filter");
        string? jsonPath = Option(args, "--json");
        string? markdownPath = Option(args, "--markdown");
        double budgetSeconds = double.Parse(Option(args, "--budget") ?? "2", CultureInfo.InvariantCulture);

        if (!LlamaGguf.IsAvailable)
        {
            Console.Error.WriteLine($"llama.cpp is not available: {NativeLibraries.UnavailableReason}");
            return 1;
        }

        Console.WriteLine($"# {Environment.MachineName}: {Environment.ProcessorCount} cores, .NET {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}");
        Console.WriteLine($"# llama.cpp: {LlamaGguf.LibraryPath}");
        Console.WriteLine($"# load average: {LoadAverage()}");

        var rows = new List<Row>();
        foreach (BenchInput input in BenchInputs.All())
        {
            if (filter is not null && !input.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            Row row = Measure(input, budgetSeconds);
            rows.Add(row);
            Console.WriteLine(FormattableString.Invariant(
                $"{row.File,-40} ours {row.OursMedianUs,12:F1} µs (min {row.OursMinUs,10:F1})   llama.cpp {row.LlamaMedianUs,12:F1} µs (min {row.LlamaMinUs,10:F1})   ratio {row.Ratio,6:F3}  {(row.Ratio <= TargetRatio ? "ok" : "MISSED")}  [{row.Rounds} rounds]"));
        }

        StringAccess? access = filter is null || "strings-150k".Contains(filter, StringComparison.OrdinalIgnoreCase) ? MeasureStringAccess() : null;
        if (access is not null)
        {
            Console.WriteLine(FormattableString.Invariant($"strings-150k: open + first GetString {access.FirstTouchUs:F1} µs (open alone {access.OpenUs:F1} µs); after first touch:"));
            foreach ((long index, double ns) in access.PerIndexNs)
            {
                Console.WriteLine(FormattableString.Invariant($"  GetString({index,7}) {ns,8:F1} ns"));
            }
        }

        Console.WriteLine($"# load average: {LoadAverage()}");
        string markdown = Markdown(rows);
        Console.WriteLine();
        Console.WriteLine(markdown);
        if (markdownPath is not null)
        {
            File.WriteAllText(markdownPath, markdown);
        }

        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new { rows, access }, JsonOptions));
        }

        return rows.All(r => r.Ratio <= TargetRatio) ? 0 : 2;
    }

    /// <summary>Measures one input: warm-up, then alternating batches until the time budget is spent.</summary>
    public static Row Measure(BenchInput input, double budgetSeconds)
    {
        PageCache.WarmHeader(input.Path);
        byte[] utf8 = LlamaGguf.NulTerminated(input.Path);
        string path = input.Path;
        Func<bool> ours = () =>
        {
            using GgufFile file = GgufFile.Open(path);
            return file.Metadata.Count >= 0;
        };
        Func<bool> llama = () => LlamaGguf.OpenAndFree(utf8);

        // Warm-up: JIT tiers, caches, allocator; and a first estimate of each side's cost.
        double oursEstimate = WarmUp(ours);
        double llamaEstimate = WarmUp(llama);

        // Batches of about 2 ms so the timer's resolution and loop overhead do not matter.
        int oursBatch = BatchSize(oursEstimate);
        int llamaBatch = BatchSize(llamaEstimate);
        var oursSamples = new List<double>();
        var llamaSamples = new List<double>();
        var clock = Stopwatch.StartNew();
        for (int round = 0; round < 201; round++)
        {
            // At least 5 rounds per side, and as many more as the budget allows.
            if (round >= 5 && clock.Elapsed.TotalSeconds > budgetSeconds)
            {
                break;
            }

            if (round % 2 == 0)
            {
                oursSamples.Add(Time(ours, oursBatch));
                llamaSamples.Add(Time(llama, llamaBatch));
            }
            else
            {
                llamaSamples.Add(Time(llama, llamaBatch));
                oursSamples.Add(Time(ours, oursBatch));
            }
        }

        double oursMedian = Median(oursSamples);
        double llamaMedian = Median(llamaSamples);
        return new Row(input.Name, input.Bytes, oursMedian, oursSamples.Min(), llamaMedian, llamaSamples.Min(), oursMedian / llamaMedian, oursSamples.Count);
    }

    /// <summary>Random access into the 150,000-entry array: the first touch, then single elements.</summary>
    public static StringAccess MeasureStringAccess()
    {
        string path = BenchInputs.LargeStringArray().Path;
        PageCache.WarmHeader(path);
        long last = BenchInputs.LargeArrayCount - 1;
        Func<bool> open = () =>
        {
            using GgufFile f = GgufFile.Open(path);
            return f.Metadata.Count > 0;
        };
        Func<bool> firstTouch = () =>
        {
            using GgufFile f = GgufFile.Open(path);
            return f.Metadata[BenchInputs.LargeArrayKey].GetArray().GetString(last).Length > 0;
        };
        WarmUp(open);
        WarmUp(firstTouch);
        var openSamples = new List<double>();
        var touchSamples = new List<double>();
        for (int i = 0; i < 15; i++)
        {
            openSamples.Add(Time(open, BatchSize(WarmUp(open))));
            touchSamples.Add(Time(firstTouch, 20));
        }

        using GgufFile file = GgufFile.Open(path);
        GgufArray array = file.Metadata[BenchInputs.LargeArrayKey].GetArray();
        _ = array.GetString(0);
        var perIndex = new List<IndexTime>();
        foreach (long index in new long[] { 0, 1, 75_000, last - 1, last })
        {
            Func<bool> get = () => array.GetString(index).Length > 0;
            WarmUp(get);
            var samples = new List<double>();
            for (int i = 0; i < 15; i++)
            {
                samples.Add(Time(get, 20_000) * 1000);
            }

            perIndex.Add(new IndexTime(index, Median(samples)));
        }

        return new StringAccess(Median(openSamples), Median(touchSamples), perIndex);
    }

    private static double WarmUp(Func<bool> action)
    {
        var clock = Stopwatch.StartNew();
        int calls = 0;
        // At least 3 calls and 200 ms, but one call is enough when it alone takes a second.
        while ((calls < 3 && clock.ElapsedMilliseconds < 1000) || (clock.ElapsedMilliseconds < 200 && calls < 2000))
        {
            if (!action())
            {
                throw new InvalidOperationException("the parser rejected the file");
            }

            calls++;
        }

        return clock.Elapsed.TotalMicroseconds / calls;
    }

    private static int BatchSize(double estimateUs) => (int)Math.Clamp(2000 / Math.Max(estimateUs, 0.001), 1, 10_000);

    /// <summary>Microseconds per call over a batch.</summary>
    private static double Time(Func<bool> action, int batch)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < batch; i++)
        {
            action();
        }

        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / batch;
    }

    private static double Median(List<double> samples)
    {
        double[] sorted = [.. samples.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string Markdown(List<Row> rows)
    {
        var b = new StringBuilder();
        b.AppendLine("| file | bytes | ours median µs | ours min µs | llama.cpp median µs | llama.cpp min µs | ratio | ≤ 0.5× |");
        b.AppendLine("|---|---:|---:|---:|---:|---:|---:|:---:|");
        foreach (Row r in rows)
        {
            b.AppendLine(FormattableString.Invariant(
                $"| {r.File} | {r.Bytes:N0} | {r.OursMedianUs:F1} | {r.OursMinUs:F1} | {r.LlamaMedianUs:F1} | {r.LlamaMinUs:F1} | {r.Ratio:F3} | {(r.Ratio <= TargetRatio ? "yes" : "**no**")} |"));
        }

        return b.ToString();
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>One input's result.</summary>
    public sealed record Row(string File, long Bytes, double OursMedianUs, double OursMinUs, double LlamaMedianUs, double LlamaMinUs, double Ratio, int Rounds);

    /// <summary>String access results.</summary>
    public sealed record StringAccess(double OpenUs, double FirstTouchUs, List<IndexTime> PerIndexNs);

    /// <summary>Time of one element access.</summary>
    public sealed record IndexTime(long Index, double Ns);
}
