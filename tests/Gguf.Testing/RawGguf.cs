using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Testing;

/// <summary>A field of a raw file: what it is, where it starts and how many bytes it has.</summary>
/// <param name="Kind">What the field holds.</param>
/// <param name="Offset">The byte offset of its first byte.</param>
/// <param name="Size">Its length in bytes.</param>
public readonly record struct GgufField(GgufFieldKind Kind, int Offset, int Size);

/// <summary>The kinds of field <see cref="RawGguf"/> records (the ones a mutation can rewrite).</summary>
public enum GgufFieldKind
{
    /// <summary>The header's version.</summary>
    Version,

    /// <summary>The header's tensor count.</summary>
    TensorCount,

    /// <summary>The header's key/value count.</summary>
    KvCount,

    /// <summary>A key's length field.</summary>
    KeyLength,

    /// <summary>A key's bytes.</summary>
    KeyBytes,

    /// <summary>A value's type id.</summary>
    ValueType,

    /// <summary>A scalar value other than a bool or general.alignment.</summary>
    ScalarValue,

    /// <summary>A bool value (also each element of a bool array).</summary>
    BoolValue,

    /// <summary>A string's length field (also each element's of a string array).</summary>
    StringLength,

    /// <summary>An array's element type id.</summary>
    ArrayElementType,

    /// <summary>An array's element count.</summary>
    ArrayCount,

    /// <summary>The value of general.alignment.</summary>
    AlignmentValue,

    /// <summary>A tensor name's length field.</summary>
    TensorNameLength,

    /// <summary>A tensor name's bytes.</summary>
    TensorNameBytes,

    /// <summary>A tensor's dimension count.</summary>
    DimensionCount,

    /// <summary>One of a tensor's dimensions.</summary>
    Dimension,

    /// <summary>A tensor's ggml type id.</summary>
    TensorType,

    /// <summary>A tensor's data offset.</summary>
    TensorOffset,

    /// <summary>Padding before the data section.</summary>
    Padding,

    /// <summary>A tensor's data.</summary>
    TensorData,
}

/// <summary>
/// Writes GGUF bytes field by field and validates nothing: counts may lie, types may be wrong, lengths
/// may point past the end. <see cref="Writing.GgufWriter"/> refuses to write such files; hostile-input
/// tests need them. Helpers record the offset of every field they write as a named mark, so a test can
/// assert the offset an error reports (<c>raw["n_kv"]</c>, <c>raw["kv:general.alignment.value"]</c>), and as a
/// typed <see cref="GgufField"/> in <see cref="Fields"/>, so a mutation can pick a field to rewrite.
/// <see cref="RawGgufBuilder"/> lays out whole files (counts, offsets, data) on top of this writer.
/// </summary>
public sealed class RawGguf
{
    private readonly ArrayBufferWriter<byte> _out = new(256);
    private readonly Dictionary<string, long> _marks = new(StringComparer.Ordinal);
    private readonly List<GgufField> _fields = [];

    /// <summary>The typed fields written so far, in file order.</summary>
    public IReadOnlyList<GgufField> Fields => _fields;

    /// <summary>The number of bytes written so far, i.e. the offset of the next field.</summary>
    public long Position => _out.WrittenCount;

    /// <summary>The offset recorded under <paramref name="mark"/>.</summary>
    public long this[string mark] => _marks.TryGetValue(mark, out long offset) ? offset : throw new KeyNotFoundException($"no mark '{mark}'; marks: {string.Join(", ", _marks.Keys)}");

    /// <summary>Records the current position under <paramref name="name"/>.</summary>
    public RawGguf Mark(string name)
    {
        _marks[name] = Position;
        return this;
    }

    /// <summary>The bytes written so far.</summary>
    public byte[] ToArray() => _out.WrittenSpan.ToArray();

    /// <summary>Records a field of <paramref name="size"/> bytes starting at the current position.</summary>
    public RawGguf Field(GgufFieldKind kind, int size)
    {
        _fields.Add(new GgufField(kind, checked((int)Position), size));
        return this;
    }

    // ---- primitives ----

    /// <summary>Raw bytes.</summary>
    public RawGguf Bytes(ReadOnlySpan<byte> bytes)
    {
        _out.Write(bytes);
        return this;
    }

    /// <summary>One byte.</summary>
    public RawGguf U8(byte value) => Bytes([value]);

