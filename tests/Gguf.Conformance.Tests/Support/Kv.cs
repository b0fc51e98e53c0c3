using System.Buffers.Binary;
using System.Text;
using Gguf.Conformance.Native;
using Gguf.LlamaCpp;

namespace Gguf.Conformance.Support;

/// <summary>Shorthands that build <see cref="KvSnapshot"/> values (the suite's neutral metadata description).</summary>
internal static class Kv
{
    public static KvSnapshot U8(string key, byte v) => Scalar(key, GgufNativeType.UINT8, [v]);

    public static KvSnapshot I8(string key, sbyte v) => Scalar(key, GgufNativeType.INT8, [(byte)v]);

    public static KvSnapshot Bool(string key, bool v) => Scalar(key, GgufNativeType.BOOL, [v ? (byte)1 : (byte)0]);

    public static KvSnapshot U16(string key, ushort v) => Scalar(key, GgufNativeType.UINT16, Le(b => BinaryPrimitives.WriteUInt16LittleEndian(b, v), 2));

    public static KvSnapshot I16(string key, short v) => Scalar(key, GgufNativeType.INT16, Le(b => BinaryPrimitives.WriteInt16LittleEndian(b, v), 2));

    public static KvSnapshot U32(string key, uint v) => Scalar(key, GgufNativeType.UINT32, Le(b => BinaryPrimitives.WriteUInt32LittleEndian(b, v), 4));

    public static KvSnapshot I32(string key, int v) => Scalar(key, GgufNativeType.INT32, Le(b => BinaryPrimitives.WriteInt32LittleEndian(b, v), 4));

    public static KvSnapshot F32(string key, float v) => Scalar(key, GgufNativeType.FLOAT32, Le(b => BinaryPrimitives.WriteSingleLittleEndian(b, v), 4));

    public static KvSnapshot U64(string key, ulong v) => Scalar(key, GgufNativeType.UINT64, Le(b => BinaryPrimitives.WriteUInt64LittleEndian(b, v), 8));

    public static KvSnapshot I64(string key, long v) => Scalar(key, GgufNativeType.INT64, Le(b => BinaryPrimitives.WriteInt64LittleEndian(b, v), 8));

    public static KvSnapshot F64(string key, double v) => Scalar(key, GgufNativeType.FLOAT64, Le(b => BinaryPrimitives.WriteDoubleLittleEndian(b, v), 8));

    public static KvSnapshot Str(string key, string v) => Scalar(key, GgufNativeType.STRING, Encoding.UTF8.GetBytes(v));

    /// <summary>An array of scalars given as packed little-endian bytes.</summary>
    public static KvSnapshot Array(string key, GgufNativeType elementType, byte[] packed) =>
        new(Encoding.UTF8.GetBytes(key), GgufNativeType.ARRAY, elementType, (ulong)(packed.Length / NativeGgufReader.ScalarSize(elementType)), packed, null);

    public static KvSnapshot Strings(string key, IEnumerable<string> values)
    {
        byte[][] items = values.Select(Encoding.UTF8.GetBytes).ToArray();
        return new(Encoding.UTF8.GetBytes(key), GgufNativeType.ARRAY, GgufNativeType.STRING, (ulong)items.Length, [], items);
    }

    public static KvSnapshot F32s(string key, IEnumerable<float> values) =>
        Array(key, GgufNativeType.FLOAT32, values.SelectMany(v => Le(b => BinaryPrimitives.WriteSingleLittleEndian(b, v), 4)).ToArray());

    public static KvSnapshot I32s(string key, IEnumerable<int> values) =>
        Array(key, GgufNativeType.INT32, values.SelectMany(v => Le(b => BinaryPrimitives.WriteInt32LittleEndian(b, v), 4)).ToArray());

    private static KvSnapshot Scalar(string key, GgufNativeType type, byte[] raw) => new(Encoding.UTF8.GetBytes(key), type, null, 1, raw, null);

    private static byte[] Le(Action<byte[]> write, int size)
    {
        var b = new byte[size];
        write(b);
        return b;
    }
}
