using Gguf.LlamaCpp;

namespace Gguf.Benchmarks;

/// <summary>
/// The dequantization baseline: ggml's own <c>to_float</c> of each type from <c>ggml_get_type_traits</c>
/// (tests/Gguf.LlamaCpp binds it; the layout of <c>struct ggml_type_traits</c> is checked there by the
/// conformance tests), called by function pointer so no marshalling stub runs in the timed path.
/// </summary>
public static unsafe class DequantGgml
{
    /// <summary>Whether libggml-base was found.</summary>
    public static bool IsAvailable => NativeLibraries.IsAvailable;

    /// <summary>The library's path.</summary>
    public static string LibraryPath => NativeLibraries.PathOf(NativeLibraries.GgmlBase);

    /// <summary>ggml's decoder of <paramref name="typeId"/>, or null where its traits have none (Q8_K: its exported <c>dequantize_row_q8_K</c>).</summary>
    public static delegate* unmanaged[Cdecl]<void*, float*, long, void> ToFloat(int typeId)
    {
        GgmlTypeTraits* traits = GgmlQuantNative.ggml_get_type_traits(typeId);
        if (traits->BlockSize != GgmlNative.ggml_blck_size(typeId) || traits->TypeSize != GgmlNative.ggml_type_size(typeId))
        {
            throw new InvalidOperationException($"struct ggml_type_traits of this build does not have the expected layout (type {typeId})");
        }

        return traits->ToFloat == null && typeId == 15 ? GgmlQuantNative.DequantizeRowQ8K : traits->ToFloat;
    }
}
