using Gguf.Format;

namespace Gguf.Tests.Format;

public sealed class GgmlTypeInfoTests
{
    // Reference §3: id, name, block size, bytes per block (removed ids have block 0).
    public static TheoryData<int, string, int, int> Table => new()
    {
        { 0, "f32", 1, 4 }, { 1, "f16", 1, 2 }, { 2, "q4_0", 32, 18 }, { 3, "q4_1", 32, 20 },
        { 6, "q5_0", 32, 22 }, { 7, "q5_1", 32, 24 }, { 8, "q8_0", 32, 34 }, { 9, "q8_1", 32, 36 },
        { 10, "q2_K", 256, 84 }, { 11, "q3_K", 256, 110 }, { 12, "q4_K", 256, 144 }, { 13, "q5_K", 256, 176 },
        { 14, "q6_K", 256, 210 }, { 15, "q8_K", 256, 292 }, { 16, "iq2_xxs", 256, 66 }, { 17, "iq2_xs", 256, 74 },
        { 18, "iq3_xxs", 256, 98 }, { 19, "iq1_s", 256, 50 }, { 20, "iq4_nl", 32, 18 }, { 21, "iq3_s", 256, 110 },
        { 22, "iq2_s", 256, 82 }, { 23, "iq4_xs", 256, 136 }, { 24, "i8", 1, 1 }, { 25, "i16", 1, 2 },
        { 26, "i32", 1, 4 }, { 27, "i64", 1, 8 }, { 28, "f64", 1, 8 }, { 29, "iq1_m", 256, 56 },
        { 30, "bf16", 1, 2 }, { 34, "tq1_0", 256, 54 }, { 35, "tq2_0", 256, 66 }, { 39, "mxfp4", 32, 17 },
        { 40, "nvfp4", 64, 36 }, { 41, "q1_0", 128, 18 }, { 42, "q2_0", 64, 18 },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void TryGet_DefinedType_MatchesReferenceTable(int id, string name, int block, int bytes)
    {
        Assert.True(GgmlTypeInfo.TryGet(id, out GgmlTypeInfo info));
        Assert.Equal(name, info.Name);
        Assert.Equal(block, info.BlockSize);
        Assert.Equal(bytes, info.BytesPerBlock);
        Assert.Equal(id, (int)info.Type);
        Assert.True(GgmlTypeInfo.TryParseName(name, out GgmlTypeInfo? parsed));
        Assert.Equal(info.Type, parsed.Value.Type);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(36)]
    [InlineData(37)]
    [InlineData(38)]
    public void TryGet_RemovedType_ReturnsFalse(int id)
    {
        Assert.False(GgmlTypeInfo.TryGet(id, out _));
        Assert.True(GgmlTypeInfo.IsRemoved(id));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(43)]
    [InlineData(int.MaxValue)]
    public void TryGet_OutOfRange_ReturnsFalse(int id) => Assert.False(GgmlTypeInfo.TryGet(id, out _));

    [Fact]
    public void All_ListsThe35TypesFilesMayUse() => Assert.Equal(35, GgmlTypeInfo.All.Count());

    [Fact]
    public void TryGetByteSize_DividesByBlockBeforeMultiplying()
    {
        GgmlTypeInfo q4 = GgmlTypeInfo.Get(GgmlType.Q4_0);
        Assert.True(q4.TryGetByteSize([64, 3], out long size));
        Assert.Equal(2 * 18 * 3, size);

        // G1: ne0·type_size would wrap in 64 bits before the division; our order does not.
        long ne0 = 32L * 32_025_597_127_228_417;
        Assert.True(q4.TryGetByteSize([ne0], out long big));
        Assert.Equal(ne0 / 32 * 18, big);
    }

    [Fact]
    public void TryGetByteSize_OverflowOrBadBlockMultiple_ReturnsFalse()
    {
        GgmlTypeInfo f32 = GgmlTypeInfo.Get(GgmlType.F32);
        Assert.False(f32.TryGetByteSize([long.MaxValue / 2], out _));
        Assert.False(f32.TryGetByteSize([1L << 32, 1L << 32], out _));
        Assert.False(GgmlTypeInfo.Get(GgmlType.Q4_K).TryGetByteSize([255], out _));
    }
}
