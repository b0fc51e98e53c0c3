using Gguf.Model;
using Gguf.Quantization;
using Gguf.Testing;
using Gguf.Tests.Support;
using Gguf.Tokenization;

namespace Gguf.Tests.Samples;

/// <summary>
/// The examples in samples/Gguf.Samples run on the sample model and print what the library computes in process; the
/// same program published as Native AOT (warnings as errors) prints exactly what the JIT-compiled one prints.
/// </summary>
[Collection(nameof(DotnetSdkCollection))]
public sealed class SamplesTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Configuration => ChildProcess.Configuration;

    private static string SamplesDll => Path.Combine(Repo.Root, "samples", "Gguf.Samples", "bin", Configuration, "net10.0", "Gguf.Samples.dll");

    [Fact]
    public async Task Inspect_ListsEveryKeyAndTensor()
    {
        string output = await RunSample("inspect", Repo.SamplePath);
        using GgufFile file = GgufFile.Open(Repo.SamplePath);
        foreach (var entry in file.Metadata)
        {
            Assert.Contains($"  {entry.Key} = ", output, StringComparison.Ordinal);
        }

        foreach (var tensor in file.Tensors)
        {
            Assert.Contains($"  {tensor.Name} ", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Load_ReportsProgressAndAVerifiedLoad()
    {
        string output = await RunSample("load", Repo.SamplePath);
        Assert.Contains("100 %  21/21 tensors", output, StringComparison.Ordinal);
        Assert.Contains("loaded 21 tensors (117,760 bytes) to host", output, StringComparison.Ordinal);
        Assert.Contains("verified: True", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tokenize_PrintsTheLibrarysIds()
    {
        const string text = "Hello, world! 123";
        string output = await RunSample("tokenize", Repo.SamplePath, text);
        using GgufFile file = GgufFile.Open(Repo.SamplePath);
        int[] ids = GgufTokenizer.FromFile(file).Encode(text);
        Assert.Contains($"-> [{string.Join(", ", ids)}]", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dequantize_PrintsTheLibrarysValues()
    {
        string output = await RunSample("dequantize", Repo.SamplePath, "blk.0.attn_q.weight");
        using GgufFile file = GgufFile.Open(Repo.SamplePath);
        var tensor = file.GetTensor("blk.0.attn_q.weight");
        var values = new float[tensor.ElementCount];
        Dequantizer.Dequantize(file, tensor, values);
        Assert.Contains($"min {values.Min()}, max {values.Max()}", output, StringComparison.Ordinal);
        Assert.Contains($"first values: {string.Join(", ", values.Take(4))}", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NativeAot_PublishesWithoutWarningsAndPrintsWhatTheJitPrints()
    {
        string? compiler = ChildProcess.NativeAotCompiler;
        Assert.SkipWhen(compiler is null, "Native AOT needs a C toolchain (clang or gcc) on Linux; .ci/run installs clang");

        string output = _temp.File("aot");
        string project = Path.Combine(Repo.Root, "samples", "Gguf.Samples", "Gguf.Samples.csproj");
        string rid = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier;
        (int code, string log, string error) = await Run(
            "dotnet", "publish", project, "-c", Configuration, "-r", rid, "-p:PublishAot=true", $"-p:CppCompilerAndLinker={compiler}", "-o", output);
        Assert.True(code == 0, $"publish failed ({code}):\n{log}\n{error}");
        Assert.DoesNotContain("warning", log, StringComparison.OrdinalIgnoreCase);

        string native = Path.Combine(output, "Gguf.Samples");
        (int nativeCode, string nativeOutput, string nativeError) = await Run(native, "tour", Repo.SamplePath);
        Assert.True(nativeCode == 0, nativeError);
        string jitOutput = await RunSample("tour", Repo.SamplePath);

        // Identical but for the load's timing.
        Assert.Equal(WithoutTimings(jitOutput), WithoutTimings(nativeOutput));
    }

    private static string WithoutTimings(string output) =>
        string.Join('\n', output.Split('\n').Select(line => line.Contains(" ms, verified", StringComparison.Ordinal) ? line[..line.IndexOf(" in ", StringComparison.Ordinal)] : line));

    private static async Task<string> RunSample(params string[] arguments)
    {
        Assert.True(File.Exists(SamplesDll), $"{SamplesDll} was not built; build the solution (Gguf.slnx) first");
        (int code, string output, string error) = await Run("dotnet", [SamplesDll, .. arguments]);
        Assert.True(code == 0, error);
        return output;
    }

    private static Task<(int Code, string Output, string Error)> Run(string program, params string[] arguments) =>
        ChildProcess.Run(program, arguments, TimeSpan.FromMinutes(8));
}
