using BenchmarkDotNet.Attributes;
using Gguf.Format;
using Gguf.LlamaCpp;
using Gguf.Model;

namespace Gguf.Benchmarks;

/// <summary>
/// Open + parse + index (everything <see cref="GgufFile.Open(string, Gguf.Format.GgufReaderOptions?, Microsoft.Extensions.Logging.ILogger?)"/>
/// does, and the unmap) against llama.cpp's <c>gguf_init_from_file</c> + <c>gguf_free</c> with
/// <c>no_alloc = true</c>, on the same file in the same run. The ratio column is ours over llama.cpp's.
/// </summary>
public abstract class ParseBenchmarkBase
{
    private byte[] _utf8Path = [];

    /// <summary>The file of the current case.</summary>
    protected abstract BenchInput Input { get; }

    /// <summary>Resolves the path once and brings the header into the page cache.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _utf8Path = LlamaGguf.NulTerminated(Input.Path);
        PageCache.WarmHeader(Input.Path);
    }

    /// <summary>llama.cpp: <c>gguf_init_from_file(path, { no_alloc = true })</c> then <c>gguf_free</c>.</summary>
    [Benchmark(Baseline = true, Description = "llama.cpp")]
    public bool LlamaCpp() => LlamaGguf.OpenAndFree(_utf8Path);

    /// <summary>Ours: <c>GgufFile.Open(path)</c> then <c>Dispose</c>.</summary>
    [Benchmark(Description = "Gguf (ours)")]
    public int Ours()
    {
        using GgufFile file = GgufFile.Open(Input.Path);
        return file.Tensors.Count + file.Metadata.Count;
    }
}

/// <summary>Every input but the 40,000-key and 40,000-tensor files.</summary>
[Config(typeof(BenchConfig))]
public class ParseBenchmarks : ParseBenchmarkBase
{
    /// <summary>The file to open.</summary>
    [ParamsSource(nameof(Inputs))]
    public BenchInput File { get; set; } = null!;

    /// <summary>The inputs of this class.</summary>
    public static IEnumerable<BenchInput> Inputs() => BenchInputs.All().Where(i => !BenchInputs.IsLargeCount(i));

    /// <inheritdoc />
    protected override BenchInput Input => File;
}

/// <summary>
/// The 40,000-key and 40,000-tensor files, where llama.cpp's duplicate checks are O(n²) and one open
/// takes seconds: one warm-up and five measured calls keep the suite within minutes.
/// </summary>
[Config(typeof(LargeCountConfig))]
public class ParseLargeCountBenchmarks : ParseBenchmarkBase
{
    /// <summary>The file to open.</summary>
    [ParamsSource(nameof(Inputs))]
    public BenchInput File { get; set; } = null!;

    /// <summary>The inputs of this class.</summary>
    public static IEnumerable<BenchInput> Inputs() => BenchInputs.All().Where(BenchInputs.IsLargeCount);

    /// <inheritdoc />
    protected override BenchInput Input => File;
}
