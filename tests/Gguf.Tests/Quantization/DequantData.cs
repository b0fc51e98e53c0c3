using System.Buffers.Binary;
using Gguf.Format;
using Gguf.Model;
using Gguf.Writing;

namespace Gguf.Tests.Quantization;

/// <summary>Blocks and files for the dequantization tests.</summary>
internal static class DequantData
{
    /// <summary>Every type a file may hold.</summary>
    public static IEnumerable<GgmlType> FileTypes => GgmlTypeInfo.All.Select(t => t.Type);

    public static TheoryData<string> AllTypes => new(FileTypes.Select(t => t.ToString()));

    /// <summary>Random bytes (any scale bit pattern, NaNs included).</summary>
    public static byte[] RandomBlocks(GgmlType type, int blocks, int seed)
    {
        var bytes = new byte[blocks * GgmlTypeInfo.Get(type).BytesPerBlock];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A GGUF file with one tensor per given (name, type, dims), filled with random bytes.</summary>
    public static GgufWriter Writer(int seed, params (string Name, GgmlType Type, long[] Dims)[] tensors)
    {
        var rng = new Random(seed);
        var writer = new GgufWriter();
        writer.AddMetadata("general.architecture", GgufValue.String("test"));
        foreach (var (name, type, dims) in tensors)
        {
            GgmlTypeInfo.Get(type).TryGetByteSize(dims, out long size);
            var data = new byte[size];
            rng.NextBytes(data);
            writer.AddTensor(name, type, dims, data);
        }

        return writer;
    }

    /// <summary>The stored bytes of a tensor.</summary>
    public static byte[] Bytes(GgufFile file, GgufTensorInfo tensor)
    {
        using GgufTensorData data = file.GetTensorData(tensor);
        return data.Bytes.ToArray();
    }

    public static uint Bits(float value) => BitConverter.SingleToUInt32Bits(value);

    public static void AssertSameBits(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (Bits(expected[i]) != Bits(actual[i]))
            {
                Assert.Fail($"{what}: element {i} is 0x{Bits(actual[i]):X8} ({actual[i]}), expected 0x{Bits(expected[i]):X8} ({expected[i]})");
            }
        }
    }

    public static byte[] Half(params ushort[] halves)
    {
        var bytes = new byte[halves.Length * 2];
        for (int i = 0; i < halves.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), halves[i]);
        }

        return bytes;
    }
}
