using Gguf.LlamaCpp;
using Gguf.Testing;

namespace Gguf.Benchmarks;

/// <summary>
/// The tokenizer baseline: libllama's vocab-only model load and <c>llama_tokenize</c>, through the shared
/// declarations of tests/Gguf.LlamaCpp (runtime marshalling is disabled there, so the calls are direct).
/// </summary>
public static unsafe class TokenizerLlama
{
    private static readonly Lazy<bool> Initialized = new(() =>
    {
        NativeLibraries.EnsureLoaded();
        if (!NativeLibraries.IsAvailable)
        {
            return false;
        }

        NativeLog.Install(); // silent: the load logs a page per vocabulary
        LlamaNative.llama_backend_init();
        return true;
    });

    /// <summary>Whether libllama loads on this machine.</summary>
    public static bool IsAvailable => Initialized.Value;

    /// <summary>The folder the native libraries were loaded from.</summary>
    public static string LibraryPath => NativeLibraries.PathOf(NativeLibraries.Llama);

    /// <summary>Loads the vocabulary of a file (<c>vocab_only = true</c>); returns the model handle, 0 on failure.</summary>
    public static nint LoadVocabOnly(string path)
    {
        _ = Initialized.Value;
        LlamaModelParams parameters = LlamaNative.llama_model_default_params();
        parameters.VocabOnly = true;
        return LlamaNative.llama_model_load_from_file(path, parameters);
    }

    /// <summary>Frees a model from <see cref="LoadVocabOnly"/>.</summary>
    public static void Free(nint model) => LlamaNative.llama_model_free(model);

    /// <summary>The model's <c>llama_vocab *</c>.</summary>
    public static nint Vocab(nint model) => LlamaNative.llama_model_get_vocab(model);

    /// <summary><c>llama_tokenize</c>: the token count, negative when <paramref name="tokens"/> is too small.</summary>
    public static int Tokenize(nint vocab, ReadOnlySpan<byte> text, Span<int> tokens, bool addSpecial, bool parseSpecial)
    {
        fixed (byte* t = text)
        fixed (int* p = tokens)
        {
            return LlamaNative.llama_tokenize(vocab, t, text.Length, p, tokens.Length, addSpecial, parseSpecial);
        }
    }
}
