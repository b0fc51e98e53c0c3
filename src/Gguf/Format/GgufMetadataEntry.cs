using System.Buffers.Binary;
using System.Text;
using Gguf.IO;

namespace Gguf.Format;

/// <summary>
/// One metadata key and its value. Scalars are decoded while parsing; strings and arrays are decoded
/// only when asked for. Typed getters check the stored type and throw
/// <see cref="GgufFormatException"/> with <see cref="GgufErrorCode.TypeMismatch"/> when it differs.
/// </summary>
public sealed class GgufMetadataEntry
{
    private readonly GgufByteSource _source;
    private readonly ulong _scalarBits;
    private readonly GgufArray? _array;
    private string? _string;

    internal GgufMetadataEntry(GgufByteSource source, string key, GgufValueType type, long offset, long valueOffset, int valueLength, ulong scalarBits, GgufArray? array)
    {
        _source = source;
        Key = key;
        Type = type;
        Offset = offset;
        ValueOffset = valueOffset;
        ValueLength = valueLength;
        _scalarBits = scalarBits;
        _array = array;
    }

    /// <summary>The key.</summary>
    public string Key { get; }

    /// <summary>The stored value type.</summary>
    public GgufValueType Type { get; }

    /// <summary>The element type when the value is an array.</summary>
    public GgufValueType? ElementType => _array?.ElementType;

    /// <summary>The element count when the value is an array, else 1.</summary>
    public long Count => _array?.Count ?? 1;

    /// <summary>The absolute offset of the entry (its key's length field).</summary>
    public long Offset { get; }

    /// <summary>The absolute offset of the value (for an array: of its element type field).</summary>
    public long ValueOffset { get; }

    /// <summary>The encoded length of the value in bytes.</summary>
    public int ValueLength { get; }

    /// <summary>The value as a UINT8.</summary>
    public byte GetUInt8() => (byte)Scalar(GgufValueType.UInt8);

    /// <summary>The value as an INT8.</summary>
    public sbyte GetInt8() => (sbyte)Scalar(GgufValueType.Int8);

    /// <summary>The value as a UINT16.</summary>
    public ushort GetUInt16() => (ushort)Scalar(GgufValueType.UInt16);

    /// <summary>The value as an INT16.</summary>
    public short GetInt16() => (short)Scalar(GgufValueType.Int16);

    /// <summary>The value as a UINT32.</summary>
    public uint GetUInt32() => (uint)Scalar(GgufValueType.UInt32);

    /// <summary>The value as an INT32.</summary>
    public int GetInt32() => (int)Scalar(GgufValueType.Int32);

    /// <summary>The value as a FLOAT32.</summary>
    public float GetFloat32() => BitConverter.Int32BitsToSingle((int)Scalar(GgufValueType.Float32));

    /// <summary>The value as a BOOL.</summary>
    public bool GetBool() => Scalar(GgufValueType.Bool) != 0;

    /// <summary>The value as a UINT64.</summary>
    public ulong GetUInt64() => Scalar(GgufValueType.UInt64);

    /// <summary>The value as an INT64.</summary>
    public long GetInt64() => (long)Scalar(GgufValueType.Int64);

    /// <summary>The value as a FLOAT64.</summary>
    public double GetFloat64() => BitConverter.Int64BitsToDouble((long)Scalar(GgufValueType.Float64));

    /// <summary>
    /// Any integer type widened to <see cref="long"/>; a UINT64 above <see cref="long.MaxValue"/> is a mismatch.
    /// Useful for keys that writers store with different integer widths.
    /// </summary>
    public long GetInteger() => TryGetInteger(out long value) ? value : throw Mismatch("an integer");

    /// <summary>Any integer type widened to <see cref="long"/>; false for other types and for a UINT64 above <see cref="long.MaxValue"/>.</summary>
    public bool TryGetInteger(out long value)
    {
        switch (Type)
        {
            case GgufValueType.UInt8: value = (byte)_scalarBits; return true;
            case GgufValueType.Int8: value = (sbyte)_scalarBits; return true;
            case GgufValueType.UInt16: value = (ushort)_scalarBits; return true;
            case GgufValueType.Int16: value = (short)_scalarBits; return true;
            case GgufValueType.UInt32: value = (uint)_scalarBits; return true;
            case GgufValueType.Int32: value = (int)_scalarBits; return true;
            case GgufValueType.Int64: value = (long)_scalarBits; return true;
            case GgufValueType.UInt64 when _scalarBits <= long.MaxValue: value = (long)_scalarBits; return true;
            default: value = 0; return false;
        }
    }

    /// <summary>The value as a STRING, decoded as UTF-8 (invalid sequences become U+FFFD).</summary>
    public string GetString()
    {
        Expect(GgufValueType.String);
        return _string ??= _source.Read(ValueOffset + 8, ValueLength - 8, 0, static (span, _) => Encoding.UTF8.GetString(span));
    }

    /// <summary>The raw bytes of a STRING value.</summary>
    public byte[] GetStringBytes()
    {
        Expect(GgufValueType.String);
        return _source.Read(ValueOffset + 8, ValueLength - 8, 0, static (span, _) => span.ToArray());
    }

    /// <summary>The value as an ARRAY.</summary>
    public GgufArray GetArray()
    {
        Expect(GgufValueType.Array);
        return _array!;
    }

    /// <summary>Materializes the value (for copying metadata into a writer).</summary>
    public GgufValue ToValue() => Type switch
    {
        GgufValueType.String => GgufValue.FromUtf8(GetStringBytes()),
        GgufValueType.Array => _array!.ToValue(),
        _ => GgufValue.FromScalarBits(Type, _scalarBits),
    };

    /// <summary>The raw encoded scalar bits (zero-extended) for scalar types.</summary>
    internal ulong ScalarBits => _scalarBits;

    /// <inheritdoc />
    public override string ToString() => $"{Key}: {GgufValueTypes.Name(Type)}";

    private ulong Scalar(GgufValueType expected)
    {
        Expect(expected);
        return _scalarBits;
    }

    private void Expect(GgufValueType expected)
    {
        if (Type != expected)
        {
            throw Mismatch(GgufValueTypes.Name(expected));
        }
    }

    private GgufFormatException Mismatch(string expected) => new(
        GgufErrorCode.TypeMismatch,
        ValueOffset,
        $"value is {GgufValueTypes.Name(Type)}{(_array is null ? "" : " of " + GgufValueTypes.Name(_array.ElementType))}, not {expected}",
        "value",
        Key);

    internal static ulong DecodeScalar(GgufValueType type, ReadOnlySpan<byte> span) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => span[0],
        GgufValueType.UInt16 or GgufValueType.Int16 => BinaryPrimitives.ReadUInt16LittleEndian(span),
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => BinaryPrimitives.ReadUInt32LittleEndian(span),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(span),
    };
}
