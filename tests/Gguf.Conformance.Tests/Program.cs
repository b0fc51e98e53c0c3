using Gguf.Conformance.Probe;

namespace Gguf.Conformance;

/// <summary>
/// Entry point: the usual xUnit v3 entry point, plus the probe mode in which this assembly serves as the
/// crash-isolating child process for llama.cpp's parser (see <see cref="ProbeServer"/>).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == ProbeServer.Argument)
        {
            return ProbeServer.Run(Console.In, Console.Out);
        }

        return RunTests(args);
    }

    // Kept out of Main so the probe process does not load the test framework's assemblies.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int RunTests(string[] args)
    {
        if (args.Any(arg => arg is "--server" or "--internal-msbuild-node"))
        {
            return Xunit.MicrosoftTestingPlatform.TestPlatformTestFramework.RunAsync(args, SelfRegisteredExtensions.AddSelfRegisteredExtensions).GetAwaiter().GetResult();
        }

        return Xunit.Runner.InProc.SystemConsole.ConsoleRunner.Run(args).GetAwaiter().GetResult();
    }
}
