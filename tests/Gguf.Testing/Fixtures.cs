using System.Buffers.Binary;
using System.Text;
using Gguf.Format;
using Gguf.Model;
using Gguf.Writing;
using Xunit;

namespace Gguf.Testing;

/// <summary>Builders for small test files, and checks on them.</summary>
public static class Fixtures
{
    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Bytes(long count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A writer with one entry of every metadata type and arrays of each.</summary>
    public static GgufWriter EveryValueType()
    {
        var w = new GgufWriter();
        w.AddMetadata("general.architecture", GgufValue.String("test"));
        w.AddMetadata("t.u8", GgufValue.UInt8(250));
        w.AddMetadata("t.i8", GgufValue.Int8(-120));
        w.AddMetadata("t.u16", GgufValue.UInt16(65000));
        w.AddMetadata("t.i16", GgufValue.Int16(-32000));
        w.AddMetadata("t.u32", GgufValue.UInt32(4_000_000_000));
        w.AddMetadata("t.i32", GgufValue.Int32(-2_000_000_000));
        w.AddMetadata("t.f32", GgufValue.Float32(0.1f));
        w.AddMetadata("t.bool", GgufValue.Bool(true));
        w.AddMetadata("t.str", GgufValue.String("héllo wörld ✓"));
        w.AddMetadata("t.u64", GgufValue.UInt64(ulong.MaxValue));
        w.AddMetadata("t.i64", GgufValue.Int64(long.MinValue));
        w.AddMetadata("t.f64", GgufValue.Float64(Math.PI));
        w.AddMetadata("a.u8", GgufValue.FromArray(new byte[] { 0, 1, 255 }));
        w.AddMetadata("a.i8", GgufValue.FromArray(new sbyte[] { -128, 0, 127 }));
        w.AddMetadata("a.u16", GgufValue.FromArray(new ushort[] { 1, 65535 }));
        w.AddMetadata("a.i16", GgufValue.FromArray(new short[] { -1, 32767 }));
        w.AddMetadata("a.u32", GgufValue.FromArray(new uint[] { 7, uint.MaxValue }));
        w.AddMetadata("a.i32", GgufValue.FromArray(new[] { int.MinValue, 3 }));
        w.AddMetadata("a.f32", GgufValue.FromArray(new[] { 0f, -1.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e-45f }));
        w.AddMetadata("a.bool", GgufValue.FromArray(new[] { true, false, true }));
        w.AddMetadata("a.u64", GgufValue.FromArray(new[] { ulong.MaxValue, 0UL }));
        w.AddMetadata("a.i64", GgufValue.FromArray(new[] { long.MinValue, long.MaxValue }));
        w.AddMetadata("a.f64", GgufValue.FromArray(new[] { 0.1, double.MaxValue }));
        w.AddMetadata("a.str", GgufValue.FromStrings(["", "a", "ünïcode", "line\nbreak"]));
        w.AddMetadata("a.empty", GgufValue.FromArray(Array.Empty<int>()));
        w.AddMetadata("a.nested", GgufValue.FromArrays(
            GgufValue.FromArray(new[] { 1, 2 }),
            GgufValue.FromStrings(["x", "yz"]),
            GgufValue.FromArrays(GgufValue.FromArray(new[] { 3.5f }))));
        return w;
    }

    /// <summary>A writer with one tensor of each plain type and a few block types.</summary>
    public static GgufWriter WithTensors(uint alignment = 32, int seed = 1)
    {
        var w = new GgufWriter();
        w.AddMetadata("general.architecture", GgufValue.String("test"));
        if (alignment != 32)
        {
            w.AddMetadata(GgufKeys.Alignment, GgufValue.UInt32(alignment));
        }

        int i = 0;
        foreach ((GgmlType type, long[] shape) in new (GgmlType, long[])[]
        {
            (GgmlType.F32, [7, 3]),
            (GgmlType.F16, [5]),
            (GgmlType.BF16, [4, 2]),
            (GgmlType.I8, [9]),
            (GgmlType.I16, [3, 3]),
            (GgmlType.I32, [2, 2, 2]),
            (GgmlType.I64, [1, 1, 1, 3]),
            (GgmlType.F64, [2]),
            (GgmlType.Q4_0, [64, 2]),
            (GgmlType.Q4_K, [256]),
            (GgmlType.Q8_0, [32, 3]),
        })
        {
            GgmlTypeInfo.Get(type).TryGetByteSize(shape, out long size);
            w.AddTensor($"t{i++}.{type}", type, shape, Bytes(size, seed + i));
        }

        return w;
    }

    /// <summary>A minimal valid header with the given version bytes, counts zero.</summary>
    public static byte[] EmptyHeader(uint version = 3)
    {
        var bytes = new byte[24];
        "GGUF"u8.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), version);
        return bytes;
    }

    /// <summary>Asserts that the reader rejects <paramref name="file"/> with <paramref name="code"/>; returns the exception.</summary>
    public static GgufFormatException Rejects(byte[] file, GgufErrorCode code, GgufReaderOptions? options = null)
    {
        var e = Assert.Throws<GgufFormatException>(() => GgufReader.Read(file, options));
        Assert.Equal(code, e.Code);
        return e;
    }

    /// <summary>The offset of <paramref name="text"/>'s UTF-8 bytes in <paramref name="haystack"/> from <paramref name="start"/>, or -1.</summary>
    public static int IndexOf(byte[] haystack, string text, int start = 0) => haystack.AsSpan(start).IndexOf(Encoding.UTF8.GetBytes(text)) is var i and >= 0 ? i + start : -1;
}
