using Gguf.Format;
using Gguf.Loading;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Writing;
using Xunit;

namespace Gguf.Tests.Loading;

/// <summary>A generated model: its path and every tensor's expected bytes.</summary>
public sealed record TestModel(string Path, IReadOnlyList<(string Name, byte[] Bytes)> Tensors)
{
    public long TensorBytes => Tensors.Sum(t => (long)t.Bytes.Length);

    public byte[] BytesOf(string name) => Tensors.First(t => t.Name == name).Bytes;
}

/// <summary>Writes small models with deterministic random tensor bytes of awkward sizes.</summary>
public static class TestModels
{
    /// <summary>
    /// Tensors of sizes that straddle chunk and alignment boundaries: tiny (16 B), odd (F32 of 1,001 elements),
    /// quantized (Q8_0), one larger than a few chunks, and a zero-padded tail.
    /// </summary>
    public static TestModel Write(string path, int seed = 1, int scale = 1)
    {
        var writer = new GgufWriter();
        writer.AddMetadata(GgufKeys.Architecture, GgufValue.String("llama"));
        writer.AddMetadata(GgufKeys.Name, GgufValue.String("loader test model"));
        var random = new Random(seed);
        var tensors = new List<(string, byte[])>();
        void Add(string name, GgmlType type, long[] shape)
        {
            GgmlTypeInfo.Get(type).TryGetByteSize(shape, out long size);
            byte[] bytes = new byte[size];
            random.NextBytes(bytes);
            writer.AddTensor(name, type, shape, bytes);
            tensors.Add((name, bytes));
        }

        Add("token_embd.weight", GgmlType.F16, [256, 96 * scale]);
        Add("blk.0.attn_norm.weight", GgmlType.F32, [4]);
        Add("blk.0.attn_q.weight", GgmlType.Q8_0, [256, 64 * scale]);
        Add("blk.0.ffn_up.weight", GgmlType.F32, [1001]);
        Add("blk.0.ffn_down.weight", GgmlType.F32, [1024, 300 * scale]);
        Add("blk.1.attn_norm.weight", GgmlType.F32, [3]);
        Add("output.weight", GgmlType.F16, [640, 97]);
        writer.WriteTo(path);
        return new TestModel(path, tensors);
    }

    /// <summary>A model of about <paramref name="bytes"/> bytes in tensors of at most 16 MiB.</summary>
    public static TestModel WriteSized(string path, long bytes, int seed = 7)
    {
        var writer = new GgufWriter();
        writer.AddMetadata(GgufKeys.Architecture, GgufValue.String("llama"));
        var random = new Random(seed);
        var tensors = new List<(string, byte[])>();
        int index = 0;
        for (long left = bytes; left > 0; index++)
        {
            long elements = Math.Min(left, 16L << 20) / 4;
            elements = Math.Max(elements, 1);
            byte[] data = new byte[elements * 4];
            random.NextBytes(data);
            string name = $"blk.{index}.weight";
            writer.AddTensor(name, GgmlType.F32, [elements], data);
            tensors.Add((name, data));
            left -= data.Length;
        }

        writer.WriteTo(path);
        return new TestModel(path, tensors);
    }

    /// <summary>
    /// A sparse file holding one F32 tensor of <paramref name="bytes"/> bytes (more than 2 GiB is fine) whose
    /// bytes are zero except for markers at the start, at every 1 GiB, and at the end.
    /// </summary>
    public static (string Path, long Bytes) WriteSparseHuge(string path, long bytes)
    {
        var writer = new GgufWriter();
        writer.AddMetadata(GgufKeys.Architecture, GgufValue.String("llama"));
        writer.AddTensor("small.weight", GgmlType.F32, [8], new byte[32]);
        writer.AddTensor("huge.weight", GgmlType.F32, [bytes / 4], output =>
        {
            byte[] zeros = new byte[1 << 20];
            var markers = new SortedSet<long> { 0, bytes - 8 };
            for (long m = 1L << 30; m < bytes - 8; m += 1L << 30)
            {
                markers.Add(m);
            }

            long position = 0;
            foreach (long marker in markers)
            {
                while (position < marker)
                {
                    int n = (int)Math.Min(zeros.Length, marker - position);
                    output.Write(zeros, 0, n);
                    position += n;
                }

                output.Write(Marker(marker));
                position += 8;
            }
        });
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        using var sparse = new SparseFileStream(file);
        writer.WriteTo(sparse);
        return (path, bytes);
    }

    /// <summary>
    /// A file with one F32 tensor of <paramref name="bytes"/> bytes that are all a hole: the header is written,
    /// then the file is extended. Instant at any size.
    /// </summary>
    public static string WriteAllHole(string path, long bytes)
    {
        var writer = new GgufWriter();
        writer.AddMetadata(GgufKeys.Architecture, GgufValue.String("llama"));
        writer.AddTensor("hole.weight", GgmlType.F32, [bytes / 4], _ => throw new HeaderWritten());
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        try
        {
            writer.WriteTo(file);
        }
        catch (HeaderWritten)
        {
            // The writer stopped at the first tensor's data: the header and its padding are written.
        }

        file.SetLength(file.Position + (bytes / 4 * 4));
        return path;
    }

    private sealed class HeaderWritten : Exception;

    /// <summary>The 8 bytes written at <paramref name="offset"/> of the huge tensor.</summary>
    public static byte[] Marker(long offset) => BitConverter.GetBytes(offset ^ 0x5A5A_5A5A_5A5A_5A5AL);
}

/// <summary>Checks shared by the loader tests and the GPU tests (this file is linked into both).</summary>
internal static class LoadAssert
{
    public static void BytesExact(LoadedModel loaded, TestModel model)
    {
        Assert.Equal(model.Tensors.Count, loaded.Tensors.Count);
        for (int i = 0; i < model.Tensors.Count; i++)
        {
            (string name, byte[] expected) = model.Tensors[i];
            LoadedTensor tensor = loaded.Tensors[i];
            Assert.Equal(name, tensor.Name);
            Assert.Equal(0, tensor.Offset % 256);
            byte[] actual = new byte[tensor.ByteSize];
            loaded.CopyToHost(tensor, 0, actual);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"tensor '{name}' differs");
        }
    }
}
