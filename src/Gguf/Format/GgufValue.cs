using System.Text;

namespace Gguf.Format;

/// <summary>
/// A metadata value held in memory, for writing: a scalar, a string, or an array of scalars, strings or
/// arrays. Arrays of scalars keep their elements in a typed .NET array.
/// </summary>
public sealed class GgufValue
{
    private readonly ulong _bits;
    private readonly byte[]? _utf8;
    private readonly Array? _elements;

    private GgufValue(GgufValueType type, ulong bits, byte[]? utf8, GgufValueType elementType, Array? elements)
    {
        Type = type;
        _bits = bits;
        _utf8 = utf8;
        ElementType = elementType;
        _elements = elements;
    }

    /// <summary>The value type.</summary>
    public GgufValueType Type { get; }

    /// <summary>The element type of an array.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>The element count of an array, else 1.</summary>
    public long Count => _elements?.LongLength ?? 1;

    internal ulong Bits => _bits;

    internal byte[]? Utf8 => _utf8;

    internal Array? Elements => _elements;

#pragma warning disable CS1591 // The factories are self-describing.
    public static GgufValue UInt8(byte value) => Scalar(GgufValueType.UInt8, value);
    public static GgufValue Int8(sbyte value) => Scalar(GgufValueType.Int8, (byte)value);
    public static GgufValue UInt16(ushort value) => Scalar(GgufValueType.UInt16, value);
    public static GgufValue Int16(short value) => Scalar(GgufValueType.Int16, (ushort)value);
    public static GgufValue UInt32(uint value) => Scalar(GgufValueType.UInt32, value);
    public static GgufValue Int32(int value) => Scalar(GgufValueType.Int32, (uint)value);
    public static GgufValue Float32(float value) => Scalar(GgufValueType.Float32, (uint)BitConverter.SingleToInt32Bits(value));
    public static GgufValue Bool(bool value) => Scalar(GgufValueType.Bool, value ? 1u : 0u);
    public static GgufValue UInt64(ulong value) => Scalar(GgufValueType.UInt64, value);
    public static GgufValue Int64(long value) => Scalar(GgufValueType.Int64, (ulong)value);
    public static GgufValue Float64(double value) => Scalar(GgufValueType.Float64, (ulong)BitConverter.DoubleToInt64Bits(value));
    public static GgufValue String(string value) => new(GgufValueType.String, 0, Encoding.UTF8.GetBytes(value), default, null);
#pragma warning restore CS1591

    /// <summary>A string from raw bytes (which need not be valid UTF-8).</summary>
    public static GgufValue FromUtf8(byte[] utf8) => new(GgufValueType.String, 0, utf8 ?? throw new ArgumentNullException(nameof(utf8)), default, null);

    /// <summary>An array of scalars; the element type follows <typeparamref name="T"/>.</summary>
    public static GgufValue FromArray<T>(T[] values) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(values);
        // Exact element types: the runtime lets an int[] pass as a uint[] (array covariance of same-size primitives).
        Type t = typeof(T);
        GgufValueType elementType =
            t == typeof(byte) ? GgufValueType.UInt8 :
            t == typeof(sbyte) ? GgufValueType.Int8 :
            t == typeof(ushort) ? GgufValueType.UInt16 :
            t == typeof(short) ? GgufValueType.Int16 :
            t == typeof(uint) ? GgufValueType.UInt32 :
            t == typeof(int) ? GgufValueType.Int32 :
            t == typeof(float) ? GgufValueType.Float32 :
            t == typeof(bool) ? GgufValueType.Bool :
            t == typeof(ulong) ? GgufValueType.UInt64 :
            t == typeof(long) ? GgufValueType.Int64 :
            t == typeof(double) ? GgufValueType.Float64 :
            throw new ArgumentException($"{t} is not a GGUF scalar type", nameof(values));
        return new GgufValue(GgufValueType.Array, 0, null, elementType, values);
    }

    /// <summary>An array of strings.</summary>
    public static GgufValue FromStrings(IEnumerable<string> values) =>
        FromUtf8Array(values.Select(Encoding.UTF8.GetBytes).ToArray());

    /// <summary>An array of strings given as raw bytes.</summary>
    public static GgufValue FromUtf8Array(byte[][] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new GgufValue(GgufValueType.Array, 0, null, GgufValueType.String, values);
    }

    /// <summary>An array of arrays (the spec allows nesting; llama.cpp rejects it).</summary>
    public static GgufValue FromArrays(params GgufValue[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Any(v => v.Type != GgufValueType.Array))
        {
            throw new ArgumentException("every element of a nested array must be an array", nameof(values));
        }

        return new GgufValue(GgufValueType.Array, 0, null, GgufValueType.Array, values);
    }

    internal static GgufValue FromScalarBits(GgufValueType type, ulong bits) => Scalar(type, bits);

    private static GgufValue Scalar(GgufValueType type, ulong bits) => new(type, bits, null, default, null);
}
