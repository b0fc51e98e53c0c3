using System.Runtime.InteropServices;
using Gguf.Testing;
using Gguf.Tests.Support;

namespace Gguf.Tests.Packaging;

/// <summary>
/// The <c>gguf</c> tool published as Native AOT (warnings as errors, as the build sets them): it publishes without a
/// trim or AOT warning, and its commands print what the framework-dependent tool of the same build prints, on
/// valid and malformed files alike.
/// </summary>
[Collection(nameof(DotnetSdkCollection))]
public sealed class ToolNativeAotTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string ToolDll => Path.Combine(Repo.Root, "src", "Gguf.Cli", "bin", ChildProcess.Configuration, "net10.0", "Gguf.Cli.dll");

    [Fact]
    public async Task NativeAot_PublishesWithoutWarningsAndAnswersLikeTheFrameworkDependentTool()
    {
        string? compiler = ChildProcess.NativeAotCompiler;
        Assert.SkipWhen(compiler is null, "Native AOT needs a C toolchain (clang or gcc) on Linux; .ci/run installs clang");
        Assert.True(File.Exists(ToolDll), $"{ToolDll} was not built; build the solution (Gguf.slnx) first");

        string output = _temp.File("aot");
        string log = await ChildProcess.Dotnet(
            "publish", Path.Combine(Repo.Root, "src", "Gguf.Cli", "Gguf.Cli.csproj"), "-c", ChildProcess.Configuration,
            "-r", RuntimeInformation.RuntimeIdentifier, "-p:PublishAot=true", $"-p:CppCompilerAndLinker={compiler}", "-o", output);
        Assert.DoesNotContain("warning", log, StringComparison.OrdinalIgnoreCase);
        string native = Path.Combine(output, "Gguf.Cli");
        Assert.True(File.Exists(native), $"no native executable in {output}");
        Assert.False(File.Exists(Path.Combine(output, "Gguf.Cli.dll")), "a Native AOT publish ships no managed Gguf.Cli.dll");

        // A malformed file: a header whose tensor count exceeds what the file can hold.
        string malformed = _temp.Write("malformed.gguf", new RawGgufBuilder { TensorCountOverride = 1L << 40 }.Build());
        string[][] commands =
        [
            ["verify", Repo.SamplePath],
            ["info", Repo.SamplePath],
            ["dump", Repo.SamplePath, "--json"],
            ["tokenize", Repo.SamplePath, "--text", "Hello world, native!", "--json"],
            ["tensor", Repo.SamplePath, "blk.0.attn_q.weight", "-o", _temp.File("q.npy")],
            ["verify", malformed],
            ["verify", _temp.File("missing.gguf")],
        ];

        foreach (string[] command in commands)
        {
            (int jitCode, string jitOut, string jitError) = await ChildProcess.Run("dotnet", [ToolDll, .. command], TimeSpan.FromMinutes(2));
            (int aotCode, string aotOut, string aotError) = await ChildProcess.Run(native, command, TimeSpan.FromMinutes(2));
            string name = string.Join(' ', command.Take(1));
            Assert.True(jitCode == aotCode, $"gguf {name}: exit {aotCode} native, {jitCode} framework-dependent\n{aotError}");
            Assert.Equal(jitOut, aotOut);
            Assert.Equal(jitError, aotError);
        }

        // The format error travels through the exception path of the native binary: exit 2, one line naming code and offset.
        (int verifyCode, _, string verifyError) = await ChildProcess.Run(native, ["verify", malformed], TimeSpan.FromMinutes(1));
        Assert.Equal(2, verifyCode);
        Assert.StartsWith("error: TensorCountOutOfRange at offset 8: ", verifyError, StringComparison.Ordinal);
    }
}
