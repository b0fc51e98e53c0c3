using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Gguf.Format;
using Gguf.Model;
using Gguf.Writing;
using Microsoft.Win32.SafeHandles;

namespace Gguf.Benchmarks;

/// <summary>
/// <c>edit [--dir DIR] [--size 2GiB] [--runs 5]</c>: the metadata editor's saves against a plain
/// <c>copy_file_range</c> of the whole file, measured in the same run, interleaved round by round:
/// <list type="bullet">
/// <item>copy_file_range of the whole file (no fsync), the same followed by fsync, and with the space
/// reserved first (fallocate, as the editor does) and fsync;</item>
/// <item>the default (atomic) save of a same-size edit (general.name) and of one that moves the data (a 4 KiB
/// chat template set, then removed), with fsync, and the same-size edit without fsync (<see cref="GgufSaveOptions.FlushToDisk"/> false);</item>
/// <item>the in-place save of the same-size edit.</item>
/// </list>
/// The model (random F32 data, written in full: no holes) is made once in DIR. Dirty pages are written back
/// (sync) between timed runs, outside the timings, so one run's writeback does not slow the next.
/// </summary>
public static partial class EditBenchmarks
{
    /// <summary>The goal: the default save at least this fraction of the plain copy's speed.</summary>
    public const double TargetRatio = 0.9;

