using BenchmarkDotNet.Attributes;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Benchmarks;

/// <summary>
/// Random access into the 150,000-entry string array. After the first touch (which builds the offset
/// index once) every index costs the same: the first, middle and last element take equal time.
/// </summary>
[Config(typeof(BenchConfig))]
public class StringArrayBenchmarks
{
    private GgufFile _file = null!;
    private GgufArray _array = null!;
    private string _path = "";

    /// <summary>The element to read.</summary>
    [Params(0, 75_000, BenchInputs.LargeArrayCount - 1)]
    public int Index { get; set; }

    /// <summary>Opens the file and touches the array once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _path = BenchInputs.LargeStringArray().Path;
        _file = GgufFile.Open(_path);
        _array = _file.Metadata[BenchInputs.LargeArrayKey].GetArray();
        _ = _array.GetString(0);
    }

    /// <summary>Unmaps the file.</summary>
    [GlobalCleanup]
    public void Cleanup() => _file.Dispose();

    /// <summary>One element, decoded, after the first touch.</summary>
    [Benchmark(Description = "GetString after first touch")]
    public string GetString() => _array.GetString(Index);

    /// <summary>Open, first touch at <see cref="Index"/> (builds the index), close.</summary>
    [Benchmark(Description = "Open + first GetString")]
    public string OpenAndFirstTouch()
    {
        using GgufFile file = GgufFile.Open(_path);
        return file.Metadata[BenchInputs.LargeArrayKey].GetArray().GetString(Index);
    }
}
