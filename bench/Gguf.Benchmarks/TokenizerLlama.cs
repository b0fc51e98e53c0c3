using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Gguf.Benchmarks;

/// <summary>
/// The tokenizer baseline: libllama's vocab-only model load and <c>llama_tokenize</c>, from the
/// LLamaSharp.Backend.Cpu package, bound by function pointer so no marshalling stub runs in the timed path.
/// </summary>
/// <remarks>
/// Only the <c>vocab_only</c> byte of <c>struct llama_model_params</c> is touched (offset 64 of the 72-byte
/// struct in this build; tests/Gguf.Conformance.Tests/Native/LlamaStructs.cs checks the layout).
/// </remarks>
public static unsafe class TokenizerLlama
{
    private const int ModelParamsSize = 72;
    private const int VocabOnlyOffset = 64;

    private static readonly Lazy<Native> Library = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The loaded libllama's path.</summary>
    public static string LibraryPath => Library.Value.Path;

    /// <summary>Whether libllama loads on this machine.</summary>
    public static bool IsAvailable
    {
        get
        {
            try
            {
                _ = Library.Value;
                return true;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or PlatformNotSupportedException)
            {
                return false;
            }
        }
    }

    /// <summary>Loads the vocabulary of a file (<c>vocab_only = true</c>); returns the model handle, 0 on failure.</summary>
    public static nint LoadVocabOnly(byte[] utf8Path)
    {
        Native native = Library.Value;
        ModelParams parameters = native.DefaultParams();
        parameters.Bytes[VocabOnlyOffset] = 1;
        fixed (byte* path = utf8Path)
        {
            return native.LoadModel(path, parameters);
        }
    }

    /// <summary>Frees a model from <see cref="LoadVocabOnly"/>.</summary>
    public static void Free(nint model) => Library.Value.FreeModel(model);

    /// <summary>The model's <c>llama_vocab *</c>.</summary>
    public static nint Vocab(nint model) => Library.Value.GetVocab(model);

    /// <summary><c>llama_tokenize</c>: the token count, negative when <paramref name="tokens"/> is too small.</summary>
    public static int Tokenize(nint vocab, ReadOnlySpan<byte> text, Span<int> tokens, bool addSpecial, bool parseSpecial)
    {
        Native native = Library.Value;
        fixed (byte* t = text)
        fixed (int* p = tokens)
        {
            return native.Tokenize(vocab, t, text.Length, p, tokens.Length, addSpecial ? (byte)1 : (byte)0, parseSpecial ? (byte)1 : (byte)0);
        }
    }

    private static Native Load()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            throw new PlatformNotSupportedException("the llama.cpp baseline is wired for linux-x64 only");
        }

        string? directory = Candidates().FirstOrDefault(d => File.Exists(Path.Combine(d, "libllama.so")));
        if (directory is null)
        {
            throw new DllNotFoundException($"libllama.so of LLamaSharp.Backend.Cpu {LlamaGguf.PackageVersion} not found; looked in: {string.Join(", ", Candidates())}");
        }

        nint handle = 0;
        foreach (string name in (string[])["libggml-base.so", "libggml-cpu.so", "libggml.so", "libllama.so"])
        {
            handle = NativeLibrary.Load(Path.Combine(directory, name));
        }

        var native = new Native(
            Path.Combine(directory, "libllama.so"),
            (delegate* unmanaged<ModelParams>)NativeLibrary.GetExport(handle, "llama_model_default_params"),
            (delegate* unmanaged<byte*, ModelParams, nint>)NativeLibrary.GetExport(handle, "llama_model_load_from_file"),
            (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(handle, "llama_model_free"),
            (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(handle, "llama_model_get_vocab"),
            (delegate* unmanaged<nint, byte*, int, int*, int, byte, byte, int>)NativeLibrary.GetExport(handle, "llama_tokenize"));

        // Silence llama.cpp's load log: a callback that drops every line.
        var logSet = (delegate* unmanaged<delegate* unmanaged<int, byte*, void*, void>, void*, void>)NativeLibrary.GetExport(handle, "llama_log_set");
        logSet(&DropLog, null);
        ((delegate* unmanaged<void>)NativeLibrary.GetExport(handle, "llama_backend_init"))();
        return native;
    }

    [UnmanagedCallersOnly]
    private static void DropLog(int level, byte* text, void* userData)
    {
    }

    private static IEnumerable<string> Candidates()
    {
        string variant = Avx2.IsSupported ? "avx2" : Avx.IsSupported ? "avx" : "noavx";
        string relative = Path.Combine("linux-x64", "native", variant);
        string? packageRoot = typeof(TokenizerLlama).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "LLamaSharpBackendCpuPath")?.Value;
        string nugetRoot = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var roots = new List<string>();
        if (!string.IsNullOrEmpty(packageRoot))
        {
            roots.Add(packageRoot);
        }

        roots.Add(Path.Combine(nugetRoot, "llamasharp.backend.cpu", LlamaGguf.PackageVersion));
        foreach (string root in roots)
        {
            yield return Path.Combine(root, "LLamaSharpRuntimes", relative);
            yield return Path.Combine(root, "runtimes", relative);
        }
    }

    /// <summary>The 72 bytes of <c>struct llama_model_params</c>, passed and returned by value.</summary>
    [StructLayout(LayoutKind.Sequential, Size = ModelParamsSize)]
    private struct ModelParams
    {
        public fixed byte Bytes[ModelParamsSize];
    }

    private sealed class Native(
        string path,
        delegate* unmanaged<ModelParams> defaultParams,
        delegate* unmanaged<byte*, ModelParams, nint> loadModel,
        delegate* unmanaged<nint, void> freeModel,
        delegate* unmanaged<nint, nint> getVocab,
        delegate* unmanaged<nint, byte*, int, int*, int, byte, byte, int> tokenize)
    {
        public string Path { get; } = path;

        public ModelParams DefaultParams() => defaultParams();

        public nint LoadModel(byte* path, ModelParams parameters) => loadModel(path, parameters);

        public void FreeModel(nint model) => freeModel(model);

        public nint GetVocab(nint model) => getVocab(model);

        public int Tokenize(nint vocab, byte* text, int length, int* tokens, int max, byte addSpecial, byte parseSpecial) =>
            tokenize(vocab, text, length, tokens, max, addSpecial, parseSpecial);
    }
}
