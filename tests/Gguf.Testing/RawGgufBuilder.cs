using System.Text;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Testing;

/// <summary>
/// Lays out a whole GGUF file with <see cref="RawGguf"/>, including files no well-behaved writer would
/// produce: any version, counts, value type ids, dimension counts, offsets and alignment. Keys and tensors
/// are collected first, so the header's counts and the tensors' offsets can be computed (or overridden);
/// <see cref="Build"/> writes them and records every field in <see cref="Fields"/>.
/// </summary>
public sealed class RawGgufBuilder
{
    private readonly List<(byte[] Key, int Type, byte[] Value)> _kvs = [];
    private readonly List<(byte[] Name, long[] Ne, int Type, ulong? Offset, byte[] Data)> _tensors = [];

    /// <summary>The header's version.</summary>
    public uint Version { get; set; } = 3;

    /// <summary>Alignment used to lay out the data section (set general.alignment yourself to match).</summary>
    public int Alignment { get; set; } = 32;

    /// <summary>A tensor count to write instead of the true one.</summary>
    public long? TensorCountOverride { get; set; }

    /// <summary>A key/value count to write instead of the true one.</summary>
    public long? KvCountOverride { get; set; }

    /// <summary>The fields of the last <see cref="Build"/>.</summary>
    public List<GgufField> Fields { get; } = [];

    /// <summary>Adds a key with an arbitrary type id and its value bytes as they stand in a file.</summary>
    public RawGgufBuilder Kv(ReadOnlySpan<byte> key, int type, ReadOnlySpan<byte> value)
    {
        _kvs.Add((key.ToArray(), type, value.ToArray()));
        return this;
    }

    /// <summary>Adds a key (UTF-8) with an arbitrary type id and its value bytes.</summary>
    public RawGgufBuilder Kv(string key, int type, ReadOnlySpan<byte> value) => Kv(Encoding.UTF8.GetBytes(key), type, value);

    /// <summary>Adds a UINT32 key.</summary>
    public RawGgufBuilder KvU32(string key, uint value) => Kv(key, (int)GgufValueType.UInt32, new RawGguf().U32(value).ToArray());

    /// <summary>Adds a STRING key.</summary>
    public RawGgufBuilder KvString(string key, string value) => Kv(key, (int)GgufValueType.String, RawGguf.EncodeString(Encoding.UTF8.GetBytes(value)));

    /// <summary>
    /// Adds a tensor info. Data defaults to zeros of (ne0 / block) · bytes per block · ne1 · … (0 for an
    /// unknown type); the offset defaults to the packed, padded position.
    /// </summary>
    public RawGgufBuilder Tensor(string name, int type, long[] ne, byte[]? data = null, ulong? offset = null) =>
        Tensor(Encoding.UTF8.GetBytes(name), type, ne, data, offset);

    /// <summary>Adds a tensor info with a raw name (see the other overload).</summary>
    public RawGgufBuilder Tensor(byte[] name, int type, long[] ne, byte[]? data = null, ulong? offset = null)
    {
        ArgumentNullException.ThrowIfNull(ne);
        data ??= new byte[DefaultDataSize(type, ne)];
        _tensors.Add((name, ne, type, offset, data));
        return this;
    }

    /// <summary>Writes the file: header, keys, tensor infos, padding, then each tensor's data padded to the alignment.</summary>
    public byte[] Build()
    {
        var raw = new RawGguf().Header((ulong)(TensorCountOverride ?? _tensors.Count), (ulong)(KvCountOverride ?? _kvs.Count), Version);
        foreach ((byte[] key, int type, byte[] value) in _kvs)
        {
            raw.Kv(key, Encoding.UTF8.GetString(key), type, value);
        }

        ulong running = 0;
        foreach (var t in _tensors)
        {
            raw.Tensor(t.Name, Encoding.UTF8.GetString(t.Name), t.Ne, t.Type, t.Offset ?? running);
            running += (ulong)Rounding.Up(t.Data.Length, Alignment);
        }

        if (_tensors.Count > 0)
        {
            long padding = Rounding.Up(raw.Position, Alignment) - raw.Position;
            if (padding > 0)
            {
                raw.Field(GgufFieldKind.Padding, (int)padding);
            }

            raw.Zeros(padding);
            foreach (var t in _tensors)
            {
                if (t.Data.Length > 0)
                {
                    raw.Field(GgufFieldKind.TensorData, t.Data.Length);
                }

                raw.Bytes(t.Data).Zeros(Rounding.Up(t.Data.Length, Alignment) - t.Data.Length);
            }
        }

        Fields.Clear();
        Fields.AddRange(raw.Fields);
        return raw.ToArray();
    }

    // Truncating division on purpose: a shape that is no multiple of the block still gets some bytes.
    private static int DefaultDataSize(int type, long[] ne)
    {
        if (!GgmlTypeInfo.TryGet(type, out GgmlTypeInfo info) || info.BlockSize == 0)
        {
            return 0;
        }

        ulong size = checked((ulong)(ne[0] / info.BlockSize) * (ulong)info.BytesPerBlock);
        for (int i = 1; i < ne.Length; i++)
        {
            size = checked(size * (ulong)ne[i]);
        }

        return checked((int)size);
    }
}
