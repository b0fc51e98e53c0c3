using System.Runtime.InteropServices;

namespace Gguf.LlamaCpp;

/// <summary>The parts of libllama (llama.h) this suite uses: load, tokenize, decode, quantize.</summary>
internal static unsafe partial class LlamaNative
{
    static LlamaNative() => NativeLibraries.EnsureLoaded();

    [LibraryImport(NativeLibraries.Llama)]
    public static partial void llama_backend_init();

    [LibraryImport(NativeLibraries.Llama)]
    public static partial LlamaModelParams llama_model_default_params();

    [LibraryImport(NativeLibraries.Llama)]
    public static partial LlamaContextParams llama_context_default_params();

    [LibraryImport(NativeLibraries.Llama)]
    public static partial LlamaModelQuantizeParams llama_model_quantize_default_params();

    [LibraryImport(NativeLibraries.Llama, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint llama_model_load_from_file(string pathModel, LlamaModelParams parameters);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial void llama_model_free(nint model);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial nint llama_init_from_model(nint model, LlamaContextParams parameters);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial void llama_free(nint ctx);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial nint llama_model_get_vocab(nint model);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_n_tokens(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_type(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_model_n_embd(nint model);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_model_n_layer(nint model);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial ulong llama_model_n_params(nint model);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_model_desc(nint model, byte* buf, nuint bufSize);

    /// <summary>Returns the number of tokens, or minus the number needed when <paramref name="nTokensMax"/> is too small.</summary>
    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_tokenize(nint vocab, byte* text, int textLen, int* tokens, int nTokensMax, [MarshalAs(UnmanagedType.U1)] bool addSpecial, [MarshalAs(UnmanagedType.U1)] bool parseSpecial);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial LlamaBatch llama_batch_get_one(int* tokens, int nTokens);

    /// <summary>0 on success; 1 no KV slot; 2 aborted; negative on error.</summary>
    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_decode(nint ctx, LlamaBatch batch);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial float* llama_get_logits_ith(nint ctx, int i);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial float* llama_get_logits(nint ctx);

    /// <summary>Returns 0 on success.</summary>
    [LibraryImport(NativeLibraries.Llama, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint llama_model_quantize(string fnameInp, string fnameOut, LlamaModelQuantizeParams* parameters);

    /// <summary><c>void llama_log_set(ggml_log_callback log_callback, void * user_data)</c>.</summary>
    [LibraryImport(NativeLibraries.Llama)]
    public static partial void llama_log_set(delegate* unmanaged[Cdecl]<int, byte*, void*, void> callback, void* userData);
}
