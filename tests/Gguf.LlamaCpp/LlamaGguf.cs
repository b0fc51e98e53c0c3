using System.Text;

namespace Gguf.LlamaCpp;

/// <summary>
/// llama.cpp's own GGUF parser for timed paths: <c>gguf_init_from_file</c> with <c>no_alloc = true</c> and
/// <c>gguf_free</c>, called by function pointer so that no marshalling stub runs between the timer and the
/// parser (the caller passes the path already as NUL-terminated UTF-8).
/// </summary>
internal static unsafe class LlamaGguf
{
    private static readonly Lazy<EntryPoints> Functions = new(Bind, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The path of the loaded <c>libggml-base</c>.</summary>
    public static string LibraryPath => NativeLibraries.PathOf(NativeLibraries.GgmlBase);

    /// <summary>Whether the native library can be loaded on this machine (see <see cref="NativeLibraries.UnavailableReason"/>).</summary>
    public static bool IsAvailable => NativeLibraries.IsAvailable;

    /// <summary>Parses <paramref name="utf8Path"/> (NUL-terminated) and frees the context; returns false when llama.cpp rejects the file.</summary>
    public static bool OpenAndFree(byte[] utf8Path)
    {
        EntryPoints functions = Functions.Value;
        fixed (byte* path = utf8Path)
        {
            // no_alloc = true and ctx = NULL: metadata and tensor infos only, as a model loader's first step.
            nint context = functions.InitFromFile(path, new GgufInitParams { NoAlloc = true, Ctx = 0 });
            if (context == 0)
            {
                return false;
            }

            functions.Free(context);
            return true;
        }
    }

    /// <summary>Parses a file and returns its key and tensor counts, for sanity checks outside the timed path.</summary>
    public static (long Keys, long Tensors)? Describe(string path)
    {
        nint context = GgufNative.gguf_init_from_file(path, new GgufInitParams { NoAlloc = true, Ctx = 0 });
        if (context == 0)
        {
            return null;
        }

        try
        {
            return (GgufNative.gguf_get_n_kv(context), GgufNative.gguf_get_n_tensors(context));
        }
        finally
        {
            GgufNative.gguf_free(context);
        }
    }

    /// <summary>A path as the NUL-terminated UTF-8 that C expects.</summary>
    public static byte[] NulTerminated(string path)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    private static EntryPoints Bind()
    {
        if (!NativeLibraries.IsAvailable)
        {
            throw new DllNotFoundException(NativeLibraries.UnavailableReason);
        }

        return new EntryPoints(
            (delegate* unmanaged<byte*, GgufInitParams, nint>)NativeLibraries.GetExport(NativeLibraries.GgmlBase, "gguf_init_from_file"),
            (delegate* unmanaged<nint, void>)NativeLibraries.GetExport(NativeLibraries.GgmlBase, "gguf_free"));
    }

    /// <summary>The two exports, bound once; the same signatures as <see cref="GgufNative"/>'s declarations.</summary>
    private sealed class EntryPoints(delegate* unmanaged<byte*, GgufInitParams, nint> initFromFile, delegate* unmanaged<nint, void> free)
    {
        public nint InitFromFile(byte* fileName, GgufInitParams parameters) => initFromFile(fileName, parameters);

        public void Free(nint context) => free(context);
    }
}
