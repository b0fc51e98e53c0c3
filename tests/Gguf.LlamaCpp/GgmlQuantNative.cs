using System.Runtime.InteropServices;

namespace Gguf.LlamaCpp;

/// <summary>
/// <c>struct ggml_type_traits</c> (ggml.h): <c>const char * type_name</c> at 0, <c>int64_t blck_size</c> at 8,
/// <c>int64_t blck_size_interleave</c> at 16, <c>size_t type_size</c> at 24, <c>bool is_quantized</c> at 32,
/// <c>ggml_to_float_t to_float</c> at 40, <c>ggml_from_float_t from_float_ref</c> at 48. The layout is checked
/// by a test against <c>ggml_blck_size</c>/<c>ggml_type_size</c>/<c>ggml_type_name</c> for every type.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
internal unsafe struct GgmlTypeTraits
{
    [FieldOffset(0)] public byte* TypeName;
    [FieldOffset(8)] public long BlockSize;
    [FieldOffset(16)] public long BlockSizeInterleave;
    [FieldOffset(24)] public nuint TypeSize;
    [FieldOffset(32)] public bool IsQuantized;

    /// <summary><c>void to_float(const void * x, float * y, int64_t k)</c>: k elements, a whole number of blocks; NULL where the type has none.</summary>
    [FieldOffset(40)] public delegate* unmanaged[Cdecl]<void*, float*, long, void> ToFloat;
    [FieldOffset(48)] public nint FromFloatRef;
}

/// <summary>ggml's type traits and quantizer entry points in libggml-base (ggml.h), for the dequantization tests.</summary>
internal static unsafe partial class GgmlQuantNative
{
    static GgmlQuantNative() => NativeLibraries.EnsureLoaded();

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial GgmlTypeTraits* ggml_get_type_traits(int type);

    /// <summary><c>size_t ggml_quantize_chunk(type, src, dst, start, nrows, n_per_row, imatrix)</c>: quantizes nrows rows of floats.</summary>
    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nuint ggml_quantize_chunk(int type, float* source, void* destination, long start, long rows, long perRow, float* importance);

    /// <summary>Builds the i-quant search tables a quantizer needs (idempotent).</summary>
    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial void ggml_quantize_init(int type);

    /// <summary>
    /// <c>dequantize_row_q8_K</c>: exported by libggml-base although Q8_K's traits carry no <c>to_float</c>;
    /// the block definition's own decoder, our reference for Q8_K.
    /// </summary>
    public static delegate* unmanaged[Cdecl]<void*, float*, long, void> DequantizeRowQ8K =>
        (delegate* unmanaged[Cdecl]<void*, float*, long, void>)NativeLibraries.GetExport("ggml-base", "dequantize_row_q8_K");
}
