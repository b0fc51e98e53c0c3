using System.Text;
using Gguf.Conformance.Native;
using Gguf.LlamaCpp;

namespace Gguf.Conformance.Support;

/// <summary>
/// A random, valid GGUF description from a seed: every metadata type, arrays of each element type (empty,
/// short and long), string arrays, an unusual alignment now and then, and tensors of every ggml type the gguf
/// API accepts with random shapes and bytes. Both writers can write it.
/// </summary>
internal sealed class RandomGgufSpec
{
    private static readonly GgufNativeType[] ScalarTypes =
    [
        GgufNativeType.UINT8, GgufNativeType.INT8, GgufNativeType.UINT16, GgufNativeType.INT16, GgufNativeType.UINT32,
        GgufNativeType.INT32, GgufNativeType.FLOAT32, GgufNativeType.BOOL, GgufNativeType.UINT64, GgufNativeType.INT64,
        GgufNativeType.FLOAT64,
    ];

    private static readonly uint[] Alignments = [1, 2, 4, 8, 16, 64, 128, 256, 1024, 4096];

    private static readonly string[] Unusual = ["é", "ü", "✓", "ж", "中", "😀", " ", "\t", "\n", "_", "-", ".", "\u007f"];

    private static readonly int[] TensorTypes = GgmlTypeTable.ValidIds.ToArray();

    public required int Seed { get; init; }

    public required List<KvSnapshot> Metadata { get; init; }

    public required List<TensorSpec> Tensors { get; init; }

    public uint Alignment { get; init; } = 32;

    /// <summary>The same description with trailing 1-dimensions dropped (at least one dimension kept), as ggml_n_dims does.</summary>
    public RandomGgufSpec WithTrimmedShapes() => new()
    {
        Seed = Seed,
        Metadata = Metadata,
        Alignment = Alignment,
        Tensors = Tensors.Select(t =>
        {
            int n = t.Dims.Length;
            while (n > 1 && t.Dims[n - 1] == 1)
            {
                n--;
            }

            return t with { Dims = t.Dims[..n] };
        }).ToList(),
    };

    public static RandomGgufSpec Create(int seed)
    {
        var rng = new Random(seed);
        var kvs = new List<KvSnapshot>();
        uint alignment = 32;
        if (rng.Next(4) == 0)
        {
            alignment = Alignments[rng.Next(Alignments.Length)];
            kvs.Add(Kv.U32("general.alignment", alignment));
        }

        kvs.Add(Kv.Str("general.architecture", "conformance"));
        int keys = rng.Next(0, 24);
        for (int i = 0; i < keys; i++)
        {
            string key = $"k{i}.{RandomText(rng, rng.Next(1, 12), ascii: true)}";
            kvs.Add(RandomValue(rng, key));
        }

        // Every type in turn, so that 200 files cover each many times; block-aligned random shapes.
        var tensors = new List<TensorSpec>();
        int count = rng.Next(0, 9);
        long budget = 48 * 1024;
        for (int i = 0; i < count; i++)
        {
            int type = TensorTypes[(seed + i) % TensorTypes.Length];
            int dims = rng.Next(1, 5);
            long[] ne = new long[dims];
            ne[0] = GgmlTypeTable.BlockSize(type) * rng.Next(1, 4);
            for (int d = 1; d < dims; d++)
            {
                ne[d] = rng.Next(1, 4);
            }

            // Now and then a zero-element tensor, as llama.cpp's writer makes them: size 0, no data. Only the
            // first dimension is zeroed: this build's reader divides by a later zero one (L2, docs/conformance.md).
            if (rng.Next(6) == 0)
            {
                ne[0] = 0;
            }

            ulong size = GgmlTypeTable.ByteSize(type, ne);
            if ((long)size > budget)
            {
                continue;
            }

            budget -= (long)size;
            var data = new byte[size];
            rng.NextBytes(data);
            tensors.Add(new TensorSpec($"t{i}.{GgmlTypeTable.Name(type)}.{RandomText(rng, rng.Next(0, 20), ascii: true)}", type, ne, data));
        }

        return new RandomGgufSpec { Seed = seed, Metadata = kvs, Tensors = tensors, Alignment = alignment };
    }

    private static KvSnapshot RandomValue(Random rng, string key)
    {
        int kind = rng.Next(16);
        if (kind < ScalarTypes.Length)
        {
            var type = ScalarTypes[kind];
            byte[] raw = RandomScalar(rng, type);
            return new KvSnapshot(Encoding.UTF8.GetBytes(key), type, null, 1, raw, null);
        }

        if (kind == 11 || kind == 12)
        {
            return Kv.Str(key, RandomText(rng, rng.Next(0, 3) == 0 ? rng.Next(0, 3000) : rng.Next(0, 40), ascii: false));
        }

        if (kind == 13)
        {
            int n = ArrayLength(rng);
            return Kv.Strings(key, Enumerable.Range(0, n).Select(_ => RandomText(rng, rng.Next(0, 16), ascii: false)).ToList());
        }

        var elementType = ScalarTypes[rng.Next(ScalarTypes.Length)];
        int count = ArrayLength(rng);
        var packed = new List<byte>();
        for (int i = 0; i < count; i++)
        {
            packed.AddRange(RandomScalar(rng, elementType));
        }

        return Kv.Array(key, elementType, packed.ToArray());
    }

    private static int ArrayLength(Random rng) => rng.Next(3) switch
    {
        0 => 0,
        1 => rng.Next(1, 8),
        _ => rng.Next(100, 3000),
    };

    private static byte[] RandomScalar(Random rng, GgufNativeType type)
    {
        if (type == GgufNativeType.BOOL)
        {
            return [(byte)rng.Next(2)];
        }

        var b = new byte[NativeGgufReader.ScalarSize(type)];
        rng.NextBytes(b);
        return b;
    }

    /// <summary>Random text without NUL (llama.cpp's writer takes C strings).</summary>
    private static string RandomText(Random rng, int length, bool ascii)
    {
        var sb = new StringBuilder(length);
        for (int i = 0; i < length; i++)
        {
            if (ascii || rng.Next(4) > 0)
            {
                sb.Append((char)rng.Next('a', 'z' + 1));
            }
            else
            {
                sb.Append(Unusual[rng.Next(Unusual.Length)]);
            }
        }

        return sb.ToString();
    }
}
