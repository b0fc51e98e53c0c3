using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Gguf.Format;

namespace Gguf.Tests.Hostile;

/// <summary>
/// Writes GGUF bytes field by field and validates nothing: counts may lie, types may be wrong, lengths
/// may point past the end. <see cref="Writing.GgufWriter"/> refuses to write such files; hostile-input
/// tests need them. Helpers record the offset of every field they write as a named mark, so a test can
/// assert the offset an error reports (<c>raw["n_kv"]</c>, <c>raw["kv:general.alignment.value"]</c>).
/// </summary>
internal sealed class RawGguf
{
    private readonly ArrayBufferWriter<byte> _out = new(256);
    private readonly Dictionary<string, long> _marks = new(StringComparer.Ordinal);

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

    public byte[] ToArray() => _out.WrittenSpan.ToArray();

    // ---- primitives ----

    public RawGguf Bytes(ReadOnlySpan<byte> bytes)
    {
        _out.Write(bytes);
        return this;
    }

    public RawGguf U8(byte value) => Bytes([value]);

    public RawGguf U16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_out.GetSpan(2), value);
        _out.Advance(2);
        return this;
    }

    public RawGguf U32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_out.GetSpan(4), value);
        _out.Advance(4);
        return this;
    }

    public RawGguf I32(int value) => U32((uint)value);

    public RawGguf U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_out.GetSpan(8), value);
        _out.Advance(8);
        return this;
    }

    public RawGguf I64(long value) => U64((ulong)value);

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
    public RawGguf PadTo(long alignment) => Zeros((alignment - (Position % alignment)) % alignment);

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
        .Mark("version").U32(version)
        .Mark("n_tensors").U64(tensorCount)
        .Mark("n_kv").U64(kvCount);

    /// <summary>
    /// The start of a KV: the key and the type id. Marks <c>kv:KEY</c> (the key's length field),
    /// <c>kv:KEY.type</c> and <c>kv:KEY.value</c>.
    /// </summary>
    public RawGguf Key(string key, int typeId) => Key(Encoding.UTF8.GetBytes(key), key, typeId);

    /// <summary>A KV start with a raw key; <paramref name="markName"/> names its marks.</summary>
    public RawGguf Key(ReadOnlySpan<byte> key, string markName, int typeId) =>
        Mark($"kv:{markName}").Str(key)
        .Mark($"kv:{markName}.type").I32(typeId)
        .Mark($"kv:{markName}.value");

    public RawGguf Key(string key, GgufValueType type) => Key(key, (int)type);

    public RawGguf KvU8(string key, byte value) => Key(key, GgufValueType.UInt8).U8(value);

    public RawGguf KvU32(string key, uint value) => Key(key, GgufValueType.UInt32).U32(value);

    public RawGguf KvI32(string key, int value) => Key(key, GgufValueType.Int32).I32(value);

    public RawGguf KvU64(string key, ulong value) => Key(key, GgufValueType.UInt64).U64(value);

    public RawGguf KvBool(string key, byte value) => Key(key, GgufValueType.Bool).U8(value);

    public RawGguf KvString(string key, string value) => Key(key, GgufValueType.String).Str(value);

    /// <summary>
    /// An ARRAY KV: element type, count (marked <c>kv:KEY.count</c>), then whatever <paramref name="elements"/>
    /// writes (marked <c>kv:KEY.data</c>). Nothing checks that the elements match the count.
    /// </summary>
    public RawGguf KvArray(string key, int elementTypeId, ulong count, Action<RawGguf> elements)
    {
        Key(key, GgufValueType.Array).I32(elementTypeId).Mark($"kv:{key}.count").U64(count).Mark($"kv:{key}.data");
        elements(this);
        return this;
    }

    public RawGguf KvArray(string key, GgufValueType elementType, ulong count, Action<RawGguf> elements) =>
        KvArray(key, (int)elementType, count, elements);

    /// <summary>
    /// A tensor info. Marks <c>t:NAME</c> (the name's length field), <c>t:NAME.n_dims</c>,
    /// <c>t:NAME.ne0</c>…, <c>t:NAME.type</c> and <c>t:NAME.offset</c>.
    /// </summary>
    public RawGguf Tensor(string name, long[] ne, int typeId, ulong offset, uint? nDims = null) =>
        Tensor(Encoding.UTF8.GetBytes(name), name, ne, typeId, offset, nDims);

    public RawGguf Tensor(ReadOnlySpan<byte> name, string markName, long[] ne, int typeId, ulong offset, uint? nDims = null)
    {
        Mark($"t:{markName}").Str(name).Mark($"t:{markName}.n_dims").U32(nDims ?? (uint)ne.Length);
        for (int i = 0; i < ne.Length; i++)
        {
            Mark($"t:{markName}.ne{i}").I64(ne[i]);
        }

        return Mark($"t:{markName}.type").I32(typeId).Mark($"t:{markName}.offset").U64(offset);
    }

    public RawGguf Tensor(string name, long[] ne, GgmlType type, ulong offset) => Tensor(name, ne, (int)type, offset);

    /// <summary>Pads to the alignment and marks the data section start as <c>data</c>.</summary>
    public RawGguf DataSection(long alignment = 32) => PadTo(alignment).Mark("data");
}
