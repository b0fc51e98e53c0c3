using Gguf.Conformance.Native;
using Gguf.Conformance.Support;
using Gguf.LlamaCpp;
using Gguf.Testing;

namespace Gguf.Conformance.Binding;

/// <summary>llama.cpp writes a file with its gguf API and reads it back: proves the writing and reading bindings.</summary>
public sealed class NativeRoundTripTests
{
    internal static List<KvSnapshot> EveryValueType()
    {
        var rng = new Random(7);
        byte[] Bytes(int n)
        {
            var b = new byte[n];
            rng.NextBytes(b);
            return b;
        }

        var kvs = new List<KvSnapshot>
        {
            Kv.U8("t.u8", 200), Kv.I8("t.i8", -5), Kv.U16("t.u16", 65000), Kv.I16("t.i16", -30000),
            Kv.U32("t.u32", 4_000_000_000), Kv.I32("t.i32", -2_000_000_000), Kv.F32("t.f32", 3.25f),
            Kv.Bool("t.bool", true), Kv.Str("t.str", "hello, ünïcode ✓"), Kv.U64("t.u64", ulong.MaxValue - 1),
            Kv.I64("t.i64", long.MinValue + 1), Kv.F64("t.f64", -1e300), Kv.Str("t.empty", ""),
            Kv.Strings("t.arr.str", ["a", "", "long string with spaces", "ü"]), Kv.Strings("t.arr.str.empty", []),
        };
        foreach (var type in new[]
        {
            GgufNativeType.UINT8, GgufNativeType.INT8, GgufNativeType.UINT16, GgufNativeType.INT16, GgufNativeType.UINT32,
            GgufNativeType.INT32, GgufNativeType.FLOAT32, GgufNativeType.UINT64, GgufNativeType.INT64, GgufNativeType.FLOAT64,
        })
        {
            int size = NativeGgufReader.ScalarSize(type);
            kvs.Add(Kv.Array($"t.arr.{type}.empty", type, []));
            kvs.Add(Kv.Array($"t.arr.{type}.short", type, Bytes(3 * size)));
            kvs.Add(Kv.Array($"t.arr.{type}.long", type, Bytes(1000 * size)));
        }

        kvs.Add(Kv.Array("t.arr.bool", GgufNativeType.BOOL, [0, 1, 1, 0]));
        return kvs;
    }

    [Theory]
    [InlineData(32u)]
    [InlineData(64u)]
    [InlineData(1u)]
    public void LlamaCpp_WritesAndReadsBackEveryValueAndTensorType(uint alignment)
    {
        Requires.LlamaCpp();
        using var dir = new TempDir();
        var rng = new Random(11);
        var kvs = EveryValueType();
        if (alignment != 32)
        {
            kvs.Insert(0, Kv.U32("general.alignment", alignment));
        }

        var tensors = new List<TensorSpec>();
        foreach (int type in GgmlTypeTable.ValidIds)
        {
            long[] dims = [GgmlTypeTable.BlockSize(type) * 2, 3];
            var data = new byte[GgmlTypeTable.ByteSize(type, dims)];
            rng.NextBytes(data);
            tensors.Add(new TensorSpec($"tensor.{GgmlTypeTable.Name(type)}", type, dims, data));
        }

        string path = dir.File("native.gguf");
        NativeGgufWriter.Write(path, kvs, tensors);
        var read = NativeGgufReader.TryRead(path, withData: true, out string error);

        Assert.True(read is not null, error);
        Assert.Equal(3u, read.Version);
        Assert.Equal(alignment, read.Alignment);
        Assert.Equal(0ul, read.DataOffset % alignment);
        Assert.Equal(kvs.Count, read.Metadata.Count);
        for (int i = 0; i < kvs.Count; i++)
        {
            Assert.Equal(kvs[i].KeyText, read.Metadata[i].KeyText);
            Assert.Equal(kvs[i].Type, read.Metadata[i].Type);
            Assert.Equal(kvs[i].ElementType, read.Metadata[i].ElementType);
            Assert.Equal(kvs[i].Count, read.Metadata[i].Count);
            Assert.Equal(kvs[i].Raw, read.Metadata[i].Raw);
            Assert.Equal(kvs[i].Strings?.Select(Convert.ToHexString), read.Metadata[i].Strings?.Select(Convert.ToHexString));
        }

        Assert.Equal(tensors.Count, read.Tensors.Count);
        ulong expectedOffset = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = read.Tensors[i];
            Assert.Equal(tensors[i].Name, t.NameText);
            Assert.Equal(tensors[i].Type, t.Type);
            Assert.Equal([tensors[i].Dims[0], tensors[i].Dims[1], 1, 1], t.Ne);
            Assert.Equal((ulong)tensors[i].Data.Length, t.Size);
            Assert.Equal(expectedOffset, t.Offset);
            Assert.Equal(tensors[i].Data, t.Data);
            expectedOffset += (t.Size + alignment - 1) / alignment * alignment;
        }
    }
}
