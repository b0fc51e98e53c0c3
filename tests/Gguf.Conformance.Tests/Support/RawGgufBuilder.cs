using System.Buffers.Binary;
using System.Text;
using Gguf.Conformance.Native;

namespace Gguf.Conformance.Support;

/// <summary>
/// Writes GGUF bytes directly, including files no well-behaved writer would produce: any version, counts,
/// value type ids, dimension counts, offsets and alignment. Used to craft malformed inputs and seeds.
/// </summary>
internal sealed class RawGgufBuilder
{
    private readonly MemoryStream kvs = new();
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
        WriteString(kvs, key);
        WriteI32(kvs, type);
        kvs.Write(value);
        kvCount++;
        return this;
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
        s.Write("GGUF"u8);
        WriteU32(s, Version);
        WriteI64(s, TensorCountOverride ?? tensors.Count);
        WriteI64(s, KvCountOverride ?? kvCount);
        kvs.Position = 0;
        kvs.CopyTo(s);

        ulong running = 0;
        var offsets = new ulong[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            offsets[i] = running;
            WriteString(s, t.Name);
            WriteU32(s, (uint)t.Ne.Length);
            foreach (long n in t.Ne)
            {
                WriteI64(s, n);
            }

            WriteI32(s, t.Type);
            WriteU64(s, t.Offset ?? running);
            running += Pad((ulong)t.Data.Length);
        }

        if (tensors.Count > 0)
        {
            s.Write(new byte[(int)(Pad((ulong)s.Length) - (ulong)s.Length)]);
            long dataStart = s.Length;
            for (int i = 0; i < tensors.Count; i++)
            {
                s.Position = dataStart + (long)offsets[i];
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
