using System.Runtime.InteropServices;

namespace Gguf.Benchmarks;

/// <summary>
/// The dequantization baseline: ggml's own <c>to_float</c> of each type, read from
/// <c>ggml_get_type_traits(type)</c> in the same libggml-base.so <see cref="LlamaGguf"/> loads, and called
/// by function pointer (no marshalling stub in the timed path). <c>struct ggml_type_traits</c> keeps
/// <c>to_float</c> at byte 40 (after type_name, blck_size, blck_size_interleave, type_size, is_quantized);
/// <see cref="Load"/> checks blck_size and type_size against <c>ggml_blck_size</c>/<c>ggml_type_size</c>.
/// </summary>
public static unsafe class DequantGgml
{
    private static readonly Lazy<nint> Library = new(() => NativeLibrary.Load(LlamaGguf.LibraryPath), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether libggml-base.so was found.</summary>
    public static bool IsAvailable => LlamaGguf.IsAvailable;

    /// <summary>The library's path.</summary>
    public static string LibraryPath => LlamaGguf.LibraryPath;

    /// <summary>ggml's decoder of <paramref name="typeId"/>, or null where its traits have none (Q8_K: its exported <c>dequantize_row_q8_K</c>).</summary>
    public static delegate* unmanaged<void*, float*, long, void> ToFloat(int typeId)
    {
        nint handle = Library.Value;
        var traits = (delegate* unmanaged<int, byte*>)NativeLibrary.GetExport(handle, "ggml_get_type_traits");
        var blockSize = (delegate* unmanaged<int, long>)NativeLibrary.GetExport(handle, "ggml_blck_size");
        var typeSize = (delegate* unmanaged<int, nuint>)NativeLibrary.GetExport(handle, "ggml_type_size");
        byte* entry = traits(typeId);
        if (*(long*)(entry + 8) != blockSize(typeId) || *(nuint*)(entry + 24) != typeSize(typeId))
        {
            throw new InvalidOperationException($"struct ggml_type_traits of this build does not have the expected layout (type {typeId})");
        }

        var toFloat = *(delegate* unmanaged<void*, float*, long, void>*)(entry + 40);
        if (toFloat == null && typeId == 15)
        {
            toFloat = (delegate* unmanaged<void*, float*, long, void>)NativeLibrary.GetExport(handle, "dequantize_row_q8_K");
        }

        return toFloat;
    }
}
