using BenchmarkDotNet.Attributes;
using Gguf.Model;

namespace Gguf.Benchmarks;

/// <summary>
/// Open + parse + index (everything <see cref="GgufFile.Open(string, Gguf.Format.GgufReaderOptions?, Microsoft.Extensions.Logging.ILogger?)"/>
/// does, and the unmap) against llama.cpp's <c>gguf_init_from_file</c> + <c>gguf_free</c> with
/// <c>no_alloc = true</c>, on the same file in the same run. The ratio column is ours over llama.cpp's.
/// </summary>
[Config(typeof(BenchConfig))]
public class ParseBenchmarks
{
    private byte[] _utf8Path = [];

    /// <summary>The file to open.</summary>
    [ParamsSource(nameof(Inputs))]
    public BenchInput File { get; set; } = null!;

    /// <summary>Every input of <see cref="BenchInputs.All"/>.</summary>
    public static IEnumerable<BenchInput> Inputs() => BenchInputs.All();

    /// <summary>Resolves the path once and brings the header into the page cache.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _utf8Path = LlamaGguf.NulTerminated(File.Path);
        PageCache.WarmHeader(File.Path);
    }

    /// <summary>llama.cpp: <c>gguf_init_from_file(path, { no_alloc = true })</c> then <c>gguf_free</c>.</summary>
    [Benchmark(Baseline = true, Description = "llama.cpp")]
    public bool LlamaCpp() => LlamaGguf.OpenAndFree(_utf8Path);

    /// <summary>Ours: <c>GgufFile.Open(path)</c> then <c>Dispose</c>.</summary>
    [Benchmark(Description = "Gguf")]
    public int Gguf()
    {
        using GgufFile file = GgufFile.Open(File.Path);
        return file.Tensors.Count + file.Metadata.Count;
    }
}
