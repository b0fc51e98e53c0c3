using BenchmarkDotNet.Running;
using Gguf.Benchmarks;
using Gguf.LlamaCpp;

// quick: the interleaved in-process runner (docs/benchmarks.md); edit: the metadata editor's saves against
// copy_file_range (docs/benchmarks.md, Metadata editing); dequant: dequantization against ggml's to_float
// (docs/benchmarks.md, Dequantization); tokenizer: encode and construction against llama.cpp
// (docs/tokenizer.md); startup: the gguf tool's start-up, Native AOT against framework-dependent
// (docs/benchmarks.md); inputs: write and list the inputs;
// anything else goes to BenchmarkDotNet, e.g. --filter '*Parse*'.
if (args.Length > 0 && args[0] == "quick")
{
    return QuickRunner.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "edit")
{
    return EditBenchmarks.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "dequant")
{
    return DequantRunner.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "tokenizer")
{
    return TokenizerBench.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "startup")
{
    return StartupRunner.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "inputs")
{
    foreach (BenchInput input in BenchInputs.All())
    {
        Console.WriteLine($"{input.Name,-45} {input.Kind,-10} {input.Bytes,14:N0}  {input.Path}");
    }

    return 0;
}

if (args.Length > 2 && args[0] == "loop")
{
    // For profilers: open one file N times (ours, or llama.cpp's with a third argument "llama").
    byte[] utf8 = LlamaGguf.NulTerminated(args[1]);
    bool llama = args.Length > 3 && args[3] == "llama";
    int count = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
    long allocated = GC.GetAllocatedBytesForCurrentThread();
    int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
    var clock = System.Diagnostics.Stopwatch.StartNew();
    for (int i = 0; i < count; i++)
    {
        if (llama)
        {
            LlamaGguf.OpenAndFree(utf8);
        }
        else
        {
            using Gguf.Model.GgufFile file = Gguf.Model.GgufFile.Open(args[1]);
        }
    }

    Console.WriteLine($"{clock.Elapsed.TotalMicroseconds / count:F1} µs per open, {(GC.GetAllocatedBytesForCurrentThread() - allocated) / count:N0} bytes allocated per open, GCs {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2}");
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(ParseBenchmarks).Assembly).Run(args);
return 0;
