using Gguf.Format;
using Gguf.Model;
using Gguf.Writing;

namespace Gguf.Testing;

/// <summary>
/// Valid files made with our writer, shared by the tests and the fuzz seed corpus (fuzz/Gguf.Fuzz):
/// every tensor type, every value type, alignments, a tiny llama-shaped model, and real corpus
/// files shrunk to their first array elements (same keys, types and layout, a few KB).
/// </summary>
public static class SeedFiles
{
    private static readonly (string Name, long Elements)[] SmallTensors = [("a", 3), ("b", 5), ("c", 1)];

    /// <summary>Every writer-made file, by name, from a fixed random seed.</summary>
    public static IEnumerable<(string Name, byte[] File)> WriterMade()
    {
        var random = new Random(20260826);
        yield return ("writer-all-tensor-types", AllTensorTypes(random, 32));
        yield return ("writer-all-tensor-types-align8", AllTensorTypes(random, 8));
        yield return ("writer-all-value-types", AllValueTypes());
        yield return ("writer-tiny-llama", TinyLlama(random.Next()));
        yield return ("writer-v2-align1", Small(random, version: 2, alignment: 1));
        yield return ("writer-align64", Small(random, version: 3, alignment: 64));
        yield return ("writer-empty", new GgufWriter().ToBytes());
        yield return ("writer-metadata-only", new GgufWriter().AddMetadata(GgufKeys.Architecture, GgufValue.String("test")).ToBytes());
    }

    public static byte[] AllTensorTypes(Random random, uint alignment)
    {
        var writer = new GgufWriter()
            .AddMetadata(GgufKeys.Architecture, GgufValue.String("test"))
            .AddMetadata(GgufKeys.Alignment, GgufValue.UInt32(alignment));
        foreach (GgmlTypeInfo type in GgmlTypeInfo.All)
        {
            long[] shape = [type.BlockSize * 2L, 2];
            byte[] data = new byte[type.BytesPerBlock * 4];
            random.NextBytes(data);
            writer.AddTensor($"t.{type.Name}", type.Type, shape, data);
        }

        writer.AddTensor("scalar", GgmlType.F32, [], BitConverter.GetBytes(1.5f));
        return writer.ToBytes();
    }

    /// <summary>One entry of every metadata type, arrays of each, nested and empty arrays.</summary>
    public static byte[] AllValueTypes() => Fixtures.EveryValueType().ToBytes();

    public static byte[] Small(Random random, uint version, uint alignment)
    {
        var writer = new GgufWriter { Version = version }
            .AddMetadata(GgufKeys.Architecture, GgufValue.String("test"))
            .AddMetadata(GgufKeys.Alignment, GgufValue.UInt32(alignment));
        foreach ((string name, long n) in SmallTensors)
        {
            byte[] data = new byte[n * 2];
            random.NextBytes(data);
            writer.AddTensor(name, GgmlType.F16, [n], data);
        }

        return writer.ToBytes();
    }

    /// <summary>A one-layer llama-shaped model of width 32 with a numbered vocabulary and random tensor bytes.</summary>
    public static byte[] TinyLlama(int seed) => ModelGenerator.Build(new ModelSpec
    {
        Name = "tiny",
        ContextLength = 128,
        Layers = 1,
        Embedding = 32,
        FeedForward = 64,
        KvHeads = 4,
        Vocabulary = ModelVocabulary.Numbered,
        VocabularySize = 64,
        AttentionType = GgmlType.Q4_0,
        FeedForwardType = GgmlType.BF16,
        Fill = WeightFill.RandomBytes,
        Seed = seed,
    }).ToBytes();

    /// <summary>A corpus file rewritten with every array cut to its first <paramref name="max"/> elements.</summary>
    public static byte[] Shrink(string path, int max)
    {
        using GgufFile file = GgufFile.Open(path);
        var writer = new GgufWriter { Version = file.Version };
        foreach (GgufMetadataEntry entry in file.Metadata)
        {
            writer.AddMetadata(entry.Key, entry.Type == GgufValueType.Array ? ShrinkArray(entry.GetArray(), max) : entry.ToValue());
        }

        foreach (GgufTensorInfo tensor in file.Tensors)
        {
            using GgufTensorData data = file.GetTensorData(tensor);
            writer.AddTensor(tensor.Name, tensor.Type, tensor.DimensionsSpan, data.Bytes.ToArray());
        }

        return writer.ToBytes();
    }

    private static GgufValue ShrinkArray(GgufArray array, int max)
    {
        int n = (int)Math.Min(array.Count, max);
        return array.ElementType switch
        {
            GgufValueType.String => GgufValue.FromUtf8Array([.. Enumerable.Range(0, n).Select(i => array.GetStringBytes(i))]),
            GgufValueType.Array => GgufValue.FromArrays([.. Enumerable.Range(0, n).Select(i => ShrinkArray(array.GetArray(i), max))]),
            GgufValueType.UInt8 => Fixed<byte>(array, n),
            GgufValueType.Int8 => Fixed<sbyte>(array, n),
            GgufValueType.UInt16 => Fixed<ushort>(array, n),
            GgufValueType.Int16 => Fixed<short>(array, n),
            GgufValueType.UInt32 => Fixed<uint>(array, n),
            GgufValueType.Int32 => Fixed<int>(array, n),
            GgufValueType.Float32 => Fixed<float>(array, n),
            GgufValueType.Bool => Fixed<bool>(array, n),
            GgufValueType.UInt64 => Fixed<ulong>(array, n),
            GgufValueType.Int64 => Fixed<long>(array, n),
            _ => Fixed<double>(array, n),
        };
    }

    private static GgufValue Fixed<T>(GgufArray array, int n) where T : unmanaged
    {
        var values = new T[n];
        array.CopyTo<T>(values);
        return GgufValue.FromArray(values);
    }
}
