using System.Buffers.Binary;
using System.Text;
using Gguf.LlamaCpp;

namespace Gguf.Conformance.Support;

/// <summary>A field of a built file: what it is, where it starts and how many bytes it has.</summary>
internal readonly record struct GgufField(GgufFieldKind Kind, int Offset, int Size);

/// <summary>The kinds of field a mutation can rewrite.</summary>
internal enum GgufFieldKind
{
    Version,
    TensorCount,
    KvCount,
    KeyLength,
    KeyBytes,
    ValueType,
    ScalarValue,
    BoolValue,
    StringLength,
    ArrayElementType,
    ArrayCount,
    AlignmentValue,
    TensorNameLength,
    TensorNameBytes,
    DimensionCount,
    Dimension,
    TensorType,
    TensorOffset,
    Padding,
    TensorData,
}

/// <summary>
/// Writes GGUF bytes directly, including files no well-behaved writer would produce: any version, counts,
/// value type ids, dimension counts, offsets and alignment. Used to craft malformed inputs and seeds.
/// </summary>
internal sealed class RawGgufBuilder
{
    private readonly MemoryStream kvs = new();
    private readonly List<GgufField> kvFields = [];
    private readonly List<(byte[] Name, long[] Ne, int Type, ulong? Offset, byte[] Data)> tensors = [];
    private int kvCount;

    public uint Version { get; set; } = 3;

    /// <summary>Alignment used to lay out the data section (set general.alignment yourself to match).</summary>
    public int Alignment { get; set; } = 32;

    public long? TensorCountOverride { get; set; }

    public long? KvCountOverride { get; set; }

    /// <summary>Adds a key with an arbitrary type id and raw value bytes.</summary>
    public RawGgufBuilder Kv(ReadOnlySpan<byte> key, int type, ReadOnlySpan<byte> value)
    {
        kvFields.Add(new(GgufFieldKind.KeyLength, (int)kvs.Length, 8));
        kvFields.Add(new(GgufFieldKind.KeyBytes, (int)kvs.Length + 8, key.Length));
        WriteString(kvs, key);
        kvFields.Add(new(GgufFieldKind.ValueType, (int)kvs.Length, 4));
        WriteI32(kvs, type);
        RecordValueFields(key, type, value, (int)kvs.Length);
        kvs.Write(value);
        kvCount++;
        return this;
    }

    /// <summary>The fields of the last <see cref="Build"/>.</summary>
    public List<GgufField> Fields { get; } = [];

    private void RecordValueFields(ReadOnlySpan<byte> key, int type, ReadOnlySpan<byte> value, int at)
    {
        bool alignment = key.SequenceEqual("general.alignment"u8);
        switch ((GgufNativeType)type)
        {
            case GgufNativeType.STRING when value.Length >= 8:
                kvFields.Add(new(GgufFieldKind.StringLength, at, 8));
                break;
            case GgufNativeType.BOOL:
                kvFields.Add(new(GgufFieldKind.BoolValue, at, 1));
                break;
            case GgufNativeType.ARRAY when value.Length >= 12:
                kvFields.Add(new(GgufFieldKind.ArrayElementType, at, 4));
                kvFields.Add(new(GgufFieldKind.ArrayCount, at + 4, 8));
                var element = (GgufNativeType)BinaryPrimitives.ReadInt32LittleEndian(value);
                if (element == GgufNativeType.STRING)
                {
                    // Each element's length field.
                    int p = 12;
                    while (p + 8 <= value.Length)
                    {
                        kvFields.Add(new(GgufFieldKind.StringLength, at + p, 8));
                        p += 8 + (int)Math.Min(int.MaxValue - 16, BinaryPrimitives.ReadUInt64LittleEndian(value[p..]));
                    }
                }
                else if (element == GgufNativeType.BOOL)
                {
                    for (int i = 12; i < value.Length; i++)
                    {
                        kvFields.Add(new(GgufFieldKind.BoolValue, at + i, 1));
                    }
                }

                break;
            case GgufNativeType.STRING or GgufNativeType.ARRAY:
                break;
            default:
                kvFields.Add(new(alignment ? GgufFieldKind.AlignmentValue : GgufFieldKind.ScalarValue, at, value.Length));
                break;
        }
    }

    public RawGgufBuilder Kv(string key, int type, ReadOnlySpan<byte> value) => Kv(Encoding.UTF8.GetBytes(key), type, value);

    /// <summary>Adds a metadata entry described by a <see cref="KvSnapshot"/> (valid encoding).</summary>
    public RawGgufBuilder Kv(KvSnapshot kv) => Kv(kv.Key, (int)kv.Type, EncodeValue(kv));

