using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Gguf.Testing;

namespace Gguf.Benchmarks;

/// <summary>
/// Start-up of the <c>gguf</c> tool: publishes it twice (framework-dependent, as <c>dotnet tool install</c> runs it,
/// and Native AOT), then times whole processes of <c>gguf verify FILE</c> from start to exit, the two builds
/// alternating (ABAB…, the order flipped every round) so both see the same load. Reports medians and minimums.
/// </summary>
public static class StartupRunner
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>Runs with command-line options; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        int runs = int.Parse(Option(args, "--runs") ?? "20", CultureInfo.InvariantCulture);
        string file = Option(args, "--file") ?? Repo.SamplePath;
        string? jsonPath = Option(args, "--json");
        string output = Option(args, "--out") ?? Path.Combine(Path.GetTempPath(), "gguf-bench", "startup");
        bool reuse = args.Contains("--no-publish");

        string project = Path.Combine(Repo.Root, "src", "Gguf.Cli", "Gguf.Cli.csproj");
        string jitDir = Path.Combine(output, "framework-dependent");
        string aotDir = Path.Combine(output, "native-aot");
        if (!reuse)
        {
            string rid = RuntimeInformation.RuntimeIdentifier;
            Publish(project, jitDir);
            Publish(project, aotDir, "-r", rid, "-p:PublishAot=true");
        }

        string jit = Path.Combine(jitDir, OperatingSystem.IsWindows() ? "Gguf.Cli.exe" : "Gguf.Cli");
        string aot = Path.Combine(aotDir, OperatingSystem.IsWindows() ? "Gguf.Cli.exe" : "Gguf.Cli");
        var sides = new (string Name, string Program, List<double> Ms)[] { ("framework-dependent", jit, []), ("native-aot", aot, []) };

        Console.WriteLine($"# {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, load average {LoadAverage()}");
        Console.WriteLine($"# gguf verify {file}: 3 untimed runs each, then {runs} timed runs each, alternating");
        for (int i = 0; i < 3; i++)
        {
            foreach (var side in sides)
            {
                _ = TimeOnce(side.Program, file);
            }
        }

        for (int round = 0; round < runs; round++)
        {
            IEnumerable<int> order = round % 2 == 0 ? [0, 1] : [1, 0];
            foreach (int s in order)
            {
                sides[s].Ms.Add(TimeOnce(sides[s].Program, file));
            }
        }

        double jitMedian = Statistics.Median(sides[0].Ms);
        double aotMedian = Statistics.Median(sides[1].Ms);
        foreach (var side in sides)
        {
            Console.WriteLine(FormattableString.Invariant($"{side.Name,-20} median {Statistics.Median(side.Ms),7:F1} ms   min {side.Ms.Min(),7:F1} ms   max {side.Ms.Max(),7:F1} ms   ({side.Ms.Count} runs)"));
        }

        Console.WriteLine(FormattableString.Invariant($"native-aot / framework-dependent: {aotMedian / jitMedian:F3}; load average {LoadAverage()}"));
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(
                new
                {
                    file,
                    runs,
                    framework_dependent_median_ms = jitMedian,
                    framework_dependent_min_ms = sides[0].Ms.Min(),
                    native_aot_median_ms = aotMedian,
                    native_aot_min_ms = sides[1].Ms.Min(),
                    ratio_native_aot_vs_framework_dependent = aotMedian / jitMedian,
                    framework_dependent_ms = sides[0].Ms,
                    native_aot_ms = sides[1].Ms,
                },
                JsonOptions));
        }

        return 0;
    }

    /// <summary>Wall time of one process from its start to its exit, in milliseconds; a failed verify is an error.</summary>
    private static double TimeOnce(string program, string file)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("verify");
        start.ArgumentList.Add(file);
        long begin = Stopwatch.GetTimestamp();
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        double ms = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
        if (process.ExitCode != 0 || output.Trim() != "ok")
        {
            throw new InvalidOperationException($"{program} verify {file} exited with {process.ExitCode}: {output}{process.StandardError.ReadToEnd()}");
        }

        return ms;
    }

    private static void Publish(string project, string output, params string[] extra)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (string argument in (string[])["publish", project, "-c", "Release", "-o", output, "-nologo", "-v", "q", .. extra])
        {
            start.ArgumentList.Add(argument);
        }

        Console.WriteLine($"# dotnet {string.Join(' ', start.ArgumentList)}");
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("cannot start dotnet");
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish exited with {process.ExitCode}");
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
