using System.Buffers.Binary;
using System.Text;
using Gguf.Conformance.Support;
using Gguf.LlamaCpp;

namespace Gguf.Conformance.Native;

/// <summary>A tensor to write: name, ggml type, dimensions (1–4, ne0 first) and its raw bytes.</summary>
internal sealed record TensorSpec(string Name, int Type, long[] Dims, byte[] Data);

/// <summary>Writes GGUF files with llama.cpp's own writer (<c>gguf_init_empty</c>, <c>gguf_set_*</c>, <c>gguf_add_tensor</c>, <c>gguf_write_to_file</c>).</summary>
internal static unsafe class NativeGgufWriter
{
    /// <summary>
    /// Writes <paramref name="metadata"/> (in order) and <paramref name="tensors"/> to <paramref name="path"/>.
    /// Keys and values must be valid for llama.cpp's writer (it aborts otherwise): unique tensor names under
    /// 64 bytes, no NUL inside strings, general.alignment only as a u32 power of two.
    /// </summary>
    public static void Write(string path, IReadOnlyList<KvSnapshot> metadata, IReadOnlyList<TensorSpec> tensors)
    {
        nint ctx = CreateContext(path, metadata, out int skip);
        nint ggml = 0;
        try
        {
            foreach (var kv in metadata.Skip(skip))
            {
                Set(ctx, kv);
            }

            if (tensors.Count > 0)
            {
                ulong mem = 1024;
                foreach (var t in tensors)
                {
                    mem += (ulong)GgmlNative.ggml_tensor_overhead() + (ulong)t.Data.Length + 64;
                }

                ggml = GgmlNative.ggml_init(new GgmlInitParams { MemSize = (nuint)mem, MemBuffer = 0, NoAlloc = false });
                if (ggml == 0)
                {
                    throw new InvalidOperationException("ggml_init failed");
                }

                long* ne = stackalloc long[4];
                byte* emptyData = stackalloc byte[1];
                foreach (var t in tensors)
                {
                    for (int i = 0; i < t.Dims.Length; i++)
                    {
                        ne[i] = t.Dims[i];
                    }

                    var tensor = GgmlNative.ggml_new_tensor(ggml, t.Type, t.Dims.Length, ne);
                    ulong nbytes = GgmlNative.ggml_nbytes(tensor);
                    if (nbytes != (ulong)t.Data.Length)
                    {
                        throw new ArgumentException($"Tensor {t.Name}: {t.Data.Length} data bytes given, ggml_nbytes says {nbytes}.");
                    }

                    t.Data.CopyTo(new Span<byte>(GgmlNative.ggml_get_data(tensor), t.Data.Length));
                    GgmlNative.ggml_set_name(tensor, t.Name);
                    GgufNative.gguf_add_tensor(ctx, tensor);
                    if (nbytes == 0)
                    {
                        // ggml gives a zero-size tensor no data pointer, and the writer asserts one: any valid
                        // pointer will do (0 bytes are read from it), alive until the write below.
                        GgufNative.gguf_set_tensor_data(ctx, t.Name, emptyData);
                    }
                }
            }

            if (!GgufNative.gguf_write_to_file(ctx, path, onlyMeta: false))
            {
                throw new IOException($"gguf_write_to_file failed for {path}");
            }
        }
        finally
        {
            GgufNative.gguf_free(ctx);
            if (ggml != 0)
            {
                GgmlNative.ggml_free(ggml);
            }
        }
    }

    /// <summary>
    /// In this build <c>gguf_set_val_u32(ctx, "general.alignment", n)</c> stores the key but does not change the
    /// alignment the writer lays tensors out with (it stays 32), so the file would contradict its own key and
    /// llama.cpp's reader rejects it. The context's alignment is only taken from general.alignment when a file is
    /// read; so when the first entry is a non-default alignment, we start from a context read from a file that
    /// holds just that entry.
    /// </summary>
    private static nint CreateContext(string path, IReadOnlyList<KvSnapshot> metadata, out int consumed)
    {
        consumed = 0;
        if (metadata.Count > 0 && metadata[0].KeyText == "general.alignment" && metadata[0].Type == GgufNativeType.UINT32
            && BinaryPrimitives.ReadUInt32LittleEndian(metadata[0].Raw) != 32)
        {
            string seed = path + ".seed";
            File.WriteAllBytes(seed, new RawGgufBuilder().Kv(metadata[0]).Build());
            try
            {
                nint ctx = GgufNative.gguf_init_from_file(seed, new GgufInitParams { NoAlloc = true });
                if (ctx == 0)
                {
                    throw new InvalidOperationException("llama.cpp rejected the alignment seed file");
                }

                consumed = 1;
                return ctx;
            }
            finally
            {
                File.Delete(seed);
            }
        }

        return GgufNative.gguf_init_empty();
    }