    /// <summary>Runs with command-line options; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        string directory = Option(args, "--dir") ?? Path.Combine(Path.GetTempPath(), "gguf-edit-bench");
        long size = ParseSize(Option(args, "--size") ?? "2GiB");
        int runs = int.Parse(Option(args, "--runs") ?? "5", CultureInfo.InvariantCulture);
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("the edit benchmark compares against Linux copy_file_range");
            return 1;
        }

        Directory.CreateDirectory(directory);
        string model = Path.Combine(directory, $"edit-bench-{Gguf.Loading.ByteSize.Format(size).Replace(" ", "", StringComparison.Ordinal)}.gguf");
        if (!File.Exists(model))
        {
            Console.WriteLine($"# writing {model}");
            WriteModel(model, size);
        }

        long fileBytes = new FileInfo(model).Length;
        Console.WriteLine($"# {Environment.MachineName}: {Environment.ProcessorCount} cores, .NET {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}");
        Console.WriteLine($"# file system of {directory}: {FileSystemOf(directory)}; load average {LoadAverage()}");
        Console.WriteLine($"# model {model}: {fileBytes:N0} bytes; {runs} rounds, medians (ms)");
        ReadWhole(model); // the source in the page cache for every variant

        string copy = Path.Combine(directory, "plain-copy.tmp");
        var samples = new Dictionary<string, List<double>>();
        var methods = new Dictionary<string, string>();
        var cases = new (string Name, Func<double> Measure)[]
        {
            ("copy_file_range", () => PlainCopy(model, copy, fsync: false)),
            ("copy_file_range + fsync", () => PlainCopy(model, copy, fsync: true)),
            ("fallocate + copy_file_range + fsync", () => PlainCopy(model, copy, fsync: true, preallocate: true)),
            ("save, same size", () => Save(model, GgufKeys.Name, sameSize: true, GgufSaveOptions.Default, methods)),
            ("save, same size, no fsync", () => Save(model, GgufKeys.Name, sameSize: true, new GgufSaveOptions { FlushToDisk = false }, methods)),
            ("save, header ±4 KiB", () => Save(model, GgufKeys.ChatTemplate, sameSize: false, GgufSaveOptions.Default, methods)),
            ("save in place, same size", () => Save(model, GgufKeys.Name, sameSize: true, new GgufSaveOptions { Mode = GgufSaveMode.InPlace }, methods)),
        };
        for (int round = 0; round < runs; round++)
        {
            // Flip the order every round so no case always follows the same one.
            IEnumerable<(string Name, Func<double> Measure)> order = round % 2 == 0 ? cases : cases.Reverse();
            foreach ((string name, Func<double> measure) in order)
            {
                Sync();
                double ms = measure();
                (samples.TryGetValue(name, out List<double>? list) ? list : samples[name] = []).Add(ms);
                File.Delete(copy);
            }
        }

        double plain = Median(samples["copy_file_range"]);
        double plainSynced = Median(samples["copy_file_range + fsync"]);
        Console.WriteLine();
        Console.WriteLine("| case | median ms | min ms | path | vs copy_file_range | vs copy_file_range + fsync |");
        Console.WriteLine("|---|---:|---:|---|---:|---:|");
        foreach ((string name, _) in cases)
        {
            List<double> s = samples[name];
            double median = Median(s);
            Console.WriteLine(FormattableString.Invariant(
                $"| {name} | {median:F1} | {s.Min():F1} | {methods.GetValueOrDefault(name, "-")} | {plain / median:F2}x | {plainSynced / median:F2}x |"));
        }

        double durable = Median(samples["save, same size"]);
        double quick = Median(samples["save, same size, no fsync"]);
        Console.WriteLine();
        Console.WriteLine(FormattableString.Invariant($"default save vs copy_file_range + fsync: {plainSynced / durable:F2}x, no-fsync save vs copy_file_range: {plain / quick:F2}x (goal >= {TargetRatio}x)"));
        return 0;
    }

    private static double Save(string path, string key, bool sameSize, GgufSaveOptions options, Dictionary<string, string> methods)
    {
        var clock = Stopwatch.StartNew();
        using GgufFile file = GgufFile.Open(path);

        // Same size: toggle between two names of one length; otherwise set a 4 KiB template, then remove it.
        string current = file.Metadata.GetStringOrNull(key) ?? "";
        string value = sameSize ? (current == "bench name A" ? "bench name B" : "bench name A") : (current.Length > 0 ? "" : new string('t', 4096));
        GgufEditor editor = new GgufEditor(file);
        if (value.Length == 0)
        {
            editor.Remove(key);
        }
        else
        {
            editor.Set(key, GgufValue.String(value));
        }

        GgufSaveResult result = editor.Save(options);
        double ms = clock.Elapsed.TotalMilliseconds;
        string name = options.Mode == GgufSaveMode.InPlace ? "save in place, same size" : sameSize ? (options.FlushToDisk ? "save, same size" : "save, same size, no fsync") : "save, header ±4 KiB";
        methods[name] = result.Method.ToString() + (result.PaddingBytes > 0 ? $" (+{result.PaddingBytes} B padding)" : "");
        return ms;
    }

    private static double PlainCopy(string source, string destination, bool fsync, bool preallocate = false)
    {
        var clock = Stopwatch.StartNew();
        using SafeFileHandle input = File.OpenHandle(source, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = RandomAccess.GetLength(input);

        // .NET's preallocation is fallocate(2), as the editor's temporary file uses it.
        using SafeFileHandle output = File.OpenHandle(destination, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, preallocate ? length : 0);
        for (long done = 0; done < length;)
        {
            long copied = CopyFileRange(input, done, output, done, length - done);
            if (copied <= 0)
            {
                throw new IOException($"copy_file_range failed: errno {Marshal.GetLastPInvokeError()}");
            }

            done += copied;
        }

        if (fsync && Fsync(output) != 0)
        {
            throw new IOException($"fsync failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return clock.Elapsed.TotalMilliseconds;
    }

    private static unsafe long CopyFileRange(SafeFileHandle input, long inputOffset, SafeFileHandle output, long outputOffset, long length)
    {
        long i = inputOffset, o = outputOffset;
        return CopyFileRangeNative(input, &i, output, &o, (nuint)Math.Min(length, 1L << 30), 0);
    }

    [LibraryImport("libc", EntryPoint = "copy_file_range", SetLastError = true)]
    private static unsafe partial nint CopyFileRangeNative(SafeHandle input, long* inputOffset, SafeHandle output, long* outputOffset, nuint length, uint flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(SafeHandle fd);

    [LibraryImport("libc", EntryPoint = "sync")]
    private static partial void Sync();

    /// <summary>A model of <paramref name="size"/> bytes of random F32 tensors (64 MiB each), llama-like names.</summary>
    private static void WriteModel(string path, long size)
    {
        const long TensorBytes = 64L << 20;
        var writer = new GgufWriter();
        writer.AddMetadata(GgufKeys.Architecture, GgufValue.String("llama"));
        writer.AddMetadata(GgufKeys.Name, GgufValue.String("bench name A"));
        writer.AddMetadata(GgufKeys.TokenizerTokens, GgufValue.FromStrings(Enumerable.Range(0, 32000).Select(i => $"tok{i}")));
        for (int i = 0; i < size / TensorBytes; i++)
        {
            int seed = i;
            writer.AddTensor($"blk.{i}.ffn_up.weight", GgmlType.F32, [4096, TensorBytes / 4 / 4096], output =>
            {
                var random = new Random(seed);
                byte[] chunk = new byte[1 << 20];
                for (long done = 0; done < TensorBytes; done += chunk.Length)
                {
                    random.NextBytes(chunk);
                    output.Write(chunk);
                }
            });
        }

        string temp = path + ".writing";
        writer.WriteTo(temp);
        File.Move(temp, path);
    }

    private static void ReadWhole(string path)
    {
        byte[] buffer = new byte[1 << 20];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        while (stream.Read(buffer) > 0)
        {
        }
    }

    private static string FileSystemOf(string directory)
    {
        try
        {
            var info = new ProcessStartInfo("stat", ["-f", "-c", "%T", directory]) { RedirectStandardOutput = true };
            using Process process = Process.Start(info)!;
            return process.StandardOutput.ReadToEnd().Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
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

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary><c>--size</c>: bytes, or a whole number of MiB or GiB (<c>512MiB</c>, <c>2GiB</c>).</summary>
    private static long ParseSize(string text) => text switch
    {
        _ when text.EndsWith("GiB", StringComparison.Ordinal) => long.Parse(text[..^3], CultureInfo.InvariantCulture) << 30,
        _ when text.EndsWith("MiB", StringComparison.Ordinal) => long.Parse(text[..^3], CultureInfo.InvariantCulture) << 20,
        _ => long.Parse(text, CultureInfo.InvariantCulture),
    };

    private static string? Option(string[] args, string name)
    {
        int index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}
