using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Gguf.Conformance.Native;
using Gguf.Format;
using Gguf.LlamaCpp;
using Gguf.Model;
using Gguf.Writing;

namespace Gguf.Conformance.Support;

/// <summary>Our library on the two sides of the comparison: <see cref="GgufFile"/> as reader, <see cref="GgufWriter"/> as writer.</summary>
internal static class OurGguf
{
    /// <summary>
    /// The options the comparison uses: the defaults with llama.cpp's ban on nested arrays, the one spec
    /// feature our default reader accepts and llama.cpp does not (docs/conformance.md, L1).
    /// </summary>
    public static GgufReaderOptions Options => GgufReaderOptions.LlamaCppCompatible;

    /// <summary>Opens <paramref name="path"/> with <see cref="GgufFile.Open(string, GgufReaderOptions?, Microsoft.Extensions.Logging.ILogger?)"/> and reports what it read.</summary>
    public static GgufSnapshot Read(string path, bool withData)
    {
        using var file = GgufFile.Open(path, Options);
        return Snapshot(file, withData);
    }

    public static GgufSnapshot Snapshot(GgufFile file, bool withData)
    {
        var kvs = new List<KvSnapshot>(file.Metadata.Count);
        foreach (var entry in file.Metadata)
        {
            kvs.Add(ToKv(entry));
        }

        var tensors = new List<TensorSnapshot>(file.Tensors.Count);
        foreach (var t in file.Tensors)
        {
            long[] ne = [1, 1, 1, 1];
            for (int i = 0; i < t.Dimensions.Count; i++)
            {
                ne[i] = t.Dimensions[i];
            }

            byte[]? data = null;
            if (withData)
            {
                using var view = file.GetTensorData(t);
                data = view.Bytes.ToArray();
            }

            tensors.Add(new TensorSnapshot(System.Text.Encoding.UTF8.GetBytes(t.Name), (int)t.Type, ne, (ulong)t.Offset, (ulong)t.ByteSize, data));
        }

        return new GgufSnapshot
        {
            Version = file.Version,
            Alignment = file.Alignment,
            DataOffset = (ulong)file.DataOffset,
            Metadata = kvs,
            Tensors = tensors,
        };
    }

    private static KvSnapshot ToKv(GgufMetadataEntry e)
    {
        byte[] key = System.Text.Encoding.UTF8.GetBytes(e.Key);
        var type = (GgufNativeType)e.Type;
        switch (e.Type)
        {
            case GgufValueType.String:
                return new KvSnapshot(key, type, null, 1, e.GetStringBytes(), null);
            case GgufValueType.Array:
                var array = e.GetArray();
                var elementType = (GgufNativeType)array.ElementType;
                if (array.ElementType == GgufValueType.String)
                {
                    var strings = new byte[array.Count][];
                    for (long i = 0; i < array.Count; i++)
                    {
                        strings[i] = array.GetStringBytes(i);
                    }

                    return new KvSnapshot(key, type, elementType, (ulong)array.Count, [], strings);
                }

                if (array.ElementType == GgufValueType.Array)
                {
                    // Nested arrays: llama.cpp has no representation for them; report the outer count only.
                    return new KvSnapshot(key, type, elementType, (ulong)array.Count, [], null);
                }

                return new KvSnapshot(key, type, elementType, (ulong)array.Count, ArrayBytes(array), null);
            default:
                return new KvSnapshot(key, type, null, 1, ScalarBytes(e), null);
        }
    }