    private static void Set(nint ctx, KvSnapshot kv)
    {
        string key = Encoding.UTF8.GetString(kv.Key);
        byte[] r = kv.Raw;
        switch (kv.Type)
        {
            case GgufNativeType.UINT8: GgufNative.gguf_set_val_u8(ctx, key, r[0]); break;
            case GgufNativeType.INT8: GgufNative.gguf_set_val_i8(ctx, key, (sbyte)r[0]); break;
            case GgufNativeType.BOOL: GgufNative.gguf_set_val_bool(ctx, key, r[0] != 0); break;
            case GgufNativeType.UINT16: GgufNative.gguf_set_val_u16(ctx, key, BinaryPrimitives.ReadUInt16LittleEndian(r)); break;
            case GgufNativeType.INT16: GgufNative.gguf_set_val_i16(ctx, key, BinaryPrimitives.ReadInt16LittleEndian(r)); break;
            case GgufNativeType.UINT32: GgufNative.gguf_set_val_u32(ctx, key, BinaryPrimitives.ReadUInt32LittleEndian(r)); break;
            case GgufNativeType.INT32: GgufNative.gguf_set_val_i32(ctx, key, BinaryPrimitives.ReadInt32LittleEndian(r)); break;
            case GgufNativeType.FLOAT32: GgufNative.gguf_set_val_f32(ctx, key, BinaryPrimitives.ReadSingleLittleEndian(r)); break;
            case GgufNativeType.UINT64: GgufNative.gguf_set_val_u64(ctx, key, BinaryPrimitives.ReadUInt64LittleEndian(r)); break;
            case GgufNativeType.INT64: GgufNative.gguf_set_val_i64(ctx, key, BinaryPrimitives.ReadInt64LittleEndian(r)); break;
            case GgufNativeType.FLOAT64: GgufNative.gguf_set_val_f64(ctx, key, BinaryPrimitives.ReadDoubleLittleEndian(r)); break;
            case GgufNativeType.STRING:
                fixed (byte* p = Terminated(r))
                {
                    GgufNative.gguf_set_val_str(ctx, key, p);
                }

                break;
            case GgufNativeType.ARRAY when kv.ElementType == GgufNativeType.STRING:
                SetStringArray(ctx, key, kv.Strings ?? []);
                break;
            case GgufNativeType.ARRAY:
                fixed (byte* p = r)
                {
                    GgufNative.gguf_set_arr_data(ctx, key, kv.ElementType!.Value, p, (nuint)kv.Count);
                }

                break;
            default:
                throw new ArgumentException($"Unsupported type {kv.Type}", nameof(kv));
        }
    }

    private static void SetStringArray(nint ctx, string key, byte[][] strings)
    {
        // One buffer of NUL-terminated strings plus an array of pointers into it.
        byte[] all = new byte[strings.Sum(s => s.Length + 1)];
        var offsets = new int[strings.Length];
        int at = 0;
        for (int i = 0; i < strings.Length; i++)
        {
            offsets[i] = at;
            strings[i].CopyTo(all, at);
            at += strings[i].Length + 1;
        }

        var pointers = new nint[Math.Max(1, strings.Length)];
        fixed (byte* b = all)
        fixed (nint* ptrs = pointers)
        {
            for (int i = 0; i < strings.Length; i++)
            {
                ptrs[i] = (nint)(b + offsets[i]);
            }

            GgufNative.gguf_set_arr_str(ctx, key, (byte**)ptrs, (nuint)strings.Length);
        }
    }

    private static byte[] Terminated(byte[] s)
    {
        var t = new byte[s.Length + 1];
        s.CopyTo(t, 0);
        return t;
    }
}
