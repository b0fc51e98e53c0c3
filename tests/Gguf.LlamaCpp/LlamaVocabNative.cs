using System.Runtime.InteropServices;

namespace Gguf.LlamaCpp;

/// <summary>
/// The vocabulary side of libllama (llama.h: special tokens, attributes, pieces, detokenize) and the
/// C++ functions of its <c>unicode.cpp</c> that libllama exports (Itanium-mangled names), which give the
/// Unicode tables our tokenizer must match. <c>llama_tokenize</c> and the model loading functions are
/// declared in <see cref="LlamaNative"/>.
/// </summary>
internal static unsafe partial class LlamaVocabNative
{
    static LlamaVocabNative() => NativeLibraries.EnsureLoaded();

    /// <summary>Returns the byte count, or minus the count needed when <paramref name="textLenMax"/> is too small.</summary>
    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_detokenize(nint vocab, int* tokens, int nTokens, byte* text, int textLenMax, [MarshalAs(UnmanagedType.U1)] bool removeSpecial, [MarshalAs(UnmanagedType.U1)] bool unparseSpecial);

    /// <summary>Returns the byte count, or minus the count needed when <paramref name="length"/> is too small.</summary>
    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_token_to_piece(nint vocab, int token, byte* buf, int length, int lstrip, [MarshalAs(UnmanagedType.U1)] bool special);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_get_attr(nint vocab, int token);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial byte* llama_vocab_get_text(nint vocab, int token);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial float llama_vocab_get_score(nint vocab, int token);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_bos(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_eos(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_eot(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_sep(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_nl(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_pad(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_mask(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_fim_pre(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_fim_suf(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_vocab_fim_mid(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool llama_vocab_get_add_bos(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool llama_vocab_get_add_eos(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool llama_vocab_get_add_sep(nint vocab);

    [LibraryImport(NativeLibraries.Llama)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool llama_vocab_is_eog(nint vocab, int token);

    /// <summary><c>unicode_cpt_flags unicode_cpt_flags_from_cpt(uint32_t)</c>: a 16-bit flags struct, returned in a register.</summary>
    [LibraryImport(NativeLibraries.Llama, EntryPoint = "_Z26unicode_cpt_flags_from_cptj")]
    public static partial ushort unicode_cpt_flags_from_cpt(uint codePoint);

    /// <summary><c>uint32_t unicode_tolower(uint32_t)</c>.</summary>
    [LibraryImport(NativeLibraries.Llama, EntryPoint = "_Z15unicode_tolowerj")]
    public static partial uint unicode_tolower(uint codePoint);

    /// <summary>
    /// <c>std::vector&lt;uint32_t&gt; unicode_cpts_normalize_nfd(const std::vector&lt;uint32_t&gt; &amp;)</c>: the
    /// result is returned through a hidden first pointer (Itanium C++ ABI); its storage is never freed.
    /// </summary>
    [LibraryImport(NativeLibraries.Llama, EntryPoint = "_Z26unicode_cpts_normalize_nfdRKSt6vectorIjSaIjEE")]
    public static partial StdVectorUInt32* unicode_cpts_normalize_nfd(StdVectorUInt32* result, StdVectorUInt32* input);

    /// <summary>libstdc++'s <c>std::vector&lt;uint32_t&gt;</c>: begin, end and end of storage.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct StdVectorUInt32
    {
        public uint* Begin;
        public uint* End;
        public uint* Capacity;
    }
}
