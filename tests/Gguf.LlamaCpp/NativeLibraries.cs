using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Gguf.LlamaCpp;

/// <summary>
/// Finds llama.cpp's native libraries shipped by the LLamaSharp.Backend.Cpu package, picks the CPU variant and
/// makes our P/Invoke declarations bind to them. Looks in <c>$GGUF_LLAMACPP_NATIVE</c> (a folder holding the
/// libraries) when set, then in the consumer's output folder (<c>runtimes/&lt;rid&gt;/native[/&lt;variant&gt;]</c>,
/// copied there by this project), then in the package folder of the NuGet cache.
/// </summary>
internal static class NativeLibraries
{
    /// <summary>Library name used in our <c>LibraryImport</c> declarations for ggml-base (gguf API, type traits).</summary>
    public const string GgmlBase = "ggml-base";

    /// <summary>Library name used in our <c>LibraryImport</c> declarations for libllama.</summary>
    public const string Llama = "llama";

    /// <summary>The environment variable naming a folder that holds the libraries (overrides the package).</summary>
    public const string OverrideVariable = "GGUF_LLAMACPP_NATIVE";

    private const string PackageId = "llamasharp.backend.cpu";

    /// <summary>The package version, from the one MSBuild property <c>LlamaSharpBackendVersion</c> (Directory.Packages.props).</summary>
    public static string PackageVersion { get; } = BuildMetadata("LlamaSharpBackendVersion") ?? "unknown";

    // Dependency order: each library only needs the ones before it.
    private static readonly string[] LoadOrder = ["ggml-base", "ggml-cpu", "ggml", "llama"];

    private static readonly Lazy<State> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private sealed record State(string? Directory, string? Variant, Dictionary<string, nint> Handles, string? Error);

    /// <summary>True when the native libraries were found and loaded for this OS, architecture and CPU.</summary>
    public static bool IsAvailable => Loaded.Value.Error is null;

    /// <summary>Why the libraries are not available (null when they are).</summary>
    public static string? UnavailableReason => Loaded.Value.Error;

    /// <summary>The folder the libraries were loaded from.</summary>
    public static string? Directory => Loaded.Value.Directory;

    /// <summary>The CPU variant chosen (avx512, avx2, avx, noavx) or null where the package has a single build.</summary>
    public static string? Variant => Loaded.Value.Variant;

    /// <summary>Registers the resolver and loads the libraries (idempotent).</summary>
    public static void EnsureLoaded() => _ = Loaded.Value;

    /// <summary>The address of an exported function of one of the loaded libraries (e.g. "llama").</summary>
    public static nint GetExport(string library, string name) => NativeLibrary.GetExport(Loaded.Value.Handles[library], name);

    /// <summary>The full path of one of the loaded libraries (e.g. <see cref="GgmlBase"/>).</summary>
    public static string PathOf(string library) => Path.Combine(Loaded.Value.Directory ?? string.Empty, FileName(library));

    /// <summary>The CPU variant folder to use on x86/x64, best first, from the CPU's features.</summary>
    public static IReadOnlyList<string> X86VariantsInPreferenceOrder()
    {
        var list = new List<string>();
        if (Avx512F.IsSupported)
        {
            list.Add("avx512");
        }

        if (Avx2.IsSupported)
        {
            list.Add("avx2");
        }

        if (Avx.IsSupported)
        {
            list.Add("avx");
        }

        list.Add("noavx");
        return list;
    }

    private static State Load()
    {
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);

        string? rid = CurrentRid();
        if (rid is null)
        {
            return new State(null, null, [], $"LLamaSharp.Backend.Cpu {PackageVersion} has no native build for {RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}.");
        }

        var candidates = new List<(string Dir, string? Variant)>();
        string? overrideDir = Environment.GetEnvironmentVariable(OverrideVariable);
        string[] roots = string.IsNullOrEmpty(overrideDir) ? [.. RuntimeRoots()] : [];
        if (!string.IsNullOrEmpty(overrideDir))
        {
            // An explicit folder is the only one tried: a benchmark must not silently measure another build.
            candidates.Add((overrideDir, null));
        }

        foreach (string root in roots)
        {
            string native = Path.Combine(root, rid, "native");
            if (RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86)
            {
                foreach (string variant in X86VariantsInPreferenceOrder())
                {
                    candidates.Add((Path.Combine(native, variant), variant));
                }
            }

            candidates.Add((native, null));
        }

        var (dir, chosen) = candidates.FirstOrDefault(c => File.Exists(Path.Combine(c.Dir, FileName("llama"))));
        if (dir is null)
        {
            string looked = roots.Length > 0 ? string.Join(", ", roots) : $"{OverrideVariable}={overrideDir}";
            return new State(null, null, [], $"No native llama.cpp build for {rid} found (looked in: {looked}).");
        }

        var handles = new Dictionary<string, nint>(StringComparer.Ordinal);
        foreach (string name in LoadOrder)
        {
            string path = Path.Combine(dir, FileName(name));
            if (!File.Exists(path))
            {
                continue; // e.g. macOS builds may fold ggml-cpu into others
            }

            try
            {
                handles[name] = NativeLibrary.Load(path);
            }
            catch (DllNotFoundException e)
            {
                return new State(dir, chosen, handles, $"Loading {path} failed: {e.Message}");
            }
        }

        return new State(dir, chosen, handles, null);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        var state = Loaded.Value;
        return state.Handles.TryGetValue(libraryName, out nint handle) ? handle : 0;
    }

    private static string FileName(string name) =>
        OperatingSystem.IsWindows() ? name + ".dll"
        : OperatingSystem.IsMacOS() ? "lib" + name + ".dylib"
        : "lib" + name + ".so";

    private static string? CurrentRid()
    {
        string? arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            _ => null,
        };
        if (arch is null)
        {
            return null;
        }

        if (OperatingSystem.IsWindows())
        {
            return "win-" + arch;
        }

        if (OperatingSystem.IsMacOS())
        {
            return "osx-" + arch;
        }

        if (OperatingSystem.IsLinux())
        {
            bool musl = System.IO.Directory.Exists("/lib") && System.IO.Directory.EnumerateFiles("/lib", "ld-musl-*").Any();
            return (musl ? "linux-musl-" : "linux-") + arch;
        }

        return null;
    }

    /// <summary>Folders holding <c>&lt;rid&gt;/native/...</c>, first the output folder, then the package's.</summary>
    private static IEnumerable<string> RuntimeRoots()
    {
        yield return Path.Combine(AppContext.BaseDirectory, "runtimes");

        // The package folder restore used for this build, then the same package in the current NuGet cache.
        string? built = BuildMetadata("LlamaSharpBackendPath");
        string? packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(packages))
        {
            packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }

        foreach (string package in new[] { built, Path.Combine(packages, PackageId, PackageVersion) }.OfType<string>().Distinct(StringComparer.Ordinal))
        {
            // 0.30.0 keeps its binaries in LLamaSharpRuntimes/; other versions used runtimes/.
            yield return Path.Combine(package, "LLamaSharpRuntimes");
            yield return Path.Combine(package, "runtimes");
        }
    }

    private static string? BuildMetadata(string key)
    {
        string? value = typeof(NativeLibraries).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == key)?.Value;
        return string.IsNullOrEmpty(value) ? null : value;
    }
}
