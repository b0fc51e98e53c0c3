using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Gguf.Format;
using Gguf.Model;
using Gguf.Quantization;
using Gguf.Writing;

namespace Gguf.Benchmarks;

/// <summary>
/// <c>dequant</c>: our decoder against ggml's <c>to_float</c>, one row per type, in one process. Each type
/// decodes a tensor of <c>--elements</c> values (8 Mi by default: 32 MiB of floats, far beyond L2) from
/// random blocks whose scales are ordinary normal numbers; ours and ggml's alternate (the order flipped
/// every round) and the medians are compared. <c>--mt</c> adds the multi-threaded run: a 1 GiB-output
/// tensor in a GGUF file, decoded through the mapping with <c>--threads</c> threads, against memcpy of
/// 1 GiB measured in the same run. <c>--write-model PATH</c> writes a file with one such tensor per type
/// instead, for <c>gguf bench dequant</c>.
/// </summary>
public static unsafe class DequantRunner
{
    /// <summary>Runs with command-line options; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        string? filter = Option(args, "--filter");
        int elements = int.Parse(Option(args, "--elements") ?? (8 << 20).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        int rounds = int.Parse(Option(args, "--rounds") ?? "9", CultureInfo.InvariantCulture);
        int threads = int.Parse(Option(args, "--threads") ?? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        bool mt = args.Contains("--mt");
        bool mtOnly = args.Contains("--mt-only");

        if (Option(args, "--write-model") is { } modelPath)
        {
            WriteModel(modelPath, elements);
            return 0;
        }

        if (!DequantGgml.IsAvailable)
        {
            Console.Error.WriteLine("llama.cpp's libggml-base.so was not found (restore the LLamaSharp.Backend.Cpu package)");
            return 1;
        }

        Console.WriteLine($"# {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {CpuModel()}");
        Console.WriteLine($"# ggml: {DequantGgml.LibraryPath}");
        Console.WriteLine($"# SIMD: {(System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "AVX-512" : System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "AVX2" : "none (scalar kernels)")}; load average before: {LoadAverage()}");
        if (!mtOnly)
        {
            Console.WriteLine(FormattableString.Invariant($"# {elements:N0} elements per type ({elements * 4L >> 20} MiB of floats), {rounds} rounds, medians"));
            Console.WriteLine("| type | ours ns/elem | ggml ns/elem | ratio of medians (ggml/ours) | ratio of minimums | ours GB/s out |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            float[] output = new float[elements];
            float[] reference = new float[elements];
            foreach (GgmlTypeInfo info in GgmlTypeInfo.All)
            {
                if (filter is not null && !info.Name.Equals(filter, StringComparison.OrdinalIgnoreCase) && !info.Type.ToString().Equals(filter, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                MeasureType(info, elements, rounds, output, reference);
            }

            Console.WriteLine($"# load average after: {LoadAverage()}");
        }

        if (mt || mtOnly)
        {
            MeasureParallel(threads, Math.Max(5, rounds / 2));
        }

        return 0;
    }

    private static void MeasureType(GgmlTypeInfo info, int elements, int rounds, float[] output, float[] reference)
    {
        int n = elements / info.BlockSize * info.BlockSize;
        byte[] blocks = Blocks(info, n / info.BlockSize, seed: (int)info.Type + 1);
        var toFloat = DequantGgml.ToFloat((int)info.Type);
        var ours = new double[rounds];
        var ggml = new double[rounds];

        // Timed runs of both write the same array (same alignment, same pages); the check uses a second one.
        void RunOurs() => Dequantizer.Dequantize(info.Type, blocks, output.AsSpan(0, n));
        void RunGgmlInto(float[] target)
        {
            fixed (byte* x = blocks)
            fixed (float* y = target)
            {
                toFloat(x, y, n);
            }
        }

        void RunGgml() => RunGgmlInto(output);

        RunOurs();
        if (toFloat != null)
        {
            RunGgmlInto(reference);
            if (!output.AsSpan(0, n).SequenceEqual(reference.AsSpan(0, n)) && !BitsEqual(output, reference, n))
            {
                Console.WriteLine($"| {info.Name} | MISMATCH with ggml | | | | |");
                return;
            }
        }

        for (int r = 0; r < rounds; r++)
        {
            bool oursFirst = r % 2 == 0;
            if (toFloat != null && !oursFirst)
            {
                ggml[r] = Time(RunGgml);
            }

            ours[r] = Time(RunOurs);
            if (toFloat != null && oursFirst)
            {
                ggml[r] = Time(RunGgml);
            }
        }

        double oursNs = Median(ours) * 1e9 / n;
        string ggmlNs = toFloat != null ? (Median(ggml) * 1e9 / n).ToString("F3", CultureInfo.InvariantCulture) : "— (no to_float)";
        string ratio = toFloat != null ? (Median(ggml) / Median(ours)).ToString("F2", CultureInfo.InvariantCulture) : "—";
        string minRatio = toFloat != null ? (ggml.Min() / ours.Min()).ToString("F2", CultureInfo.InvariantCulture) : "—";
        Console.WriteLine(FormattableString.Invariant($"| {info.Name} | {oursNs:F3} | {ggmlNs} | {ratio} | {minRatio} | {4.0 / oursNs:F1} |"));
    }

    /// <summary>A GGUF file with one tensor of <paramref name="elements"/> values per type, for <c>gguf bench dequant</c>.</summary>
    private static void WriteModel(string path, int elements)
    {
        var writer = new GgufWriter();
        writer.AddMetadata("general.architecture", GgufValue.String("bench"));
        foreach (GgmlTypeInfo info in GgmlTypeInfo.All)
        {
            long rowLength = Math.Max(info.BlockSize, 4096 / info.BlockSize * info.BlockSize);
            long rows = Math.Max(1, elements / rowLength);
            writer.AddTensor($"t.{info.Name}", info.Type, [rowLength, rows], Blocks(info, (int)(rowLength * rows / info.BlockSize), seed: (int)info.Type));
        }

        writer.WriteTo(path);
        Console.WriteLine($"wrote {path}: {GgmlTypeInfo.All.Count()} tensors of about {elements:N0} elements");
    }

    private static bool BitsEqual(float[] a, float[] b, int n) =>
        MemoryMarshal.AsBytes(a.AsSpan(0, n)).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan(0, n)));

    /// <summary>
    /// A 1 GiB-output Q4_K tensor (256 Mi elements, 144 MiB of blocks) in a GGUF file, decoded through the
    /// mapping by <paramref name="threads"/> threads, against memcpy of 1 GiB (Buffer.MemoryCopy, one thread,
    /// and <paramref name="threads"/> threads over halves).
    /// </summary>
    private static void MeasureParallel(int threads, int rounds)
    {
        const long Elements = 256L << 20;
        GgmlTypeInfo info = GgmlTypeInfo.Get(GgmlType.Q4_K);
        string path = Path.Combine(Path.GetTempPath(), $"gguf-dequant-bench-{Environment.ProcessId}.gguf");
        try
        {
            long blockCount = Elements / info.BlockSize;
            var writer = new GgufWriter();
            writer.AddMetadata("general.architecture", GgufValue.String("bench"));
            writer.AddTensor("big", GgmlType.Q4_K, [4096, Elements / 4096], stream =>
            {
                const int Chunk = 4096;
                for (long b = 0; b < blockCount; b += Chunk)
                {
                    stream.Write(Blocks(info, (int)Math.Min(Chunk, blockCount - b), seed: (int)(b / Chunk)));
                }
            });
            writer.WriteTo(path);

            using GgufFile file = GgufFile.Open(path);
            GgufTensorInfo tensor = file.GetTensor("big");
            float[] output = GC.AllocateUninitializedArray<float>((int)Elements, pinned: true);
            byte[] copyFrom = GC.AllocateUninitializedArray<byte>(1 << 30, pinned: true);
            byte[] copyTo = GC.AllocateUninitializedArray<byte>(1 << 30, pinned: true);
            copyFrom.AsSpan().Fill(1);
            copyTo.AsSpan().Fill(2);

            Dequantizer.Dequantize(file, tensor, output, threads); // warm: page cache and page faults
            var one = new double[rounds];
            var many = new double[rounds];
            var copy1 = new double[rounds];
            var copyN = new double[rounds];
            for (int r = 0; r < rounds; r++)
            {
                copy1[r] = Time(() => Copy(copyFrom, copyTo, 1));
                copyN[r] = Time(() => Copy(copyFrom, copyTo, threads));
                many[r] = Time(() => Dequantizer.Dequantize(file, tensor, output, threads));
                one[r] = Time(() => Dequantizer.Dequantize(file, tensor, output, 1));
            }

            double gib = 1 << 30;
            double copyBandwidth = gib / Median(copyN);
            Console.WriteLine();
            Console.WriteLine(FormattableString.Invariant($"# multi-threaded: q4_K tensor of {Elements:N0} elements (1 GiB of floats out, {tensor.ByteSize >> 20} MiB in), {rounds} rounds, medians; load average {LoadAverage()}"));
            Console.WriteLine("| run | median ms | GiB/s written | vs memcpy (threads) |");
            Console.WriteLine("|---|---:|---:|---:|");
            Console.WriteLine(FormattableString.Invariant($"| memcpy 1 GiB, 1 thread | {Median(copy1) * 1e3:F1} | {gib / Median(copy1) / gib:F2} | |"));
            Console.WriteLine(FormattableString.Invariant($"| memcpy 1 GiB, {threads} threads | {Median(copyN) * 1e3:F1} | {copyBandwidth / gib:F2} | 1.00 |"));
            Console.WriteLine(FormattableString.Invariant($"| dequantize, 1 thread | {Median(one) * 1e3:F1} | {gib / Median(one) / gib:F2} | {gib / Median(one) / copyBandwidth:F2} |"));
            Console.WriteLine(FormattableString.Invariant($"| dequantize, {threads} threads | {Median(many) * 1e3:F1} | {gib / Median(many) / gib:F2} | {gib / Median(many) / copyBandwidth:F2} |"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void Copy(byte[] from, byte[] to, int threads)
    {
        int part = from.Length / threads;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            fixed (byte* source = &from[t * part])
            fixed (byte* destination = &to[t * part])
            {
                Buffer.MemoryCopy(source, destination, part, part);
            }
        });
    }

    /// <summary>
    /// Random blocks whose scale fields are ordinary normal numbers (no NaN, infinity or subnormal: those are
    /// the tests' business, and subnormal arithmetic would time something else).
    /// </summary>
    internal static byte[] Blocks(GgmlTypeInfo info, int count, int seed)
    {
        var rng = new Random(seed);
        var bytes = new byte[count * info.BytesPerBlock];
        rng.NextBytes(bytes);
        for (int b = 0; b < count; b++)
        {
            Span<byte> block = bytes.AsSpan(b * info.BytesPerBlock, info.BytesPerBlock);
            switch (info.Type)
            {
                case GgmlType.F16:
                    BinaryPrimitives.WriteUInt16LittleEndian(block, (ushort)(0x2000 + rng.Next(0x3000) | (rng.Next(2) << 15)));
                    break;
                case GgmlType.BF16:
                    BinaryPrimitives.WriteUInt16LittleEndian(block, (ushort)(0x3C00 + rng.Next(0x0800) | (rng.Next(2) << 15)));
                    break;
                case GgmlType.F32:
                    BinaryPrimitives.WriteSingleLittleEndian(block, (float)(rng.NextDouble() - 0.5));
                    break;
                case GgmlType.F64:
                    BinaryPrimitives.WriteDoubleLittleEndian(block, rng.NextDouble() - 0.5);
                    break;
                case GgmlType.Q8_K:
                    BinaryPrimitives.WriteSingleLittleEndian(block, 0.001f + (float)rng.NextDouble() * 0.01f);
                    break;
                case GgmlType.MXFP4:
                    block[0] = (byte)rng.Next(110, 130);
                    break;
                case GgmlType.NVFP4:
                    for (int s = 0; s < 4; s++)
                    {
                        block[s] = (byte)rng.Next(0x08, 0x70);
                    }

                    break;
                case GgmlType.IQ1_M:
                    for (int k = 0; k < 4; k++)
                    {
                        int half = 0x1C00 + rng.Next(0x0800);
                        ushort word = BinaryPrimitives.ReadUInt16LittleEndian(block[(48 + (2 * k))..]);
                        BinaryPrimitives.WriteUInt16LittleEndian(block[(48 + (2 * k))..], (ushort)((word & 0x0FFF) | (((half >> (4 * k)) & 0xF) << 12)));
                    }

                    break;
                default:
                    foreach (int offset in HalfScaleOffsets(info.Type))
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(block[offset..], (ushort)(0x1C00 + rng.Next(0x0800)));
                    }

                    break;
            }
        }

        return bytes;
    }

    private static int[] HalfScaleOffsets(GgmlType type) => type switch
    {
        GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q8_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
        GgmlType.Q2_K => [80, 82],
        GgmlType.Q3_K => [108],
        GgmlType.Q6_K => [208],
        GgmlType.TQ1_0 => [52],
        GgmlType.TQ2_0 => [64],
        GgmlType.I8 or GgmlType.I16 or GgmlType.I32 or GgmlType.I64 => [],
        _ => [0],
    };

    private static double Time(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency; // not TimeSpan: its 100 ns ticks would floor short decodes to 0
    }

    private static double Median(double[] values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string CpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
            : "?";
}
