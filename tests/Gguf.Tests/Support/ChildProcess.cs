using System.Diagnostics;
using Gguf.Testing;

namespace Gguf.Tests.Support;

/// <summary>
/// Runs programs the tests start: the SDK (pack, publish, tool install), built samples and published tools. Output is
/// collected; a run that outlives its limit fails the test instead of hanging the test host.
/// </summary>
internal static class ChildProcess
{
    /// <summary>The configuration these tests were built in; samples and packages come from the same build.</summary>
    public static string Configuration => new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    /// <summary>Runs <paramref name="program"/> in the repository root and returns its exit code and output.</summary>
    public static async Task<(int Code, string Output, string Error)> Run(string program, IEnumerable<string> arguments, TimeSpan limit)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repo.Root };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // SDK commands run inside a test run: keep them from sharing build servers with the outer build.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Task<string> error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        try
        {
            await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(limit, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>Runs <c>dotnet</c> with <paramref name="arguments"/> and fails the test when it fails; returns its output.</summary>
    public static async Task<string> Dotnet(params string[] arguments)
    {
        (int code, string output, string error) = await Run("dotnet", arguments, TimeSpan.FromMinutes(8));
        Assert.True(code == 0, $"dotnet {string.Join(' ', arguments)} failed ({code}):\n{output}\n{error}");
        return output;
    }

    /// <summary>Whether <paramref name="program"/> is on the PATH.</summary>
    public static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(dir => File.Exists(Path.Combine(dir, program)));

    /// <summary>The C toolchain Native AOT links with on Linux (clang, else gcc), or null where there is none.</summary>
    public static string? NativeAotCompiler => OperatingSystem.IsLinux() ? new[] { "clang", "gcc" }.FirstOrDefault(OnPath) : null;
}

/// <summary>
/// Tests that run the SDK on this repository's projects (pack, restore for a runtime, Native AOT publish) share
/// their obj/ folders, so they run one at a time.
/// </summary>
[CollectionDefinition(nameof(DotnetSdkCollection), DisableParallelization = true)]
public sealed class DotnetSdkCollection;
