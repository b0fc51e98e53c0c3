using System.Runtime.InteropServices;
using Gguf.Format;
using Gguf.Loading;
using Gguf.Model;
using Gguf.Writing;

namespace Gguf.Cli.Commands;

/// <summary><c>gguf bench load --create-size</c>: a synthetic model to benchmark loads with.</summary>
internal static class SyntheticModel
{
    /// <summary>
    /// A llama-shaped model of about <paramref name="bytes"/> bytes (F16 matrices of a 4096-wide model, F32 norms;
    /// 512 wide under 1 GiB) with pseudo-random contents, streamed to disk. The smallest has one layer.
    /// </summary>
    public static void Write(string path, long bytes)
    {
        bool small = bytes < 1L << 30;
        long width = small ? 512 : 4096;
        long ffn = small ? 1376 : 11008;
        long vocab = small ? 4000 : 32000;
        var writer = new GgufWriter();
        writer.AddMetadata(GgufKeys.Architecture, GgufValue.String("llama"));
        writer.AddMetadata(GgufKeys.Name, GgufValue.String($"synthetic {ByteSize.Format(bytes)} benchmark model"));
        ulong seed = 0x9E37_79B9_7F4A_7C15;
        long total = 0;
        void Add(string name, GgmlType type, long[] shape)
        {
            GgmlTypeInfo.Get(type).TryGetByteSize(shape, out long size);
            total += size;
            ulong tensorSeed = seed += 0x9E37_79B9_7F4A_7C15;
            writer.AddTensor(name, type, shape, output => WriteRandom(output, size, tensorSeed));
        }

        long embedding = width * vocab * 2;
        Add("token_embd.weight", GgmlType.F16, [width, vocab]);
        long perLayer = (4 * width * width * 2) + (3 * width * ffn * 2);
        for (int layer = 0; total + embedding + perLayer <= bytes || layer == 0; layer++)
        {
            Add($"blk.{layer}.attn_norm.weight", GgmlType.F32, [width]);
            Add($"blk.{layer}.attn_q.weight", GgmlType.F16, [width, width]);
            Add($"blk.{layer}.attn_k.weight", GgmlType.F16, [width, width]);
            Add($"blk.{layer}.attn_v.weight", GgmlType.F16, [width, width]);
            Add($"blk.{layer}.attn_output.weight", GgmlType.F16, [width, width]);
            Add($"blk.{layer}.ffn_norm.weight", GgmlType.F32, [width]);
            Add($"blk.{layer}.ffn_gate.weight", GgmlType.F16, [width, ffn]);
            Add($"blk.{layer}.ffn_up.weight", GgmlType.F16, [width, ffn]);
            Add($"blk.{layer}.ffn_down.weight", GgmlType.F16, [ffn, width]);
        }

        // Fill up to the requested size with one more matrix, then the output layers.
        long rest = bytes - total - embedding - (width * 4);
        if (rest >= width * 2 * 16)
        {
            Add("blk.extra.weight", GgmlType.F16, [width, rest / (width * 2)]);
        }

        Add("output_norm.weight", GgmlType.F32, [width]);
        Add("output.weight", GgmlType.F16, [width, vocab]);
        string temporary = path + ".partial";
        writer.WriteTo(temporary);
        File.Move(temporary, path, overwrite: true);
    }

    private static void WriteRandom(Stream output, long size, ulong state)
    {
        byte[] buffer = new byte[1 << 20];
        Span<ulong> words = MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan());
        for (long left = size; left > 0;)
        {
            for (int i = 0; i < words.Length; i++)
            {
                // xorshift64: fast, and incompressible enough that nothing shortcuts the copies.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                words[i] = state;
            }

            int n = (int)Math.Min(buffer.Length, left);
            output.Write(buffer, 0, n);
            left -= n;
        }
    }
}
