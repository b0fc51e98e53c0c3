using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Gguf.Benchmarks;

/// <summary>
/// The baseline: llama.cpp's own GGUF parser, <c>gguf_init_from_file</c> with <c>no_alloc = true</c>,
/// called through <c>libggml-base.so</c> from the LLamaSharp.Backend.Cpu package. Only the two functions
/// the benchmark needs are bound, by function pointer, so no marshalling stub runs in the timed path.
/// </summary>
public static unsafe class LlamaGguf
{
    /// <summary>The package version that ships the native library.</summary>
    public const string PackageVersion = "0.30.0";

    private static readonly Lazy<Native> Library = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The loaded library's path.</summary>
    public static string LibraryPath => Library.Value.Path;

    /// <summary>Whether the native library can be loaded on this machine.</summary>
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

    /// <summary>Parses <paramref name="utf8Path"/> (NUL-terminated) and frees the context; returns false when llama.cpp rejects the file.</summary>
    public static bool OpenAndFree(byte[] utf8Path)
    {
        Native native = Library.Value;
        fixed (byte* path = utf8Path)
        {
            // no_alloc = true and ctx = NULL: metadata and tensor infos only, as a model loader's first step.
            IntPtr context = native.InitFromFile(path, new InitParams { NoAlloc = 1, Context = null });
            if (context == IntPtr.Zero)
            {
                return false;
            }

            native.Free(context);
            return true;
        }
    }

    /// <summary>Parses a file and returns its key and tensor counts, for sanity checks outside the timed path.</summary>
    public static (long Keys, long Tensors)? Describe(string path)
    {
        Native native = Library.Value;
        byte[] utf8 = NulTerminated(path);
        fixed (byte* p = utf8)
        {
            IntPtr context = native.InitFromFile(p, new InitParams { NoAlloc = 1, Context = null });
            if (context == IntPtr.Zero)
            {
                return null;
            }

            try
            {
                return (native.KeyCount(context), native.TensorCount(context));
            }
            finally
            {
                native.Free(context);
            }
        }
    }

    /// <summary>A path as the NUL-terminated UTF-8 that C expects.</summary>
    public static byte[] NulTerminated(string path)
    {
        byte[] bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(path) + 1];
        System.Text.Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    /// <summary>The CPU variant folder LLamaSharp would pick here.</summary>
    public static string Variant => Avx2.IsSupported ? "avx2" : Avx.IsSupported ? "avx" : "noavx";

    private static Native Load()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            throw new PlatformNotSupportedException("the llama.cpp baseline is wired for linux-x64 only");
        }

        foreach (string candidate in Candidates())
        {
            if (File.Exists(candidate))
            {
                IntPtr handle = NativeLibrary.Load(candidate);
                return new Native(
                    candidate,
                    (delegate* unmanaged<byte*, InitParams, IntPtr>)NativeLibrary.GetExport(handle, "gguf_init_from_file"),
                    (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(handle, "gguf_free"),
                    (delegate* unmanaged<IntPtr, long>)NativeLibrary.GetExport(handle, "gguf_get_n_kv"),
                    (delegate* unmanaged<IntPtr, long>)NativeLibrary.GetExport(handle, "gguf_get_n_tensors"));
            }
        }

        throw new DllNotFoundException($"libggml-base.so of LLamaSharp.Backend.Cpu {PackageVersion} not found; looked in: {string.Join(", ", Candidates())}");
    }

    private static IEnumerable<string> Candidates()
    {
        string file = Path.Combine("linux-x64", "native", Variant, "libggml-base.so");
        string? overridePath = Environment.GetEnvironmentVariable("GGUF_BENCH_LLAMA_LIB");
        if (!string.IsNullOrEmpty(overridePath))
        {
            yield return overridePath;
        }

        string? packageRoot = typeof(LlamaGguf).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "LLamaSharpBackendCpuPath")?.Value;
        string nugetRoot = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string[] roots =
        [
            .. string.IsNullOrEmpty(packageRoot) ? Array.Empty<string>() : [packageRoot],
            Path.Combine(nugetRoot, "llamasharp.backend.cpu", PackageVersion),
        ];
        foreach (string root in roots)
        {
            // 0.30.0 keeps its binaries in LLamaSharpRuntimes/; other versions use runtimes/.
            yield return Path.Combine(root, "LLamaSharpRuntimes", file);
            yield return Path.Combine(root, "runtimes", file);
        }

        yield return Path.Combine(AppContext.BaseDirectory, "runtimes", file);
    }

    /// <summary><c>struct gguf_init_params { bool no_alloc; struct ggml_context ** ctx; }</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct InitParams
    {
        public byte NoAlloc;
        public IntPtr* Context;
    }

    private sealed class Native(
        string path,
        delegate* unmanaged<byte*, InitParams, IntPtr> initFromFile,
        delegate* unmanaged<IntPtr, void> free,
        delegate* unmanaged<IntPtr, long> keyCount,
        delegate* unmanaged<IntPtr, long> tensorCount)
    {
        public string Path { get; } = path;

        public IntPtr InitFromFile(byte* fileName, InitParams parameters) => initFromFile(fileName, parameters);

        public void Free(IntPtr context) => free(context);

        public long KeyCount(IntPtr context) => keyCount(context);

        public long TensorCount(IntPtr context) => tensorCount(context);
    }
}
