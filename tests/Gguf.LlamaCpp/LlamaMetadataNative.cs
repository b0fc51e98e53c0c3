using System.Runtime.InteropServices;
using System.Text;

namespace Gguf.LlamaCpp;

/// <summary>
/// libllama's view of a loaded model's metadata (<c>llama_model_meta_val_str</c>), for the editing tests:
/// what llama.cpp itself reads for a key after an edit.
/// </summary>
internal static unsafe partial class LlamaMetadataNative
{
    static LlamaMetadataNative() => NativeLibraries.EnsureLoaded();

    [LibraryImport(NativeLibraries.Llama, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int llama_model_meta_val_str(nint model, string key, byte* buffer, nuint bufferSize);

    /// <summary>
    /// Loads <paramref name="path"/> (vocabulary only) and returns llama.cpp's string form of each key's value
    /// (null when the key is absent); throws with llama.cpp's log when the model does not load.
    /// </summary>
    public static Dictionary<string, string?> Read(string path, params string[] keys)
    {
        LlamaNative.llama_backend_init();
        var parameters = LlamaNative.llama_model_default_params();
        parameters.VocabOnly = true;
        NativeLog.BeginCapture();
        nint model = LlamaNative.llama_model_load_from_file(path, parameters);
        string log = NativeLog.EndCapture();
        if (model == 0)
        {
            throw new InvalidOperationException($"llama_model_load_from_file failed: {log}");
        }

        try
        {
            var values = new Dictionary<string, string?>();
            byte[] buffer = new byte[1 << 20];
            foreach (string key in keys)
            {
                fixed (byte* b = buffer)
                {
                    int length = llama_model_meta_val_str(model, key, b, (nuint)buffer.Length);
                    values[key] = length < 0 ? null : Encoding.UTF8.GetString(buffer, 0, Math.Min(length, buffer.Length - 1));
                }
            }

            return values;
        }
        finally
        {
            LlamaNative.llama_model_free(model);
        }
    }
}