    /// <summary>A little-endian uint16.</summary>
    public RawGguf U16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_out.GetSpan(2), value);
        _out.Advance(2);
        return this;
    }

    /// <summary>A little-endian uint32.</summary>
    public RawGguf U32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_out.GetSpan(4), value);
        _out.Advance(4);
        return this;
    }

    /// <summary>A little-endian int32.</summary>
    public RawGguf I32(int value) => U32((uint)value);

    /// <summary>A little-endian uint64.</summary>
    public RawGguf U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_out.GetSpan(8), value);
        _out.Advance(8);
        return this;
    }

    /// <summary>A little-endian int64.</summary>
    public RawGguf I64(long value) => U64((ulong)value);

    /// <summary>A little-endian float32.</summary>
    public RawGguf F32(float value) => U32((uint)BitConverter.SingleToInt32Bits(value));

    /// <summary><paramref name="count"/> zero bytes.</summary>
    public RawGguf Zeros(long count)
    {
        while (count > 0)
        {
            int n = (int)Math.Min(count, 1 << 16);
            _out.GetSpan(n)[..n].Clear();
            _out.Advance(n);
            count -= n;
        }

        return this;
    }

    /// <summary>Zero bytes up to the next multiple of <paramref name="alignment"/>.</summary>
    public RawGguf PadTo(long alignment) => Zeros(Rounding.Up(Position, alignment) - Position);

    /// <summary>A GGUF string: its true length, then its UTF-8 bytes.</summary>
    public RawGguf Str(string value) => Str(Encoding.UTF8.GetBytes(value));

    /// <summary>A GGUF string from raw bytes (need not be UTF-8).</summary>
    public RawGguf Str(ReadOnlySpan<byte> value) => U64((ulong)value.Length).Bytes(value);

    /// <summary>A string whose length field says <paramref name="declaredLength"/>, followed by whatever bytes are given.</summary>
    public RawGguf LyingStr(ulong declaredLength, ReadOnlySpan<byte> bytes = default) => U64(declaredLength).Bytes(bytes);

    // ---- structure ----

    /// <summary>Magic, version and the two counts, marked <c>magic</c>, <c>version</c>, <c>n_tensors</c>, <c>n_kv</c>.</summary>
    public RawGguf Header(ulong tensorCount, ulong kvCount, uint version = 3, string magic = "GGUF") =>
        Mark("magic").Bytes(Encoding.ASCII.GetBytes(magic))
        .Mark("version").Field(GgufFieldKind.Version, 4).U32(version)
        .Mark("n_tensors").Field(GgufFieldKind.TensorCount, 8).U64(tensorCount)
        .Mark("n_kv").Field(GgufFieldKind.KvCount, 8).U64(kvCount);

    /// <summary>
    /// The start of a KV: the key and the type id. Marks <c>kv:KEY</c> (the key's length field),
    /// <c>kv:KEY.type</c> and <c>kv:KEY.value</c>.
    /// </summary>
    public RawGguf Key(string key, int typeId) => Key(Encoding.UTF8.GetBytes(key), key, typeId);

    /// <summary>A KV start with a raw key; <paramref name="markName"/> names its marks.</summary>
    public RawGguf Key(ReadOnlySpan<byte> key, string markName, int typeId) =>
        Mark($"kv:{markName}").Field(GgufFieldKind.KeyLength, 8).U64((ulong)key.Length)
        .Field(GgufFieldKind.KeyBytes, key.Length).Bytes(key)
        .Mark($"kv:{markName}.type").Field(GgufFieldKind.ValueType, 4).I32(typeId)
        .Mark($"kv:{markName}.value");

    /// <summary>The start of a KV with a value type from the enum.</summary>
    public RawGguf Key(string key, GgufValueType type) => Key(key, (int)type);

    /// <summary>
    /// A whole KV: the key, the type id, then <paramref name="encodedValue"/> as it stands in a file (a string
    /// with its length, an array with its element type and count). The value's fields are recorded from
    /// what the bytes say, however wrong.
    /// </summary>
    public RawGguf Kv(ReadOnlySpan<byte> key, string markName, int typeId, ReadOnlySpan<byte> encodedValue)
    {
        Key(key, markName, typeId);
        RecordValueFields(key, typeId, encodedValue);
        return Bytes(encodedValue);
    }

    /// <summary>A whole KV with a UTF-8 key (see the other overload).</summary>
    public RawGguf Kv(string key, int typeId, ReadOnlySpan<byte> encodedValue) => Kv(Encoding.UTF8.GetBytes(key), key, typeId, encodedValue);

    /// <summary>A UINT8 KV.</summary>
    public RawGguf KvU8(string key, byte value) => Kv(key, (int)GgufValueType.UInt8, [value]);

    /// <summary>A UINT32 KV.</summary>
    public RawGguf KvU32(string key, uint value) => Kv(key, (int)GgufValueType.UInt32, new RawGguf().U32(value).ToArray());

    /// <summary>An INT32 KV.</summary>
    public RawGguf KvI32(string key, int value) => Kv(key, (int)GgufValueType.Int32, new RawGguf().I32(value).ToArray());

    /// <summary>A UINT64 KV.</summary>
    public RawGguf KvU64(string key, ulong value) => Kv(key, (int)GgufValueType.UInt64, new RawGguf().U64(value).ToArray());

    /// <summary>A BOOL KV with any byte as its value.</summary>
    public RawGguf KvBool(string key, byte value) => Kv(key, (int)GgufValueType.Bool, [value]);

    /// <summary>A STRING KV.</summary>
    public RawGguf KvString(string key, string value) => Kv(key, (int)GgufValueType.String, EncodeString(Encoding.UTF8.GetBytes(value)));

    /// <summary>A string as it stands in a file: its length, then its bytes.</summary>
    public static byte[] EncodeString(ReadOnlySpan<byte> value) => new RawGguf().Str(value).ToArray();

    /// <summary>
    /// An ARRAY KV: element type, count (marked <c>kv:KEY.count</c>), then whatever <paramref name="elements"/>
    /// writes (marked <c>kv:KEY.data</c>). Nothing checks that the elements match the count.
    /// </summary>
    public RawGguf KvArray(string key, int elementTypeId, ulong count, Action<RawGguf> elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        Key(key, GgufValueType.Array).Field(GgufFieldKind.ArrayElementType, 4).I32(elementTypeId)
            .Mark($"kv:{key}.count").Field(GgufFieldKind.ArrayCount, 8).U64(count).Mark($"kv:{key}.data");
        elements(this);
        return this;
    }

    /// <summary>An ARRAY KV with an element type from the enum (see the other overload).</summary>
    public RawGguf KvArray(string key, GgufValueType elementType, ulong count, Action<RawGguf> elements) =>
        KvArray(key, (int)elementType, count, elements);

    /// <summary>
    /// A tensor info. Marks <c>t:NAME</c> (the name's length field), <c>t:NAME.n_dims</c>,
    /// <c>t:NAME.ne0</c>…, <c>t:NAME.type</c> and <c>t:NAME.offset</c>.
    /// </summary>
    public RawGguf Tensor(string name, long[] ne, int typeId, ulong offset, uint? nDims = null) =>
        Tensor(Encoding.UTF8.GetBytes(name), name, ne, typeId, offset, nDims);

    /// <summary>A tensor info with a raw name; <paramref name="markName"/> names its marks.</summary>
    public RawGguf Tensor(ReadOnlySpan<byte> name, string markName, long[] ne, int typeId, ulong offset, uint? nDims = null)
    {
        ArgumentNullException.ThrowIfNull(ne);
        Mark($"t:{markName}").Field(GgufFieldKind.TensorNameLength, 8).U64((ulong)name.Length)
            .Field(GgufFieldKind.TensorNameBytes, name.Length).Bytes(name)
            .Mark($"t:{markName}.n_dims").Field(GgufFieldKind.DimensionCount, 4).U32(nDims ?? (uint)ne.Length);
        for (int i = 0; i < ne.Length; i++)
        {
            Mark($"t:{markName}.ne{i}").Field(GgufFieldKind.Dimension, 8).I64(ne[i]);
        }

        return Mark($"t:{markName}.type").Field(GgufFieldKind.TensorType, 4).I32(typeId)
            .Mark($"t:{markName}.offset").Field(GgufFieldKind.TensorOffset, 8).U64(offset);
    }

    /// <summary>A tensor info with a type from the enum.</summary>
    public RawGguf Tensor(string name, long[] ne, GgmlType type, ulong offset) => Tensor(name, ne, (int)type, offset);

    /// <summary>Pads to the alignment and marks the data section start as <c>data</c>.</summary>
    public RawGguf DataSection(long alignment = 32) => PadTo(alignment).Mark("data");

    // What a mutation may rewrite inside a value; offsets follow the bytes, whatever they claim.
    private void RecordValueFields(ReadOnlySpan<byte> key, int typeId, ReadOnlySpan<byte> value)
    {
        int at = checked((int)Position);
        bool alignment = key.SequenceEqual("general.alignment"u8);
        switch ((GgufValueType)typeId)
        {
            case GgufValueType.String when value.Length >= 8:
                _fields.Add(new(GgufFieldKind.StringLength, at, 8));
                break;
            case GgufValueType.Bool:
                _fields.Add(new(GgufFieldKind.BoolValue, at, 1));
                break;
            case GgufValueType.Array when value.Length >= 12:
                _fields.Add(new(GgufFieldKind.ArrayElementType, at, 4));
                _fields.Add(new(GgufFieldKind.ArrayCount, at + 4, 8));
                var element = (GgufValueType)BinaryPrimitives.ReadInt32LittleEndian(value);
                if (element == GgufValueType.String)
                {
                    // Each element's length field.
                    int p = 12;
                    while (p + 8 <= value.Length)
                    {
                        _fields.Add(new(GgufFieldKind.StringLength, at + p, 8));
                        p += 8 + (int)Math.Min(int.MaxValue - 16, BinaryPrimitives.ReadUInt64LittleEndian(value[p..]));
                    }
                }
                else if (element == GgufValueType.Bool)
                {
                    for (int i = 12; i < value.Length; i++)
                    {
                        _fields.Add(new(GgufFieldKind.BoolValue, at + i, 1));
                    }
                }

                break;
            case GgufValueType.String or GgufValueType.Array:
                break;
            default:
                _fields.Add(new(alignment ? GgufFieldKind.AlignmentValue : GgufFieldKind.ScalarValue, at, value.Length));
                break;
        }
    }
}