    private static byte[] ArrayBytes(GgufArray a) => a.ElementType switch
    {
        GgufValueType.UInt8 => a.ToArray<byte>(),
        GgufValueType.Int8 => MemoryMarshal.AsBytes(a.ToArray<sbyte>().AsSpan()).ToArray(),
        GgufValueType.UInt16 => MemoryMarshal.AsBytes(a.ToArray<ushort>().AsSpan()).ToArray(),
        GgufValueType.Int16 => MemoryMarshal.AsBytes(a.ToArray<short>().AsSpan()).ToArray(),
        GgufValueType.UInt32 => MemoryMarshal.AsBytes(a.ToArray<uint>().AsSpan()).ToArray(),
        GgufValueType.Int32 => MemoryMarshal.AsBytes(a.ToArray<int>().AsSpan()).ToArray(),
        GgufValueType.Float32 => MemoryMarshal.AsBytes(a.ToArray<float>().AsSpan()).ToArray(),
        GgufValueType.UInt64 => MemoryMarshal.AsBytes(a.ToArray<ulong>().AsSpan()).ToArray(),
        GgufValueType.Int64 => MemoryMarshal.AsBytes(a.ToArray<long>().AsSpan()).ToArray(),
        GgufValueType.Float64 => MemoryMarshal.AsBytes(a.ToArray<double>().AsSpan()).ToArray(),
        GgufValueType.Bool => Enumerable.Range(0, checked((int)a.Count)).Select(i => (byte)a.GetScalarBits(i)).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(a), a.ElementType, null),
    };

    private static byte[] ScalarBytes(GgufMetadataEntry e)
    {
        var b = new byte[NativeGgufReader.ScalarSize((GgufNativeType)e.Type)];
        switch (e.Type)
        {
            case GgufValueType.UInt8: b[0] = e.GetUInt8(); break;
            case GgufValueType.Int8: b[0] = (byte)e.GetInt8(); break;
            case GgufValueType.Bool: b[0] = e.GetBool() ? (byte)1 : (byte)0; break;
            case GgufValueType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(b, e.GetUInt16()); break;
            case GgufValueType.Int16: BinaryPrimitives.WriteInt16LittleEndian(b, e.GetInt16()); break;
            case GgufValueType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(b, e.GetUInt32()); break;
            case GgufValueType.Int32: BinaryPrimitives.WriteInt32LittleEndian(b, e.GetInt32()); break;
            case GgufValueType.Float32: BinaryPrimitives.WriteSingleLittleEndian(b, e.GetFloat32()); break;
            case GgufValueType.UInt64: BinaryPrimitives.WriteUInt64LittleEndian(b, e.GetUInt64()); break;
            case GgufValueType.Int64: BinaryPrimitives.WriteInt64LittleEndian(b, e.GetInt64()); break;
            case GgufValueType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(b, e.GetFloat64()); break;
            default: throw new ArgumentOutOfRangeException(nameof(e), e.Type, null);
        }

        return b;
    }

    /// <summary>Writes the same description <see cref="NativeGgufWriter.Write"/> takes, with <see cref="GgufWriter"/>.</summary>
    public static void Write(string path, IReadOnlyList<KvSnapshot> metadata, IReadOnlyList<TensorSpec> tensors)
    {
        var writer = new GgufWriter();
        foreach (var kv in metadata)
        {
            writer.AddMetadata(kv.KeyText, ToValue(kv));
        }

        foreach (var t in tensors)
        {
            writer.AddTensor(t.Name, (GgmlType)t.Type, t.Dims, t.Data);
        }

        writer.WriteTo(path);
    }

    public static GgufValue ToValue(KvSnapshot kv)
    {
        byte[] r = kv.Raw;
        return kv.Type switch
        {
            GgufNativeType.UINT8 => GgufValue.UInt8(r[0]),
            GgufNativeType.INT8 => GgufValue.Int8((sbyte)r[0]),
            GgufNativeType.BOOL => GgufValue.Bool(r[0] != 0),
            GgufNativeType.UINT16 => GgufValue.UInt16(BinaryPrimitives.ReadUInt16LittleEndian(r)),
            GgufNativeType.INT16 => GgufValue.Int16(BinaryPrimitives.ReadInt16LittleEndian(r)),
            GgufNativeType.UINT32 => GgufValue.UInt32(BinaryPrimitives.ReadUInt32LittleEndian(r)),
            GgufNativeType.INT32 => GgufValue.Int32(BinaryPrimitives.ReadInt32LittleEndian(r)),
            GgufNativeType.FLOAT32 => GgufValue.Float32(BinaryPrimitives.ReadSingleLittleEndian(r)),
            GgufNativeType.UINT64 => GgufValue.UInt64(BinaryPrimitives.ReadUInt64LittleEndian(r)),
            GgufNativeType.INT64 => GgufValue.Int64(BinaryPrimitives.ReadInt64LittleEndian(r)),
            GgufNativeType.FLOAT64 => GgufValue.Float64(BinaryPrimitives.ReadDoubleLittleEndian(r)),
            GgufNativeType.STRING => GgufValue.FromUtf8(r),
            GgufNativeType.ARRAY => kv.ElementType switch
            {
                GgufNativeType.STRING => GgufValue.FromUtf8Array(kv.Strings ?? []),
                GgufNativeType.UINT8 => GgufValue.FromArray(r.ToArray()),
                GgufNativeType.INT8 => GgufValue.FromArray(MemoryMarshal.Cast<byte, sbyte>(r).ToArray()),
                GgufNativeType.BOOL => GgufValue.FromArray(r.Select(b => b != 0).ToArray()),
                GgufNativeType.UINT16 => GgufValue.FromArray(MemoryMarshal.Cast<byte, ushort>(r).ToArray()),
                GgufNativeType.INT16 => GgufValue.FromArray(MemoryMarshal.Cast<byte, short>(r).ToArray()),
                GgufNativeType.UINT32 => GgufValue.FromArray(MemoryMarshal.Cast<byte, uint>(r).ToArray()),
                GgufNativeType.INT32 => GgufValue.FromArray(MemoryMarshal.Cast<byte, int>(r).ToArray()),
                GgufNativeType.FLOAT32 => GgufValue.FromArray(MemoryMarshal.Cast<byte, float>(r).ToArray()),
                GgufNativeType.UINT64 => GgufValue.FromArray(MemoryMarshal.Cast<byte, ulong>(r).ToArray()),
                GgufNativeType.INT64 => GgufValue.FromArray(MemoryMarshal.Cast<byte, long>(r).ToArray()),
                GgufNativeType.FLOAT64 => GgufValue.FromArray(MemoryMarshal.Cast<byte, double>(r).ToArray()),
                _ => throw new ArgumentException($"unsupported element type {kv.ElementType}", nameof(kv)),
            },
            _ => throw new ArgumentException($"unsupported type {kv.Type}", nameof(kv)),
        };
    }
}
