using System.Runtime.InteropServices;

namespace Gguf.LlamaCpp;

/// <summary><c>struct ggml_init_params</c> (ggml.h): passed by value to <c>ggml_init</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct GgmlInitParams
{
    [FieldOffset(0)] public nuint MemSize;
    [FieldOffset(8)] public nint MemBuffer;
    [FieldOffset(16)] public bool NoAlloc;
}

/// <summary>
/// The head of <c>struct ggml_tensor</c> (ggml.h): <c>enum ggml_type type</c> at 0, the backend buffer pointer
/// at 8, <c>int64_t ne[4]</c> at 16 and <c>size_t nb[4]</c> at 48. We only read these fields; the layout is
/// checked by a test against <c>ggml_nelements</c>/<c>ggml_nbytes</c>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 80)]
internal unsafe struct GgmlTensorHead
{
    public const int MaxDims = 4;

    [FieldOffset(0)] public int Type;
    [FieldOffset(8)] public nint Buffer;
    [FieldOffset(16)] public fixed long Ne[MaxDims];
    [FieldOffset(48)] public fixed ulong Nb[MaxDims];
}

/// <summary>ggml functions exported by libggml-base (ggml.h).</summary>
internal static unsafe partial class GgmlNative
{
    static GgmlNative() => NativeLibraries.EnsureLoaded();

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nint ggml_init(GgmlInitParams parameters);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial void ggml_free(nint ctx);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial GgmlTensorHead* ggml_new_tensor(nint ctx, int type, int nDims, long* ne);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial GgmlTensorHead* ggml_new_tensor_1d(nint ctx, int type, long ne0);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial GgmlTensorHead* ggml_new_tensor_2d(nint ctx, int type, long ne0, long ne1);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial GgmlTensorHead* ggml_new_tensor_3d(nint ctx, int type, long ne0, long ne1, long ne2);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial GgmlTensorHead* ggml_new_tensor_4d(nint ctx, int type, long ne0, long ne1, long ne2, long ne3);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial GgmlTensorHead* ggml_set_name(GgmlTensorHead* tensor, string name);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial byte* ggml_get_name(GgmlTensorHead* tensor);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial void* ggml_get_data(GgmlTensorHead* tensor);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nuint ggml_nbytes(GgmlTensorHead* tensor);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial long ggml_nelements(GgmlTensorHead* tensor);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial int ggml_n_dims(GgmlTensorHead* tensor);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nuint ggml_tensor_overhead();

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial GgmlTensorHead* ggml_get_tensor(nint ctx, string name);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial GgmlTensorHead* ggml_get_first_tensor(nint ctx);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial GgmlTensorHead* ggml_get_next_tensor(nint ctx, GgmlTensorHead* tensor);

    /// <summary>Bytes per block. Only valid for ids below the build's GGML_TYPE_COUNT (it indexes a table).</summary>
    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nuint ggml_type_size(int type);

    /// <summary>Elements per block; 0 for removed types. Same id caveat as <see cref="ggml_type_size"/>.</summary>
    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial long ggml_blck_size(int type);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial byte* ggml_type_name(int type);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nuint ggml_row_size(int type, long ne);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial byte* ggml_commit();

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial byte* ggml_version();

    /// <summary><c>void ggml_log_set(ggml_log_callback log_callback, void * user_data)</c>.</summary>
    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial void ggml_log_set(delegate* unmanaged[Cdecl]<int, byte*, void*, void> callback, void* userData);
}
