using System.Diagnostics;
using System.Security.Cryptography;
using Gguf.Testing;

namespace Gguf.Fuzz;

/// <summary>
/// The fuzzing harness. Every input goes through <see cref="FuzzOracle.Check"/>: memory, stream and mapped
/// parses that must agree, every metadata value decoded and every tensor byte read. Anything but a
/// <c>GgufFormatException</c> is a finding.
/// <list type="bullet">
/// <item><c>libfuzzer</c> (the default under libFuzzer): SharpFuzz's libFuzzer runner; run through fuzz/driver.</item>
/// <item><c>libfuzzer-parse</c>: the same without the mapped-file path (faster).</item>
/// <item><c>run PATH...</c>: checks files or folders once (reproduce a finding, replay a corpus).</item>
/// <item><c>inproc --seconds N --seeds DIR [--findings DIR]</c>: a coverage-less mutation fuzzer in this process.</item>
/// <item><c>seeds OUTDIR [CORPUSDIR]</c>: writes the seed corpus.</item>
/// </list>
/// </summary>
internal static class Program
{
    private static unsafe int Main(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "libfuzzer";
        string[] rest = args.Length > 0 ? args[1..] : [];
        if (!mode.StartsWith("libfuzzer", StringComparison.Ordinal))
        {
            // An instrumented Gguf.dll bumps edge counters in SharpFuzz's shared memory, which only the
            // libFuzzer runner sets up; give the other modes a private map so they run on it too.
            SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
        }
        switch (mode)
        {
            case "libfuzzer":
                string scratch = ScratchPath();
                SharpFuzz.Fuzzer.LibFuzzer.Run(span => FuzzOracle.Check(span, scratch));
                File.Delete(scratch);
                return 0;
            case "libfuzzer-canary":
                // Self-test of the pipeline: an input starting with "CANARY" must come back as a crash.
                SharpFuzz.Fuzzer.LibFuzzer.Run(span =>
                {
                    if (span.StartsWith("CANARY"u8))
                    {
                        throw new InvalidOperationException("canary input");
                    }

                    FuzzOracle.Check(span, null);
                });
                return 0;
            case "libfuzzer-parse":
                // Memory and stream parses only: faster, for long campaigns beside the full target.
                SharpFuzz.Fuzzer.LibFuzzer.Run(span => FuzzOracle.Check(span, null));
                return 0;
            case "run":
                return RunFiles(rest);
            case "inproc":
                return InProcessFuzzer.Run(rest);
            case "seeds":
                return Seeds.Write(rest);
            default:
                Console.Error.WriteLine("usage: Gguf.Fuzz [libfuzzer | run PATH... | inproc --seconds N --seeds DIR [--findings DIR] | seeds OUTDIR [CORPUSDIR]]");
                return 2;
        }
    }

    /// <summary>A scratch file for the mapped path, on tmpfs where there is one.</summary>
    internal static string ScratchPath()
    {
        return Path.Combine(TempDirectory.MemoryBackedRoot, $"gguf-fuzz-{Environment.ProcessId}.gguf");
    }

    private static int RunFiles(string[] paths)
    {
        string scratch = ScratchPath();
        int failures = 0;
        int count = 0;
        var clock = Stopwatch.StartNew();
        foreach (string path in paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).Order(StringComparer.Ordinal))
        {
            count++;
            try
            {
                FuzzOracle.Check(File.ReadAllBytes(path), scratch);
            }
            catch (Exception e)
            {
                failures++;
                Console.Error.WriteLine($"FINDING {path} ({Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)).AsSpan(0, 8))}): {e}");
            }
        }

        File.Delete(scratch);
        Console.WriteLine($"checked {count} inputs in {clock.Elapsed.TotalSeconds:F1} s: {failures} findings");
        return failures == 0 ? 0 : 1;
    }
}
