using System.Buffers.Binary;
using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;
using Gguf.Writing;

namespace Gguf.Tests.Format;

public sealed class GgufReaderTests
{
    [Fact]
    public void Read_EveryValueType_RoundTripsExactly()
    {
        GgufHeader h = GgufReader.Read(Fixtures.EveryValueType().ToBytes());
        GgufMetadata m = h.Metadata;

        Assert.Equal(3u, h.Version);
        Assert.Equal("test", m["general.architecture"].GetString());
        Assert.Equal(250, m["t.u8"].GetUInt8());
        Assert.Equal(-120, m["t.i8"].GetInt8());
        Assert.Equal(65000, m["t.u16"].GetUInt16());
        Assert.Equal(-32000, m["t.i16"].GetInt16());
        Assert.Equal(4_000_000_000u, m["t.u32"].GetUInt32());
        Assert.Equal(-2_000_000_000, m["t.i32"].GetInt32());
        Assert.Equal(0.1f, m["t.f32"].GetFloat32());
        Assert.True(m["t.bool"].GetBool());
        Assert.Equal("héllo wörld ✓", m["t.str"].GetString());
        Assert.Equal(ulong.MaxValue, m["t.u64"].GetUInt64());
        Assert.Equal(long.MinValue, m["t.i64"].GetInt64());
        Assert.Equal(Math.PI, m["t.f64"].GetFloat64());

        Assert.Equal(new byte[] { 0, 1, 255 }, m["a.u8"].GetArray().ToArray<byte>());
        Assert.Equal(new sbyte[] { -128, 0, 127 }, m["a.i8"].GetArray().ToArray<sbyte>());
        Assert.Equal(new ushort[] { 1, 65535 }, m["a.u16"].GetArray().ToArray<ushort>());
        Assert.Equal(new short[] { -1, 32767 }, m["a.i16"].GetArray().ToArray<short>());
        Assert.Equal(new[] { 7u, uint.MaxValue }, m["a.u32"].GetArray().ToArray<uint>());
        Assert.Equal(new[] { int.MinValue, 3 }, m["a.i32"].GetArray().ToArray<int>());
        float[] floats = m["a.f32"].GetArray().ToArray<float>();
        Assert.Equal(6, floats.Length);
        Assert.True(float.IsNaN(floats[2]));
        Assert.Equal(1e-45f, floats[5]);
        Assert.Equal(new[] { true, false, true }, m["a.bool"].GetArray().ToArray<bool>());
        Assert.Equal(new[] { ulong.MaxValue, 0UL }, m["a.u64"].GetArray().ToArray<ulong>());
        Assert.Equal(new[] { long.MinValue, long.MaxValue }, m["a.i64"].GetArray().ToArray<long>());
        Assert.Equal(new[] { 0.1, double.MaxValue }, m["a.f64"].GetArray().ToArray<double>());
        Assert.Equal(["", "a", "ünïcode", "line\nbreak"], m["a.str"].GetArray().ToStringArray());
        Assert.Equal(0, m["a.empty"].GetArray().Count);
        Assert.Equal(GgufValueType.Int32, m["a.empty"].ElementType);
    }

    [Fact]
    public void Read_NestedArrays_AreExposedWithDepth()
    {
        GgufArray nested = GgufReader.Read(Fixtures.EveryValueType().ToBytes()).Metadata["a.nested"].GetArray();

        Assert.Equal(GgufValueType.Array, nested.ElementType);
        Assert.Equal(3, nested.Count);
        Assert.Equal(new[] { 1, 2 }, nested.GetArray(0).ToArray<int>());
        Assert.Equal(["x", "yz"], nested.GetArray(1).ToStringArray());
        GgufArray inner = nested.GetArray(2);
        Assert.Equal(2, inner.Depth);
        Assert.Equal(new[] { 3.5f }, inner.GetArray(0).ToArray<float>());
        Assert.Equal(3, inner.GetArray(0).Depth);
    }

