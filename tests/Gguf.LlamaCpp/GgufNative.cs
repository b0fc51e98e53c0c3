using System.Runtime.InteropServices;

namespace Gguf.LlamaCpp;

/// <summary><c>struct gguf_init_params</c> (gguf.h): passed by value to <c>gguf_init_from_file</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct GgufInitParams
{
    /// <summary>When true, tensor data is not read into a ggml context.</summary>
    [FieldOffset(0)] public bool NoAlloc;

    /// <summary><c>struct ggml_context **</c>: if not null, receives a context holding the tensors.</summary>
    [FieldOffset(8)] public nint Ctx;
}

/// <summary>The metadata value types of gguf.h (<c>enum gguf_type</c>).</summary>
internal enum GgufNativeType
{
    UINT8 = 0,
    INT8 = 1,
    UINT16 = 2,
    INT16 = 3,
    UINT32 = 4,
    INT32 = 5,
    FLOAT32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    UINT64 = 10,
    INT64 = 11,
    FLOAT64 = 12,
}

/// <summary>The gguf C API exported by libggml-base (gguf.h). Getters abort on a wrong type: check first.</summary>
internal static unsafe partial class GgufNative
{
    static GgufNative() => NativeLibraries.EnsureLoaded();

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nint gguf_init_empty();

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint gguf_init_from_file(string fname, GgufInitParams parameters);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial void gguf_free(nint ctx);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial byte* gguf_type_name(int type);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial uint gguf_get_version(nint ctx);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nuint gguf_get_alignment(nint ctx);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nuint gguf_get_data_offset(nint ctx);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial long gguf_get_n_kv(nint ctx);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial long gguf_find_key(nint ctx, string key);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial byte* gguf_get_key(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial GgufNativeType gguf_get_kv_type(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial GgufNativeType gguf_get_arr_type(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial byte gguf_get_val_u8(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial sbyte gguf_get_val_i8(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial ushort gguf_get_val_u16(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial short gguf_get_val_i16(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial uint gguf_get_val_u32(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial int gguf_get_val_i32(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial float gguf_get_val_f32(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial ulong gguf_get_val_u64(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial long gguf_get_val_i64(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial double gguf_get_val_f64(nint ctx, long keyId);

    /// <summary>C <c>bool</c>: one byte (runtime marshalling is disabled for this assembly).</summary>
    [LibraryImport(NativeLibraries.GgmlBase)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool gguf_get_val_bool(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial byte* gguf_get_val_str(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial void* gguf_get_val_data(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nuint gguf_get_arr_n(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial void* gguf_get_arr_data(nint ctx, long keyId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial byte* gguf_get_arr_str(nint ctx, long keyId, nuint i);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial long gguf_get_n_tensors(nint ctx);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial long gguf_find_tensor(nint ctx, string name);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nuint gguf_get_tensor_offset(nint ctx, long tensorId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial byte* gguf_get_tensor_name(nint ctx, long tensorId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial int gguf_get_tensor_type(nint ctx, long tensorId);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nuint gguf_get_tensor_size(nint ctx, long tensorId);

    /// <summary>Exported by this build: <c>const int64_t * gguf_get_tensor_ne(ctx, tensor_id)</c>, 4 entries.</summary>
    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial long* gguf_get_tensor_ne(nint ctx, long tensorId);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial long gguf_remove_key(nint ctx, string key);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_u8(nint ctx, string key, byte val);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_i8(nint ctx, string key, sbyte val);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_u16(nint ctx, string key, ushort val);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_i16(nint ctx, string key, short val);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_u32(nint ctx, string key, uint val);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_i32(nint ctx, string key, int val);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_f32(nint ctx, string key, float val);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_u64(nint ctx, string key, ulong val);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_i64(nint ctx, string key, long val);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_f64(nint ctx, string key, double val);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_bool(nint ctx, string key, [MarshalAs(UnmanagedType.U1)] bool val);

    /// <summary>Values are C strings: raw bytes, NUL-terminated by the caller.</summary>
    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_val_str(nint ctx, string key, byte* val);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_arr_data(nint ctx, string key, GgufNativeType type, void* data, nuint n);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_arr_str(nint ctx, string key, byte** data, nuint n);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial void gguf_add_tensor(nint ctx, GgmlTensorHead* tensor);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gguf_set_tensor_data(nint ctx, string name, void* data);

    [LibraryImport(NativeLibraries.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool gguf_write_to_file(nint ctx, string fname, [MarshalAs(UnmanagedType.U1)] bool onlyMeta);

    [LibraryImport(NativeLibraries.GgmlBase)]
    public static partial nuint gguf_get_meta_size(nint ctx);
}
