using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Cli.Commands;

/// <summary>
/// <c>gguf bench parse FILE [--iterations N] [--json]</c>: the median and minimum time of open + parse +
/// index (everything <see cref="GgufFile.Open(string, Format.GgufReaderOptions?, Microsoft.Extensions.Logging.ILogger?)"/>
/// does, and the unmap), in one process after a warm-up. The llama.cpp baseline is in bench/Gguf.Benchmarks.
/// </summary>
internal static class BenchParseCommand
{
    /// <summary>Timed opens when <c>--iterations</c> is not given.</summary>
    public const int DefaultIterations = 100;

    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file to open." };
        var iterations = new Option<int>("--iterations", "-n") { Description = "Timed opens after the warm-up.", DefaultValueFactory = _ => DefaultIterations };
        iterations.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--iterations must be at least 1");
            }
        });
        var json = new Option<bool>("--json") { Description = "Write one JSON object: file, iterations, median_us, min_us." };
        var command = new Command("parse", "Time open + parse + index of a file (GgufFile.Open and Dispose): median and minimum in µs after a warm-up.")
        {
            file, iterations, json,
        };
        command.SetAction(parse => CliErrors.Guard(console, () =>
        {
            ParseTiming timing = Measure(parse.GetValue(file)!, parse.GetValue(iterations));
            if (parse.GetValue(json))
            {
                WriteJson(console.Out, timing);
            }
            else
            {
                console.Out.WriteLine($"file:       {timing.File}");
                console.Out.WriteLine($"iterations: {timing.Iterations}");
                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median:     {timing.MedianMicroseconds:F1} µs"));
                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"min:        {timing.MinMicroseconds:F1} µs"));
            }

            return 0;
        }));
        return command;
    }

    /// <summary>
    /// Opens <paramref name="path"/> until warm (at least 5 opens and 100 ms, at most 2 s), then times
    /// <paramref name="iterations"/> opens one by one. The first open validates the file, so a malformed
    /// one fails before any timing.
    /// </summary>
    public static ParseTiming Measure(string path, int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var warmUp = Stopwatch.StartNew();
        for (int calls = 0; calls < 5 || (warmUp.ElapsedMilliseconds < 100 && calls < 1000); calls++)
        {
            OpenOnce(path);
            if (warmUp.ElapsedMilliseconds > 2000)
            {
                break;
            }
        }

        double[] microseconds = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long start = Stopwatch.GetTimestamp();
            OpenOnce(path);
            microseconds[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        Array.Sort(microseconds);
        int middle = iterations / 2;
        double median = iterations % 2 == 1 ? microseconds[middle] : (microseconds[middle - 1] + microseconds[middle]) / 2;
        return new ParseTiming(path, iterations, median, microseconds[0]);
    }

    /// <summary>Writes <c>{"file", "iterations", "median_us", "min_us"}</c> and a newline.</summary>
    public static void WriteJson(TextWriter output, ParseTiming timing)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(timing);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("file", timing.File);
            writer.WriteNumber("iterations", timing.Iterations);
            writer.WriteNumber("median_us", Math.Round(timing.MedianMicroseconds, 3));
            writer.WriteNumber("min_us", Math.Round(timing.MinMicroseconds, 3));
            writer.WriteEndObject();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private static void OpenOnce(string path)
    {
        using GgufFile file = GgufFile.Open(path);
    }
}

/// <summary>The result of <see cref="BenchParseCommand.Measure"/>.</summary>
/// <param name="File">The file as given.</param>
/// <param name="Iterations">Timed opens.</param>
/// <param name="MedianMicroseconds">Median of the timed opens, µs.</param>
/// <param name="MinMicroseconds">Fastest timed open, µs.</param>
internal sealed record ParseTiming(string File, int Iterations, double MedianMicroseconds, double MinMicroseconds);
