using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;
using Gguf.Writing;

namespace Gguf.Tests.Writing;

public sealed class GgufWriterTests
{
    [Fact]
    public void WriteTo_StreamsTensorDataFromCallbacks()
    {
        var w = new GgufWriter();
        int calls = 0;
        w.AddTensor("big", GgmlType.F32, [1024, 64], stream =>
        {
            calls++;
            var chunk = new byte[4096];
            for (int i = 0; i < 64; i++)
            {
                chunk.AsSpan().Fill((byte)i);
                stream.Write(chunk);
            }
        });
        Assert.Equal(0, calls);

        byte[] file = w.ToBytes();
        Assert.Equal(1, calls);
        GgufHeader h = GgufReader.Read(file);
        GgufTensorInfo t = h.Tensors[0];
        Assert.Equal(262_144, t.ByteSize);
        Assert.Equal(63, file[t.AbsoluteOffset + t.ByteSize - 1]);
        Assert.Equal(5, file[t.AbsoluteOffset + (5 * 4096)]);
    }

    [Fact]
    public void WriteTo_CallbackWritingWrongByteCount_Throws()
    {
        var w = new GgufWriter();
        w.AddTensor("x", GgmlType.F32, [4], stream => stream.Write(new byte[15]));
        var e = Assert.Throws<InvalidOperationException>(() => w.ToBytes());
        Assert.Contains("'x' wrote 15 bytes, 16 expected", e.Message);
    }

    [Fact]
    public void WriteTo_PadsEveryTensorIncludingTheLast()
    {
        var w = new GgufWriter();
        w.AddMetadata(GgufKeys.Alignment, GgufValue.UInt32(64));
        w.AddTensor("a", GgmlType.I8, [3], new byte[] { 1, 2, 3 });
        w.AddTensor("b", GgmlType.I8, [5], new byte[] { 4, 5, 6, 7, 8 });
        byte[] file = w.ToBytes();
        GgufHeader h = GgufReader.Read(file);

        Assert.Equal(64u, w.Alignment);
        Assert.Equal(0, file.Length % 64);
        Assert.Equal(64, h.Tensors[1].Offset);
        Assert.Equal(h.DataOffset + 128, file.Length);
    }

    [Fact]
    public void Add_InvalidInput_ThrowsArgumentException()
    {
        var w = new GgufWriter();
        w.AddMetadata("k", GgufValue.Bool(false));
        Assert.Throws<ArgumentException>(() => w.AddMetadata("k", GgufValue.Bool(true)));
        Assert.Throws<ArgumentException>(() => w.AddMetadata("", GgufValue.Bool(true)));
        Assert.Throws<ArgumentException>(() => w.AddMetadata(GgufKeys.Alignment, GgufValue.UInt32(48)));
        Assert.Throws<ArgumentException>(() => w.AddMetadata(GgufKeys.Alignment, GgufValue.UInt64(64)));
        Assert.Throws<ArgumentException>(() => w.AddTensor("q", GgmlType.Q4_0, [33], new byte[18]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("f", GgmlType.F32, [4], new byte[15]));
        Assert.Throws<ArgumentException>(() => w.AddTensor(new string('n', 64), GgmlType.F32, [1], new byte[4]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("d", GgmlType.F32, [1, 1, 1, 1, 1], new byte[4]));
        w.AddTensor("once", GgmlType.F32, [1], new byte[4]);
        Assert.Throws<ArgumentException>(() => w.AddTensor("once", GgmlType.F32, [1], new byte[4]));
    }

    [Fact]
    public void Version2_WritesAFileReadersAccept()
    {
        var w = new GgufWriter { Version = 2 };
        w.AddMetadata("general.name", GgufValue.String("v2"));
        Assert.Equal(2u, GgufReader.Read(w.ToBytes()).Version);
    }

    [Fact]
    public void Metadata_RoundTripsThroughToValue()
    {
        byte[] original = Fixtures.EveryValueType().ToBytes();
        GgufHeader h = GgufReader.Read(original);
        var copy = new GgufWriter();
        foreach (GgufMetadataEntry entry in h.Metadata)
        {
            copy.AddMetadata(entry.Key, entry.ToValue());
        }

        Assert.Equal(original, copy.ToBytes());
    }
}
