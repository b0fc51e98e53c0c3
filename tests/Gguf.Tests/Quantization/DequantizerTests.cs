using System.Runtime.InteropServices;
using Gguf.Format;
using Gguf.Model;
using Gguf.Quantization;
using Gguf.Testing;
using Gguf.Tests.Support;

namespace Gguf.Tests.Quantization;

/// <summary>The public API: whole tensors, rows, element ranges, chunks, threads, Half and bfloat16 outputs, and its argument checks.</summary>
public sealed class DequantizerTests : IDisposable
{
    private readonly TempDirectory _temp = new("gguf-dequant");

    public void Dispose() => _temp.Dispose();

    private GgufFile Open(params (string Name, GgmlType Type, long[] Dims)[] tensors) =>
        GgufFile.Open(_temp.Write($"t{Guid.NewGuid():N}.gguf", DequantData.Writer(seed: 7, tensors)));

    private static float[] FromBytes(GgufFile file, GgufTensorInfo tensor)
    {
        var expected = new float[tensor.ElementCount];
        Dequantizer.Dequantize(tensor.Type, DequantData.Bytes(file, tensor), expected);
        return expected;
    }

    [Fact]
    public void WholeTensor_EqualsDecodingItsBytes()
    {
        using GgufFile file = Open(("a", GgmlType.Q4_K, [512, 3]), ("b", GgmlType.IQ2_S, [256, 2]), ("c", GgmlType.F16, [5, 3]), ("d", GgmlType.MXFP4, [64]));
        foreach (GgufTensorInfo tensor in file.Tensors)
        {
            var output = new float[tensor.ElementCount];
            Dequantizer.Dequantize(file, tensor, output);
            DequantData.AssertSameBits(FromBytes(file, tensor), output, tensor.Name);
        }
    }

    [Fact]
    public void Rows_AreTheMatchingSliceOfTheWholeTensor()
    {
        using GgufFile file = Open(("w", GgmlType.Q5_1, [96, 7, 2]));
        GgufTensorInfo tensor = file.GetTensor("w");
        Assert.Equal(14, Dequantizer.RowCount(tensor));
        float[] whole = FromBytes(file, tensor);

        var rows = new float[3 * 96];
        Dequantizer.DequantizeRows(file, tensor, firstRow: 5, rowCount: 3, rows);
        DequantData.AssertSameBits(whole.AsSpan(5 * 96, 3 * 96), rows, "rows 5..8");

        Dequantizer.DequantizeRows(file, tensor, firstRow: 14, rowCount: 0, Span<float>.Empty);
    }

    [Fact]
    public void ElementRange_OnBlockBoundaries_IsTheMatchingSlice()
    {
        using GgufFile file = Open(("w", GgmlType.Q6_K, [1024, 3]));
        GgufTensorInfo tensor = file.GetTensor("w");
        float[] whole = FromBytes(file, tensor);
        var part = new float[768];
        Dequantizer.DequantizeElements(file, tensor, 1280, part);
        DequantData.AssertSameBits(whole.AsSpan(1280, 768), part, "elements 1280..2048");
    }

