using System.Buffers.Binary;
using System.Text;
using Gguf.Format;
using Gguf.Model;
using Gguf.Quantization;
using Gguf.Testing;
using Gguf.Tests.Support;

namespace Gguf.Tests.Quantization;

/// <summary>
/// A tensor larger than 2 GiB (and than int.MaxValue elements) in a sparse file: rows and element ranges
/// past the 2 GiB mark decode from the mapping in place; the whole tensor cannot go into one span and the
/// error says how to decode it instead.
/// </summary>
public sealed class LargeTensorTests : IDisposable
{
    private const long RowLength = 4096;
    private const long Rows = 600_000; // 2.46 G elements, 2.61 GB of Q8_0
    private const int RowBytes = (int)(RowLength / 32 * 34);

    private readonly TempDirectory _temp = new("gguf-dequant-large");

    public void Dispose() => _temp.Dispose();

    /// <summary>A GGUF v3 file with one Q8_0 tensor [4096, 600000]; only <paramref name="written"/> rows hold data, the rest is a hole.</summary>
    private string SparseFile(out long dataOffset, params (long Row, byte[] Bytes)[] written)
    {
        var header = new MemoryStream();
        var w = new BinaryWriter(header);
        w.Write("GGUF"u8);
        w.Write(3u);
        w.Write(1UL); // tensors
        w.Write(0UL); // metadata
        byte[] name = Encoding.UTF8.GetBytes("big");
        w.Write((ulong)name.Length);
        w.Write(name);
        w.Write(2u);
        w.Write((ulong)RowLength);
        w.Write((ulong)Rows);
        w.Write((uint)GgmlType.Q8_0);
        w.Write(0UL); // offset within the data section
        w.Flush();
        dataOffset = (header.Length + 31) / 32 * 32;

        string path = _temp.File("sparse.gguf");
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.Write(header.ToArray());
        file.SetLength(dataOffset + (Rows * RowBytes));
        foreach (var (row, bytes) in written)
        {
            file.Position = dataOffset + (row * RowBytes);
            file.Write(bytes);
        }

        return path;
    }

    private static byte[] RowsOfBlocks(int rows, int seed)
    {
        var bytes = new byte[rows * RowBytes];
        var rng = new Random(seed);
        rng.NextBytes(bytes);
        for (int b = 0; b < bytes.Length; b += 34)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(b), (ushort)(0x2000 + rng.Next(0x1000)));
        }

        return bytes;
    }

    [Fact]
    public void RowsAndRangesPast2GiB_DecodeInPlace()
    {
        // Rows around the 2 GiB byte mark (row 493,447 starts at 2^31 − …) and the very last rows.
        long rowAt2GiB = (1L << 31) / RowBytes;
        byte[] middle = RowsOfBlocks(3, seed: 1);
        byte[] last = RowsOfBlocks(2, seed: 2);
        string path = SparseFile(out _, (rowAt2GiB - 1, middle), (Rows - 2, last));
        using GgufFile file = GgufFile.Open(path);
        GgufTensorInfo tensor = file.GetTensor("big");
        Assert.True(tensor.ByteSize > (2L << 30));
        Assert.True(tensor.ElementCount > int.MaxValue);
        Assert.Equal(Rows, Dequantizer.RowCount(tensor));

        var expectedMiddle = new float[3 * RowLength];
        Dequantizer.Dequantize(GgmlType.Q8_0, middle, expectedMiddle);
        var rows = new float[3 * RowLength];
        Dequantizer.DequantizeRows(file, tensor, rowAt2GiB - 1, 3, rows);
        DequantData.AssertSameBits(expectedMiddle, rows, "rows across 2 GiB");

        var expectedLast = new float[2 * RowLength];
        Dequantizer.Dequantize(GgmlType.Q8_0, last, expectedLast);
        var tail = new float[2 * RowLength];
        Dequantizer.DequantizeElements(file, tensor, tensor.ElementCount - tail.Length, tail);
        DequantData.AssertSameBits(expectedLast, tail, "last rows");

        // Two threads over the same range give the same bits.
        Dequantizer.DequantizeRows(file, tensor, Rows - 2, 2, tail, maxDegreeOfParallelism: 2);
        DequantData.AssertSameBits(expectedLast, tail, "last rows, 2 threads");
    }

    [Fact]
    public void WholeTensorIntoOneSpan_IsRefused_WithTheWayOut()
    {
        string path = SparseFile(out _);
        using GgufFile file = GgufFile.Open(path);
        var e = Assert.Throws<ArgumentException>(() => Dequantizer.Dequantize(file, file.GetTensor("big"), new float[1024]));
        Assert.Contains("DequantizeChunks", e.Message, StringComparison.Ordinal);
    }
}
