using System.Text.Json;
using Gguf.Cli;
using Gguf.Cli.Commands;
using Gguf.Testing;
using Gguf.Tests.Support;

namespace Gguf.Tests.Cli;

public sealed class BenchParseCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void BenchParse_Json_HasExactlyFileIterationsMedianAndMin()
    {
        string path = _temp.Write("ok.gguf", Fixtures.WithTensors());

        (int code, string output, string error) = Run("bench", "parse", path, "--iterations", "7", "--json");

        Assert.Equal(0, code);
        Assert.Empty(error);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        Assert.Equal(["file", "iterations", "median_us", "min_us"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(path, root.GetProperty("file").GetString());
        Assert.Equal(7, root.GetProperty("iterations").GetInt32());
        double median = root.GetProperty("median_us").GetDouble();
        double min = root.GetProperty("min_us").GetDouble();
        Assert.True(min > 0, $"min {min}");
        Assert.True(min <= median, $"min {min} > median {median}");
    }

    [Fact]
    public void BenchParse_Json_IsOneLine()
    {
        string path = _temp.Write("ok.gguf", Fixtures.WithTensors());

        (_, string output, _) = Run("bench", "parse", path, "-n", "1", "--json");

        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void BenchParse_Text_PrintsMedianAndMinInMicroseconds()
    {
        string path = _temp.Write("ok.gguf", Fixtures.WithTensors());

        (int code, string output, _) = Run("bench", "parse", path, "--iterations", "3");

        Assert.Equal(0, code);
        Assert.Matches(@"iterations: 3", output);
        Assert.Matches(@"median: +\d+\.\d µs", output);
        Assert.Matches(@"min: +\d+\.\d µs", output);
    }

    [Fact]
    public void BenchParse_MalformedFile_OneErrorLineExitTwo()
    {
        string path = _temp.Write("v1.gguf", Fixtures.EmptyHeader(1));

        (int code, string output, string error) = Run("bench", "parse", path, "--json");

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    public void BenchParse_IterationsBelowOne_Rejected(string iterations)
    {
        string path = _temp.Write("ok.gguf", Fixtures.WithTensors());

        (int code, string output, string error) = Run("bench", "parse", path, "--iterations", iterations);

        Assert.NotEqual(0, code);
        Assert.DoesNotMatch(@"median: +\d", output);
        Assert.Contains("--iterations", error);
    }

    [Fact]
    public void Measure_ReportsTheRequestedIterations()
    {
        string path = _temp.Write("ok.gguf", Fixtures.WithTensors());

        ParseTiming timing = BenchParseCommand.Measure(path, 4);

        Assert.Equal(4, timing.Iterations);
        Assert.Equal(path, timing.File);
        Assert.InRange(timing.MinMicroseconds, double.Epsilon, timing.MedianMicroseconds);
    }
}