    [Fact]
    public void Chunks_CoverTheTensorInOrder()
    {
        using GgufFile file = Open(("w", GgmlType.IQ3_XXS, [2560, 3]));
        GgufTensorInfo tensor = file.GetTensor("w");
        float[] whole = FromBytes(file, tensor);
        var collected = new List<float>();
        var starts = new List<long>();
        Dequantizer.DequantizeChunks(file, tensor, new float[1000], (first, values) =>
        {
            starts.Add(first);
            collected.AddRange(values.ToArray());
        });

        // 1000 floats hold 3 blocks of 256: chunks of 768 elements.
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i * 768L), starts);
        DequantData.AssertSameBits(whole, collected.ToArray(), "chunks");
    }

    [Fact]
    public void Threads_GiveTheSameBitsAsOneThread()
    {
        // 1.5 M elements: several 256 Ki chunks for the workers, the last one short.
        using GgufFile file = Open(("w", GgmlType.Q3_K, [4096, 384]));
        GgufTensorInfo tensor = file.GetTensor("w");
        var one = new float[tensor.ElementCount];
        var four = new float[tensor.ElementCount];
        Dequantizer.Dequantize(file, tensor, one);
        Dequantizer.Dequantize(file, tensor, four, maxDegreeOfParallelism: 4);
        DequantData.AssertSameBits(one, four, "4 threads");

        var halves = new Half[tensor.ElementCount];
        Dequantizer.Dequantize(file, tensor, halves, maxDegreeOfParallelism: 3);
        for (int i = 0; i < one.Length; i += 997)
        {
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)one[i]), BitConverter.HalfToUInt16Bits(halves[i]));
        }
    }

    [Fact]
    public void HalfAndBFloat16_OfAQuantizedTensor_AreTheFloatsRounded()
    {
        using GgufFile file = Open(("w", GgmlType.Q8_0, [64, 4]));
        GgufTensorInfo tensor = file.GetTensor("w");
        float[] floats = FromBytes(file, tensor);
        var halves = new Half[floats.Length];
        var bf16 = new ushort[floats.Length];
        Dequantizer.Dequantize(file, tensor, halves);
        Dequantizer.DequantizeToBFloat16(file, tensor, bf16);
        for (int i = 0; i < floats.Length; i++)
        {
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)floats[i]), BitConverter.HalfToUInt16Bits(halves[i]));
            uint bits = BitConverter.SingleToUInt32Bits(floats[i]);
            ushort expected = float.IsNaN(floats[i]) ? (ushort)((bits >> 16) | 0x40) : (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
            Assert.Equal(expected, bf16[i]);
        }
    }

    [Fact]
    public void HalfOfF16_AndBFloat16OfBF16_AreTheStoredBits()
    {
        using GgufFile file = Open(("h", GgmlType.F16, [33]), ("b", GgmlType.BF16, [33]));
        byte[] halfBytes = DequantData.Bytes(file, file.GetTensor("h"));
        byte[] bfBytes = DequantData.Bytes(file, file.GetTensor("b"));
        var halves = new Half[33];
        var bf16 = new ushort[33];
        Dequantizer.Dequantize(file, file.GetTensor("h"), halves);
        Dequantizer.DequantizeToBFloat16(file, file.GetTensor("b"), bf16);
        Assert.Equal(halfBytes, MemoryMarshal.AsBytes(halves.AsSpan()).ToArray());
        Assert.Equal(bfBytes, MemoryMarshal.AsBytes(bf16.AsSpan()).ToArray());
    }

    [Fact]
    public void LargeTensor_Threads_GiveTheScalarKernelsBits()
    {
        using GgufFile file = Open(("w", GgmlType.Q8_0, [4096, 1100]));
        GgufTensorInfo tensor = file.GetTensor("w");
        var expected = new float[tensor.ElementCount];
        DequantKernels.GetScalar(GgmlType.Q8_0)(DequantData.Bytes(file, tensor), expected);
        var two = new float[tensor.ElementCount];
        Dequantizer.Dequantize(file, tensor, two, maxDegreeOfParallelism: 2);
        DequantData.AssertSameBits(expected, two, "2 threads");
    }

    [Fact]
    public void RawBlocks_ToHalfAndBFloat16()
    {
        byte[] source = DequantData.RandomBlocks(GgmlType.IQ4_XS, 2, seed: 3);
        var floats = new float[512];
        var halves = new Half[512];
        var bf16 = new ushort[512];
        Dequantizer.Dequantize(GgmlType.IQ4_XS, source, floats);
        Dequantizer.Dequantize(GgmlType.IQ4_XS, source, halves);
        Dequantizer.DequantizeToBFloat16(GgmlType.IQ4_XS, source, bf16);
        for (int i = 0; i < floats.Length; i++)
        {
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)floats[i]), BitConverter.HalfToUInt16Bits(halves[i]));
            Assert.Equal(Dequantizer.SingleToBFloat16(floats[i]), bf16[i]);
        }
    }

    [Fact]
    public void RawBlocks_WrongLengths_ThrowArgumentException_NeverReadPastTheSource()
    {
        var output = new float[32];
        var truncated = new byte[17]; // one Q4_0 block is 18 bytes
        var e = Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize(GgmlType.Q4_0, truncated, output));
        Assert.Equal("source", e.ParamName);
        Assert.Contains("whole number", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize(GgmlType.Q4_0, new byte[18], new float[31]));
        Assert.Equal("destination", e.ParamName);
        Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize(GgmlType.Q4_0, new byte[36], new float[32]));
        Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize((GgmlType)4, new byte[18], output));
        Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize((GgmlType)99, new byte[18], output));
        Assert.Throws<ArgumentException>(() => Dequantizer.DequantizeToBFloat16(GgmlType.Q8_0, new byte[34], new ushort[33]));

        // Zero blocks into zero elements is fine.
        Dequantizer.Dequantize(GgmlType.Q4_0, ReadOnlySpan<byte>.Empty, Span<float>.Empty);
    }

    [Fact]
    public void FileApi_ArgumentChecks()
    {
        using GgufFile file = Open(("w", GgmlType.Q4_0, [64, 4]));
        using GgufFile other = Open(("w", GgmlType.Q4_0, [64, 4]));
        GgufTensorInfo tensor = file.GetTensor("w");

        var e = Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize(file, tensor, new float[255]));
        Assert.Equal("destination", e.ParamName);
        Assert.Contains("needs 256", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize(file, other.GetTensor("w"), new float[256]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Dequantizer.Dequantize(file, tensor, new float[256], maxDegreeOfParallelism: 0));

        Assert.Throws<ArgumentOutOfRangeException>(() => Dequantizer.DequantizeRows(file, tensor, 3, 2, new float[128]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Dequantizer.DequantizeRows(file, tensor, -1, 1, new float[64]));
        Assert.Throws<ArgumentException>(() => Dequantizer.DequantizeRows(file, tensor, 0, 2, new float[64]));

        Assert.Throws<ArgumentException>(() => Dequantizer.DequantizeElements(file, tensor, 16, new float[32]));
        Assert.Throws<ArgumentException>(() => Dequantizer.DequantizeElements(file, tensor, 0, new float[48]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Dequantizer.DequantizeElements(file, tensor, 224, new float[64]));
        Assert.Throws<ArgumentException>(() => Dequantizer.DequantizeChunks(file, tensor, new float[31], (_, _) => { }));
    }
}
