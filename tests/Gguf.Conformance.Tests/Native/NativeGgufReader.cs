using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Gguf.Conformance.Support;
using Gguf.LlamaCpp;

namespace Gguf.Conformance.Native;

/// <summary>Reads a file with llama.cpp's gguf parser and reports what it saw as a <see cref="GgufSnapshot"/>.</summary>
internal static unsafe class NativeGgufReader
{
    /// <summary>
    /// Parses <paramref name="path"/> with <c>gguf_init_from_file</c>. With <paramref name="withData"/> the parser
    /// also reads the tensor data blob into a ggml context (<c>no_alloc = false</c>) and the tensors' bytes are
    /// returned as llama.cpp holds them. Returns null when llama.cpp rejects the file; <paramref name="error"/> then
    /// holds the error lines it logged.
    /// </summary>
    public static GgufSnapshot? TryRead(string path, bool withData, out string error)
    {
        NativeLog.BeginCapture();
        nint ggmlCtx = 0;
        nint ctx = GgufNative.gguf_init_from_file(path, new GgufInitParams { NoAlloc = !withData, Ctx = withData ? (nint)(&ggmlCtx) : 0 });
        error = NativeLog.EndCapture();
        if (ctx == 0)
        {
            if (error.Length == 0)
            {
                error = "gguf_init_from_file returned NULL";
            }

            return null;
        }

        try
        {
            return Snapshot(ctx, ggmlCtx);
        }
        finally
        {
            if (ggmlCtx != 0)
            {
                GgmlNative.ggml_free(ggmlCtx);
            }

            GgufNative.gguf_free(ctx);
        }
    }

    /// <summary>Builds a snapshot from an open gguf context (and, when given, the ggml context holding tensor data).</summary>
    public static GgufSnapshot Snapshot(nint ctx, nint ggmlCtx = 0)
    {
        long nKv = GgufNative.gguf_get_n_kv(ctx);
        var kvs = new List<KvSnapshot>((int)nKv);
        for (long i = 0; i < nKv; i++)
        {
            kvs.Add(ReadKv(ctx, i));
        }

        long nTensors = GgufNative.gguf_get_n_tensors(ctx);
        var tensors = new List<TensorSnapshot>((int)nTensors);
        for (long i = 0; i < nTensors; i++)
        {
            byte[] name = CString(GgufNative.gguf_get_tensor_name(ctx, i));
            long* ne = GgufNative.gguf_get_tensor_ne(ctx, i);
            byte[]? data = null;
            if (ggmlCtx != 0)
            {
                var t = GgmlNative.ggml_get_tensor(ggmlCtx, System.Text.Encoding.UTF8.GetString(name));
                if (t is not null)
                {
                    data = new ReadOnlySpan<byte>(GgmlNative.ggml_get_data(t), checked((int)GgmlNative.ggml_nbytes(t))).ToArray();
                }
            }

            tensors.Add(new TensorSnapshot(
                name,
                GgufNative.gguf_get_tensor_type(ctx, i),
                [ne[0], ne[1], ne[2], ne[3]],
                GgufNative.gguf_get_tensor_offset(ctx, i),
                GgufNative.gguf_get_tensor_size(ctx, i),
                data));
        }

        return new GgufSnapshot
        {
            Version = GgufNative.gguf_get_version(ctx),
            Alignment = GgufNative.gguf_get_alignment(ctx),
            DataOffset = GgufNative.gguf_get_data_offset(ctx),
            Metadata = kvs,
            Tensors = tensors,
        };
    }

