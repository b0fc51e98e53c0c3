using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Gguf.LlamaCpp;

/// <summary>
/// Routes ggml's and llama's log output through one callback: silent by default (a mutation campaign would
/// print thousands of parser errors), captured per thread so a test can read why llama.cpp rejected a file.
/// Set <c>GGUF_CONFORMANCE_NATIVE_LOG=1</c> to also echo everything to stderr.
/// </summary>
internal static unsafe class NativeLog
{
    private const int LevelError = 4;

    [ThreadStatic]
    private static StringBuilder? captured;

    [ThreadStatic]
    private static int lastLevel;

    private static readonly bool Echo = Environment.GetEnvironmentVariable("GGUF_CONFORMANCE_NATIVE_LOG") == "1";

    private static readonly Lazy<bool> Installed = new(() =>
    {
        GgmlNative.ggml_log_set(&OnLog, null);
        LlamaNative.llama_log_set(&OnLog, null);
        return true;
    });

    /// <summary>Installs the callback in ggml and llama (idempotent).</summary>
    public static void Install() => _ = Installed.Value;

    /// <summary>Starts capturing error lines logged on this thread.</summary>
    public static void BeginCapture()
    {
        Install();
        captured = new StringBuilder();
    }

    /// <summary>Returns what was captured on this thread since <see cref="BeginCapture"/> and stops capturing.</summary>
    public static string EndCapture()
    {
        string text = captured?.ToString().Trim() ?? string.Empty;
        captured = null;
        return text;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnLog(int level, byte* text, void* userData)
    {
        if (text is null)
        {
            return;
        }

        string line = Marshal.PtrToStringUTF8((nint)text) ?? string.Empty;
        if (Echo)
        {
            Console.Error.Write(line);
        }

        // Level 5 is GGML_LOG_LEVEL_CONT: the continuation of the previous line.
        int effective = level == 5 ? lastLevel : level;
        lastLevel = effective;
        if (captured is not null && effective == LevelError)
        {
            captured.Append(line);
        }
    }
}
