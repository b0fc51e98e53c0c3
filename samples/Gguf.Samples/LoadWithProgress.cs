using Gguf.Loading;
using Gguf.Model;

namespace Gguf.Samples;

/// <summary>Loads every tensor into host memory in bounded chunks, printing progress, then checks what landed.</summary>
internal static class LoadWithProgress
{
    public static int Run(string path)
    {
        using GgufFile file = GgufFile.Open(path);
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // Ctrl+C stops the load between chunks; everything it allocated is freed.
            e.Cancel = true;
            cancellation.Cancel();
        };

        using var arena = new HostArenaDestination();
        var loader = new ModelLoader(arena, new LoadOptions { Verify = true, ChunkSize = 64 * 1024 });
        var progress = new ConsoleProgress();
        using LoadedModel model = loader.Load(file, progress, cancellation.Token);

        LoadStatistics statistics = model.Statistics;
        Console.WriteLine($"loaded {statistics.Tensors} tensors ({statistics.Bytes:N0} bytes) to {statistics.DeviceName} in {statistics.LoadTime.TotalMilliseconds:F1} ms, verified: {statistics.Verified}");
        return 0;
    }

    /// <summary>Reports arrive serialized and monotonic from the loader's threads: keep the handler short.</summary>
    private sealed class ConsoleProgress : IProgress<LoadProgress>
    {
        public void Report(LoadProgress value) =>
            Console.WriteLine($"  {value.Fraction,6:P0}  {value.TensorsDone}/{value.TensorsTotal} tensors  {value.CurrentTensor}");
    }
}