    [Fact]
    public void Read_NestedArrayDeeperThanLimit_Rejects()
    {
        byte[] file = new GgufWriter().AddMetadata("n", GgufValue.FromArrays(GgufValue.FromArrays(GgufValue.FromArray(new[] { 1 })))).ToBytes();

        GgufReader.Read(file, new GgufReaderOptions { MaxArrayDepth = 3 });
        var e = Fixtures.Rejects(file, GgufErrorCode.ArrayNestingTooDeep, new GgufReaderOptions { MaxArrayDepth = 1 });
        Assert.Equal("n", e.Key);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(GgufReaderOptions.ArrayDepthCeiling + 1)]
    [InlineData(100_000)]
    public void Options_ArrayDepthOutsideSafeRange_Throws(int depth) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new GgufReaderOptions { MaxArrayDepth = depth });

    [Fact]
    public void Options_With_KeepsArrayDepth() =>
        Assert.Equal(1, (GgufReaderOptions.LlamaCppCompatible with { RequirePackedTensors = false }).MaxArrayDepth);

    [Fact]
    public void Read_MetadataInFileOrder_WithOffsets()
    {
        byte[] bytes = Fixtures.EveryValueType().ToBytes();
        GgufMetadata m = GgufReader.Read(bytes).Metadata;

        Assert.Equal("general.architecture", m[0].Key);
        Assert.Equal("a.nested", m[m.Count - 1].Key);
        Assert.Equal(24, m[0].Offset);
        Assert.All(m, e => Assert.Equal((ulong)e.Key.Length, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan((int)e.Offset))));
    }

    [Theory]
    [InlineData(2u)]
    [InlineData(3u)]
    public void Read_Version2And3_Accepted(uint version)
    {
        GgufHeader h = GgufReader.Read(Fixtures.EmptyHeader(version));
        Assert.Equal(version, h.Version);
        Assert.Equal(24, h.DataOffset);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(4u)]
    [InlineData(0xFFFFFFFFu)]
    public void Read_UnsupportedVersion_RejectedNamingSupportedVersions(uint version)
    {
        var e = Fixtures.Rejects(Fixtures.EmptyHeader(version), GgufErrorCode.UnsupportedVersion);
        Assert.Contains("supported versions are 2 and 3", e.Message);
        Assert.Equal(4, e.Offset);
    }

    [Fact]
    public void Read_ByteSwappedVersion_ReportedAsBigEndian()
    {
        var e = Fixtures.Rejects(Fixtures.EmptyHeader(0x03000000), GgufErrorCode.BigEndianFile);
        Assert.Contains("big-endian", e.Message);
    }

    [Fact]
    public void Read_BadMagic_Rejected()
    {
        byte[] file = Fixtures.EmptyHeader();
        file[0] = (byte)'F';
        Assert.Equal(0, Fixtures.Rejects(file, GgufErrorCode.BadMagic).Offset);
    }

    [Fact]
    public void Read_NoTensors_DataOffsetIsHeaderEndAndFileNeedsNoPadding()
    {
        byte[] file = new GgufWriter().AddMetadata("general.name", GgufValue.String("abc")).ToBytes();
        Assert.NotEqual(0, file.Length % 32);

        GgufHeader h = GgufReader.Read(file);
        Assert.Equal(file.Length, h.DataOffset);
        Assert.Equal(file.Length, h.HeaderEnd);
        Assert.Empty(h.Tensors);
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(8u)]
    [InlineData(32u)]
    [InlineData(64u)]
    [InlineData(4096u)]
    public void Read_Alignment_PadsDataSectionAndTensors(uint alignment)
    {
        byte[] file = Fixtures.WithTensors(alignment).ToBytes();
        GgufHeader h = GgufReader.Read(file);

        Assert.Equal(alignment, h.Alignment);
        Assert.Equal(0, h.DataOffset % alignment);
        Assert.True(h.DataOffset >= h.HeaderEnd && h.DataOffset - h.HeaderEnd < alignment);
        Assert.All(h.Tensors, t => Assert.Equal(0, t.Offset % alignment));
        Assert.All(h.Tensors, t => Assert.Equal(h.DataOffset + t.Offset, t.AbsoluteOffset));
        Assert.Equal(file.Length, h.DataOffset + h.DataSectionSize);
    }

    [Fact]
    public void Read_AlignmentOfWrongType_Rejected()
    {
        byte[] file = new GgufWriter().AddMetadata("general.alignment", GgufValue.UInt32(32)).ToBytes();
        file[Fixtures.IndexOf(file, "general.alignment") + "general.alignment".Length] = (byte)GgufValueType.Int32;
        var e = Fixtures.Rejects(file, GgufErrorCode.AlignmentWrongType);
        Assert.Equal("general.alignment", e.Key);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(48u)]
    public void Read_AlignmentNotPowerOfTwo_Rejected(uint alignment)
    {
        byte[] file = new GgufWriter().AddMetadata("general.alignment", GgufValue.UInt32(64)).ToBytes();
        int at = Fixtures.IndexOf(file, "general.alignment") + "general.alignment".Length + 4;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(at), alignment);

        Assert.Equal(at, Fixtures.Rejects(file, GgufErrorCode.AlignmentNotPowerOfTwo).Offset);
    }

    [Fact]
    public void Read_Tensors_InfoMatchesWhatWasWritten()
    {
        GgufHeader h = GgufReader.Read(Fixtures.WithTensors().ToBytes());

        Assert.Equal(11, h.Tensors.Count);
        GgufTensorInfo f32 = h.Tensors[0];
        Assert.Equal("t0.F32", f32.Name);
        Assert.Equal(GgmlType.F32, f32.Type);
        Assert.Equal([7L, 3L], f32.Dimensions);
        Assert.Equal(21, f32.ElementCount);
        Assert.Equal(84, f32.ByteSize);
        Assert.Equal(0, f32.Offset);
        Assert.True(h.TryGetTensor("t9.Q4_K", out GgufTensorInfo? q4k));
        Assert.Equal(144, q4k.ByteSize);
        Assert.Equal(9, q4k.Index);
        Assert.False(h.TryGetTensor("missing", out _));
    }

    [Fact]
    public void Read_Stream_EqualsMemoryParse()
    {
        byte[] file = Fixtures.EveryValueType().ToBytes();
        GgufHeader fromStream = GgufReader.Read(new MemoryStream(file));
        GgufHeader fromMemory = GgufReader.Read(file);

        Assert.Equal(fromMemory.HeaderEnd, fromStream.HeaderEnd);
        Assert.Equal(fromMemory.Metadata.Select(e => (e.Key, e.Type, e.ValueOffset)), fromStream.Metadata.Select(e => (e.Key, e.Type, e.ValueOffset)));
        Assert.Equal(fromMemory.Metadata["a.str"].GetArray().ToStringArray(), fromStream.Metadata["a.str"].GetArray().ToStringArray());
    }

    [Fact]
    public void Read_StreamWithLargeHeader_GrowsUntilComplete()
    {
        string[] tokens = Enumerable.Range(0, 50_000).Select(i => $"token-{i}").ToArray();
        byte[] file = new GgufWriter().AddMetadata("tokenizer.ggml.tokens", GgufValue.FromStrings(tokens)).ToBytes();
        GgufHeader h = GgufReader.Read(new MemoryStream(file));

        Assert.Equal(50_000, h.Metadata["tokenizer.ggml.tokens"].Count);
        Assert.Equal("token-49999", h.Metadata["tokenizer.ggml.tokens"].GetArray().GetString(49_999));
    }

    [Fact]
    public void TypedGetter_WrongType_ThrowsTypeMismatch()
    {
        GgufMetadata m = GgufReader.Read(Fixtures.EveryValueType().ToBytes()).Metadata;

        var e = Assert.Throws<GgufFormatException>(() => m["a.i8"].GetArray().ToArray<float>());
        Assert.Equal(GgufErrorCode.TypeMismatch, e.Code);
        Assert.Equal("a.i8", e.Key);
        Assert.Equal(GgufErrorCode.TypeMismatch, Assert.Throws<GgufFormatException>(() => m["t.u32"].GetInt32()).Code);
        Assert.Equal(GgufErrorCode.TypeMismatch, Assert.Throws<GgufFormatException>(() => m["t.str"].GetArray()).Code);
        Assert.Equal(GgufErrorCode.TypeMismatch, Assert.Throws<GgufFormatException>(() => m["a.str"].GetArray().GetArray(0)).Code);
        Assert.Equal(GgufErrorCode.TypeMismatch, Assert.Throws<GgufFormatException>(() => m["t.f32"].GetInteger()).Code);
        Assert.Equal(4_000_000_000, m["t.u32"].GetInteger());
    }

    [Fact]
    public void Read_DuplicateKey_RejectedAtSecondEntry()
    {
        byte[] file = new GgufWriter().AddMetadata("k.a", GgufValue.UInt8(1)).AddMetadata("k.b", GgufValue.UInt8(2)).ToBytes();
        file[Fixtures.IndexOf(file, "k.b") + 2] = (byte)'a';

        var e = Fixtures.Rejects(file, GgufErrorCode.DuplicateKey);
        Assert.Equal("k.a", e.Key);
        int first = Fixtures.IndexOf(file, "k.a");
        Assert.Equal(Fixtures.IndexOf(file, "k.a", first + 1) - 8, e.Offset);
    }

    [Fact]
    public void Read_TensorGap_RejectedByDefaultAcceptedWithSpecLayout()
    {
        byte[] file = WithGap(out long secondOffsetField);

        var e = Fixtures.Rejects(file, GgufErrorCode.TensorOffsetNotPacked);
        Assert.Equal(secondOffsetField, e.Offset);
        Assert.Equal("b", e.TensorName);
        GgufHeader relaxed = GgufReader.Read(file, new GgufReaderOptions { RequirePackedTensors = false });
        Assert.Equal(64, relaxed.Tensors[1].Offset);
    }

    [Fact]
    public void Read_OverlappingTensors_RejectedWithSpecLayout()
    {
        byte[] file = WithGap(out long secondOffsetField);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan((int)secondOffsetField), 0);

        var e = Fixtures.Rejects(file, GgufErrorCode.TensorOverlap, new GgufReaderOptions { RequirePackedTensors = false });
        Assert.Equal("b", e.TensorName);
    }

    [Fact]
    public void Read_LimitsFromOptions_AreEnforced()
    {
        byte[] file = Fixtures.EveryValueType().ToBytes();
        Fixtures.Rejects(file, GgufErrorCode.ArrayTooLong, new GgufReaderOptions { MaxArrayElements = 5 });
        Fixtures.Rejects(file, GgufErrorCode.StringTooLong, new GgufReaderOptions { MaxStringBytes = 10 });
        Fixtures.Rejects(file, GgufErrorCode.MetadataCountOutOfRange, new GgufReaderOptions { MaxMetadataCount = 3 });
        Fixtures.Rejects(file, GgufErrorCode.KeyTooLong, new GgufReaderOptions { MaxKeyBytes = 5 });
        byte[] tensors = Fixtures.WithTensors().ToBytes();
        Fixtures.Rejects(tensors, GgufErrorCode.TensorCountOutOfRange, new GgufReaderOptions { MaxTensorCount = 2 });
        Fixtures.Rejects(tensors, GgufErrorCode.TensorNameTooLong, new GgufReaderOptions { MaxTensorNameBytes = 3 });
        Fixtures.Rejects(tensors, GgufErrorCode.TooManyDimensions, new GgufReaderOptions { MaxDimensions = 2 });
        Fixtures.Rejects(tensors, GgufErrorCode.HeaderTooLarge, new GgufReaderOptions { MaxHeaderBytes = 100 });
    }

    [Fact]
    public void Read_150kStringArray_OpensWithoutDecodingStrings()
    {
        string[] tokens = Enumerable.Range(0, 150_000).Select(i => "tok" + i).ToArray();
        byte[] file = new GgufWriter().AddMetadata("tokenizer.ggml.tokens", GgufValue.FromStrings(tokens)).ToBytes();
        GgufReader.Read(file);

        long before = GC.GetAllocatedBytesForCurrentThread();
        GgufHeader h = GgufReader.Read(file);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // 150,000 strings would be several MB; the lazy parse allocates a few objects.
        Assert.True(allocated < 64 * 1024, $"open allocated {allocated} bytes");
        GgufArray array = h.Metadata["tokenizer.ggml.tokens"].GetArray();
        Assert.Equal("tok123456", array.GetString(123_456));
        Assert.Equal("tok0", array.GetString(0));
        Assert.Equal("tok149999", array.GetString(149_999));
    }

    private static byte[] WithGap(out long secondOffsetField)
    {
        var w = new GgufWriter();
        w.AddTensor("a", GgmlType.F32, [8], new byte[32]);
        w.AddTensor("b", GgmlType.F32, [8], new byte[32]);
        byte[] file = w.ToBytes();

        // Move tensor b from offset 32 to 64 and extend the file so it stays inside.
        secondOffsetField = Fixtures.IndexOf(file, "\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000b") + 9 + 4 + 8 + 4;
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan((int)secondOffsetField), 64);
        Array.Resize(ref file, file.Length + 32);
        return file;
    }
}