    private static KvSnapshot ReadKv(nint ctx, long id)
    {
        byte[] key = CString(GgufNative.gguf_get_key(ctx, id));
        var type = GgufNative.gguf_get_kv_type(ctx, id);
        if (type == GgufNativeType.STRING)
        {
            return new KvSnapshot(key, type, null, 1, CString(GgufNative.gguf_get_val_str(ctx, id)), null);
        }

        if (type != GgufNativeType.ARRAY)
        {
            return new KvSnapshot(key, type, null, 1, ScalarBytes(ctx, id, type), null);
        }

        var elementType = GgufNative.gguf_get_arr_type(ctx, id);
        ulong n = GgufNative.gguf_get_arr_n(ctx, id);
        if (elementType == GgufNativeType.STRING)
        {
            var strings = new byte[checked((int)n)][];
            for (int j = 0; j < strings.Length; j++)
            {
                strings[j] = CString(GgufNative.gguf_get_arr_str(ctx, id, (nuint)j));
            }

            return new KvSnapshot(key, type, elementType, n, [], strings);
        }

        int size = checked((int)n * ScalarSize(elementType));
        void* data = GgufNative.gguf_get_arr_data(ctx, id);
        byte[] raw = size == 0 ? [] : new ReadOnlySpan<byte>(data, size).ToArray();
        return new KvSnapshot(key, type, elementType, n, raw, null);
    }

    /// <summary>The size of a scalar value type (gguf.h), or throws for STRING/ARRAY.</summary>
    public static int ScalarSize(GgufNativeType type) => type switch
    {
        GgufNativeType.UINT8 or GgufNativeType.INT8 or GgufNativeType.BOOL => 1,
        GgufNativeType.UINT16 or GgufNativeType.INT16 => 2,
        GgufNativeType.UINT32 or GgufNativeType.INT32 or GgufNativeType.FLOAT32 => 4,
        GgufNativeType.UINT64 or GgufNativeType.INT64 or GgufNativeType.FLOAT64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a scalar type"),
    };

    private static byte[] ScalarBytes(nint ctx, long id, GgufNativeType type)
    {
        // Each getter is the typed one for the stored type (the others abort).
        var b = new byte[ScalarSize(type)];
        switch (type)
        {
            case GgufNativeType.UINT8: b[0] = GgufNative.gguf_get_val_u8(ctx, id); break;
            case GgufNativeType.INT8: b[0] = (byte)GgufNative.gguf_get_val_i8(ctx, id); break;
            case GgufNativeType.BOOL: b[0] = *(byte*)GgufNative.gguf_get_val_data(ctx, id); break;
            case GgufNativeType.UINT16: BinaryPrimitives.WriteUInt16LittleEndian(b, GgufNative.gguf_get_val_u16(ctx, id)); break;
            case GgufNativeType.INT16: BinaryPrimitives.WriteInt16LittleEndian(b, GgufNative.gguf_get_val_i16(ctx, id)); break;
            case GgufNativeType.UINT32: BinaryPrimitives.WriteUInt32LittleEndian(b, GgufNative.gguf_get_val_u32(ctx, id)); break;
            case GgufNativeType.INT32: BinaryPrimitives.WriteInt32LittleEndian(b, GgufNative.gguf_get_val_i32(ctx, id)); break;
            case GgufNativeType.FLOAT32: BinaryPrimitives.WriteSingleLittleEndian(b, GgufNative.gguf_get_val_f32(ctx, id)); break;
            case GgufNativeType.UINT64: BinaryPrimitives.WriteUInt64LittleEndian(b, GgufNative.gguf_get_val_u64(ctx, id)); break;
            case GgufNativeType.INT64: BinaryPrimitives.WriteInt64LittleEndian(b, GgufNative.gguf_get_val_i64(ctx, id)); break;
            case GgufNativeType.FLOAT64: BinaryPrimitives.WriteDoubleLittleEndian(b, GgufNative.gguf_get_val_f64(ctx, id)); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }

        return b;
    }

    /// <summary>The bytes of a C string up to (not including) its NUL; empty for a null pointer.</summary>
    public static byte[] CString(byte* p) => p is null ? [] : MemoryMarshal.CreateReadOnlySpanFromNullTerminated(p).ToArray();
}