    public RawGgufBuilder KvU32(string key, uint v) => Kv(Support.Kv.U32(key, v));

    public RawGgufBuilder KvString(string key, string v) => Kv(Support.Kv.Str(key, v));

    /// <summary>Adds a tensor info. Data defaults to zeros of the size the type table gives; offset defaults to the packed, padded position.</summary>
    public RawGgufBuilder Tensor(string name, int type, long[] ne, byte[]? data = null, ulong? offset = null) =>
        Tensor(Encoding.UTF8.GetBytes(name), type, ne, data, offset);

    public RawGgufBuilder Tensor(byte[] name, int type, long[] ne, byte[]? data = null, ulong? offset = null)
    {
        data ??= new byte[GgmlTypeTable.IsValid(type) ? checked((int)GgmlTypeTable.ByteSize(type, ne)) : 0];
        tensors.Add((name, ne, type, offset, data));
        return this;
    }

    public byte[] Build()
    {
        var s = new MemoryStream();
        Fields.Clear();
        s.Write("GGUF"u8);
        Fields.Add(new(GgufFieldKind.Version, 4, 4));
        WriteU32(s, Version);
        Fields.Add(new(GgufFieldKind.TensorCount, 8, 8));
        WriteI64(s, TensorCountOverride ?? tensors.Count);
        Fields.Add(new(GgufFieldKind.KvCount, 16, 8));
        WriteI64(s, KvCountOverride ?? kvCount);
        Fields.AddRange(kvFields.Select(f => f with { Offset = f.Offset + 24 }));
        kvs.Position = 0;
        kvs.CopyTo(s);

        ulong running = 0;
        var offsets = new ulong[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            offsets[i] = running;
            Fields.Add(new(GgufFieldKind.TensorNameLength, (int)s.Length, 8));
            Fields.Add(new(GgufFieldKind.TensorNameBytes, (int)s.Length + 8, t.Name.Length));
            WriteString(s, t.Name);
            Fields.Add(new(GgufFieldKind.DimensionCount, (int)s.Length, 4));
            WriteU32(s, (uint)t.Ne.Length);
            foreach (long n in t.Ne)
            {
                Fields.Add(new(GgufFieldKind.Dimension, (int)s.Length, 8));
                WriteI64(s, n);
            }

            Fields.Add(new(GgufFieldKind.TensorType, (int)s.Length, 4));
            WriteI32(s, t.Type);
            Fields.Add(new(GgufFieldKind.TensorOffset, (int)s.Length, 8));
            WriteU64(s, t.Offset ?? running);
            running += Pad((ulong)t.Data.Length);
        }

        if (tensors.Count > 0)
        {
            int padding = (int)(Pad((ulong)s.Length) - (ulong)s.Length);
            if (padding > 0)
            {
                Fields.Add(new(GgufFieldKind.Padding, (int)s.Length, padding));
            }

            s.Write(new byte[padding]);
            long dataStart = s.Length;
            for (int i = 0; i < tensors.Count; i++)
            {
                s.Position = dataStart + (long)offsets[i];
                if (tensors[i].Data.Length > 0)
                {
                    Fields.Add(new(GgufFieldKind.TensorData, (int)s.Position, tensors[i].Data.Length));
                }

                s.Write(tensors[i].Data);
                s.Write(new byte[(int)(Pad((ulong)tensors[i].Data.Length) - (ulong)tensors[i].Data.Length)]);
            }
        }

        return s.ToArray();
    }

    /// <summary>The encoded value of a well-formed entry (without key and type).</summary>
    public static byte[] EncodeValue(KvSnapshot kv)
    {
        var s = new MemoryStream();
        switch (kv.Type)
        {
            case GgufNativeType.STRING:
                WriteString(s, kv.Raw);
                break;
            case GgufNativeType.ARRAY:
                WriteI32(s, (int)kv.ElementType!.Value);
                WriteU64(s, kv.Count);
                if (kv.Strings is not null)
                {
                    foreach (byte[] str in kv.Strings)
                    {
                        WriteString(s, str);
                    }
                }
                else
                {
                    s.Write(kv.Raw);
                }

                break;
            default:
                s.Write(kv.Raw);
                break;
        }

        return s.ToArray();
    }

    private ulong Pad(ulong n) => (n + (ulong)Alignment - 1) / (ulong)Alignment * (ulong)Alignment;

    private static void WriteString(Stream s, ReadOnlySpan<byte> bytes)
    {
        WriteU64(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteU32(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteI32(Stream s, int v) => WriteU32(s, (uint)v);

    private static void WriteU64(Stream s, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteI64(Stream s, long v) => WriteU64(s, (ulong)v);
}
