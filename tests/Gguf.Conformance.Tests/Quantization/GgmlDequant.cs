using System.Buffers.Binary;
using System.Text;
using Gguf.LlamaCpp;
using Gguf.Testing;
using Gguf.Format;
using Gguf.Model;
using Gguf.Quantization;

namespace Gguf.Conformance.Quantization;

/// <summary>The two sides of the dequantization comparison: ggml's decoders and ours (SIMD and scalar), bit for bit.</summary>
internal static unsafe class GgmlDequant
{
    /// <summary>Every type a file may hold, in id order.</summary>
    public static IEnumerable<GgmlType> FileTypes => GgmlTypeInfo.All.Select(t => t.Type);

    /// <summary>The types ggml can decode for us: those with a <c>to_float</c>, Q8_K (its exported decoder) and Q8_1 (through Q8_0).</summary>
    public static bool HasNativeReference(GgmlType type) =>
        type is GgmlType.Q8_K or GgmlType.Q8_1 || GgmlQuantNative.ggml_get_type_traits((int)type)->ToFloat != null;

    /// <summary>
    /// ggml's floats for whole blocks of <paramref name="type"/>. Q8_1 has no decoder in ggml: its blocks are
    /// rewritten as Q8_0 blocks (the same d and quants, without the sum) and decoded by Q8_0's.
    /// </summary>
    public static float[] Native(GgmlType type, byte[] blocks)
    {
        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        int count = blocks.Length / info.BytesPerBlock;
        var output = new float[count * info.BlockSize];
        if (type == GgmlType.Q8_1)
        {
            var q8_0 = new byte[count * 34];
            for (int b = 0; b < count; b++)
            {
                blocks.AsSpan(b * 36, 2).CopyTo(q8_0.AsSpan(b * 34));
                blocks.AsSpan((b * 36) + 4, 32).CopyTo(q8_0.AsSpan((b * 34) + 2));
            }

            return Native(GgmlType.Q8_0, q8_0);
        }

        var toFloat = type == GgmlType.Q8_K ? GgmlQuantNative.DequantizeRowQ8K : GgmlQuantNative.ggml_get_type_traits((int)type)->ToFloat;
        if (toFloat == null)
        {
            throw new InvalidOperationException($"ggml has no decoder for {type}");
        }

        fixed (byte* x = blocks)
        fixed (float* y = output)
        {
            toFloat(x, y, output.Length);
        }

        return output;
    }

    /// <summary>Our floats from the kernel that runs by default (SIMD where available).</summary>
    public static float[] Ours(GgmlType type, byte[] blocks)
    {
        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        var output = new float[blocks.Length / info.BytesPerBlock * info.BlockSize];
        Dequantizer.Dequantize(type, blocks, output);
        return output;
    }

    /// <summary>Our floats from one explicit kernel (scalar or SIMD).</summary>
    public static float[] Run(DequantKernel kernel, GgmlType type, byte[] blocks)
    {
        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        var output = new float[blocks.Length / info.BytesPerBlock * info.BlockSize];
        kernel(blocks, output);
        return output;
    }

    /// <summary>Null when the two arrays hold the same bits; else the first differences, with the block they are in.</summary>
    public static string? FirstDifferences(GgmlType type, byte[] blocks, float[] expected, float[] actual, string what)
    {
        if (expected.Length != actual.Length)
        {
            return $"{what}: {actual.Length} values, expected {expected.Length}";
        }

        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        var report = new StringBuilder();
        int shown = 0, total = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            uint e = BitConverter.SingleToUInt32Bits(expected[i]), a = BitConverter.SingleToUInt32Bits(actual[i]);
            if (e == a)
            {
                continue;
            }

            total++;
            if (shown++ < 5)
            {
                int block = i / info.BlockSize;
                string bytes = Convert.ToHexString(blocks, block * info.BytesPerBlock, Math.Min(info.BytesPerBlock, 48));
                report.AppendLine($"  element {i} (block {block}, index {i % info.BlockSize}): ggml 0x{e:X8} ({expected[i]}), {what} 0x{a:X8} ({actual[i]}); block {bytes}");
            }
        }

        return total == 0 ? null : $"{type} {what}: {total} of {expected.Length} values differ\n{report}";
    }

    /// <summary>Compares ggml with our default, SIMD (where present) and scalar kernels; null when all agree bit for bit.</summary>
    public static string? CompareAll(GgmlType type, byte[] blocks)
    {
        float[] native = Native(type, blocks);
        var problems = new List<string>();
        Add(FirstDifferences(type, blocks, native, Ours(type, blocks), "ours"));
        Add(FirstDifferences(type, blocks, native, Run(DequantKernels.GetScalar(type), type, blocks), "scalar"));
        if (DequantKernels.GetSimd(type) is { } simd)
        {
            Add(FirstDifferences(type, blocks, native, Run(simd, type, blocks), "simd"));
        }

        return problems.Count == 0 ? null : string.Join("\n", problems);

        void Add(string? problem)
        {
            if (problem is not null)
            {
                problems.Add(problem);
            }
        }
    }

    /// <summary>Compares every tensor of a file with ggml's decoder; returns the problems found and the types seen.</summary>
    public static (List<string> Problems, SortedSet<string> Types, int Tensors) CompareFile(string path)
    {
        var problems = new List<string>();
        var types = new SortedSet<string>(StringComparer.Ordinal);
        using var file = GgufFile.Open(path);
        foreach (GgufTensorInfo tensor in file.Tensors)
        {
            types.Add(tensor.TypeInfo.Name);
            byte[] bytes;
            using (GgufTensorData data = file.GetTensorData(tensor))
            {
                bytes = data.Bytes.ToArray();
            }

            var ours = new float[tensor.ElementCount];
            Dequantizer.Dequantize(file, tensor, ours);
            if (HasNativeReference(tensor.Type))
            {
                if (FirstDifferences(tensor.Type, bytes, Native(tensor.Type, bytes), ours, $"tensor {tensor.Name}") is { } p)
                {
                    problems.Add(p);
                }

                if (CompareAll(tensor.Type, bytes) is { } q)
                {
                    problems.Add($"{tensor.Name}: {q}");
                }
            }
            else if (tensor.Type == GgmlType.F32)
            {
                // F32 has no to_float in ggml: the values are the stored bits.
                for (int i = 0; i < ours.Length; i++)
                {
                    if (BitConverter.SingleToUInt32Bits(ours[i]) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4 * i)))
                    {
                        problems.Add($"{tensor.Name}: F32 element {i} is not the stored bits");
                        break;
                    }
                }
            }
        }

        return (problems, types, file.Tensors.Count);
    }
}
