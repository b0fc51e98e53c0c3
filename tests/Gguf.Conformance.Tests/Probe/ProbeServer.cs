using Gguf.Conformance.Native;
using Gguf.LlamaCpp;
using Gguf.Testing;

namespace Gguf.Conformance.Probe;

/// <summary>
/// The child side of crash isolation: the test assembly started with <see cref="Argument"/> reads one request
/// per line from stdin ("meta\tPATH" or "blob\tPATH") and answers one line per request on stdout
/// ("accept\tDIGEST" or "reject\tMESSAGE"). If llama.cpp aborts, the process dies mid-request and the parent
/// records a crash.
/// </summary>
internal static class ProbeServer
{
    public const string Argument = "--gguf-probe";

    /// <summary>Answers start with this marker: ggml's abort path may print other lines to stdout.</summary>
    public const string Marker = "@@probe ";

    public static int Run(TextReader input, TextWriter output)
    {
        NativeLibraries.EnsureLoaded();
        if (!NativeLibraries.IsAvailable)
        {
            output.WriteLine(Marker + "unavailable\t" + NativeLibraries.UnavailableReason);
            output.Flush();
            return 2;
        }

        NativeLog.Install();
        WarmUp();
        output.WriteLine(Marker + "ready");
        output.Flush();
        while (input.ReadLine() is { } line)
        {
            int tab = line.IndexOf('\t', StringComparison.Ordinal);
            string mode = tab < 0 ? "meta" : line[..tab];
            string path = tab < 0 ? line : line[(tab + 1)..];
            if (mode == "abort")
            {
                AbortInsideLlamaCpp();
            }

            var result = mode.StartsWith(Architectures.ArchitectureProbe.Prefix, StringComparison.Ordinal) ? Architectures.ArchitectureProbe.Handle(mode, path)
                : mode == Tokenization.VocabVerdict.Mode ? Tokenization.VocabVerdict.Judge(path)
                : mode == "blob" ? NativeVerdict.JudgeBlob(path) : NativeVerdict.Judge(path);
            output.WriteLine(Marker + (result.Verdict == Verdict.Accept ? "accept\t" : "reject\t") + OneLine(result.Detail));
            output.Flush();
        }

        return 0;
    }

    /// <summary>Runs the request path once, so the first real request does not pay for JIT compilation.</summary>
    private static void WarmUp()
    {
        string path = Path.Combine(Path.GetTempPath(), $"gguf-probe-warmup-{Environment.ProcessId}.gguf");
        try
        {
            File.WriteAllBytes(path, new RawGgufBuilder().KvString("k", "v").Tensor("w", 0, [8]).Build());
            _ = NativeVerdict.Judge(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Makes llama.cpp abort for real (a typed getter on a key of another type hits GGML_ASSERT).</summary>
    private static void AbortInsideLlamaCpp()
    {
        nint ctx = GgufNative.gguf_init_empty();
        GgufNative.gguf_set_val_u32(ctx, "k", 1);
        _ = GgufNative.gguf_get_val_u8(ctx, 0);
        throw new InvalidOperationException("llama.cpp did not abort");
    }

    private static string OneLine(string s) => s.Replace('\n', ' ').Replace('\r', ' ').Replace('\t', ' ');
}
