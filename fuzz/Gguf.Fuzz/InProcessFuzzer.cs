using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Gguf.Testing;

namespace Gguf.Fuzz;

/// <summary>
/// A coverage-less mutation fuzzer that runs the oracle in this process: the fallback when libFuzzer or the
/// SharpFuzz instrumentation is not available, and a second opinion with GGUF-aware mutations (lengths,
/// counts and type ids replaced by boundary values). A watchdog thread turns an input that runs longer
/// than the timeout into a hang finding.
/// </summary>
internal static class InProcessFuzzer
{
    private static readonly ulong[] Interesting =
    [
        0, 1, 2, 3, 4, 7, 8, 9, 12, 13, 16, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 4096, 65535, 65536,
        0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, (1UL << 30) - 1, 1UL << 30, (1UL << 30) + 1,
        0x3FFF_FFFF_FFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF,
        0xFFFF_FFFF_FFFF_FFFE, 1UL << 61, 1UL << 62, 0x0400_0000_0000_0001,
    ];

    private static long s_started;
    private static byte[]? s_current;

    public static int Run(string[] args)
    {
        double seconds = double.Parse(Option(args, "--seconds") ?? "60", System.Globalization.CultureInfo.InvariantCulture);
        string seedDir = Option(args, "--seeds") ?? throw new ArgumentException("--seeds DIR is required");
        string findings = Option(args, "--findings") ?? "fuzz-findings";
        int timeoutMs = int.Parse(Option(args, "--timeout-ms") ?? "10000", System.Globalization.CultureInfo.InvariantCulture);
        int maxLen = int.Parse(Option(args, "--max-len") ?? "65536", System.Globalization.CultureInfo.InvariantCulture);
        int seed = int.Parse(Option(args, "--seed") ?? Environment.TickCount.ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
        bool mapped = Option(args, "--no-mapped") is null && !args.Contains("--no-mapped");

        List<byte[]> seeds = [.. Directory.EnumerateFiles(seedDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).Where(s => s.Length <= maxLen)];
        if (seeds.Count == 0)
        {
            Console.Error.WriteLine($"no seeds of at most {maxLen} bytes in {seedDir}");
            return 2;
        }

        Directory.CreateDirectory(findings);
        string scratch = mapped ? Program.ScratchPath() : null!;
        var random = new Random(seed);
        StartWatchdog(timeoutMs, findings);

        var clock = Stopwatch.StartNew();
        long execs = 0;
        long nextReport = 10;
        int found = 0;
        Console.WriteLine($"inproc: {seeds.Count} seeds, {seconds} s, random seed {seed}, mapped path {(mapped ? "on" : "off")}");
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            byte[] input = Mutate(seeds, random, maxLen);
            Volatile.Write(ref s_current, input);
            Volatile.Write(ref s_started, Stopwatch.GetTimestamp());
            try
            {
                FuzzOracle.Check(input, mapped && (execs & 3) == 0 ? scratch : null);
            }
            catch (Exception e)
            {
                found++;
                string path = Save(findings, "crash", input);
                Console.Error.WriteLine($"FINDING {path}: {e}");
                if (found >= 10)
                {
                    break;
                }
            }

            Volatile.Write(ref s_started, 0);
            execs++;
            if (clock.Elapsed.TotalSeconds >= nextReport)
            {
                Console.WriteLine($"inproc: {execs} execs, {execs / clock.Elapsed.TotalSeconds:F0}/s, {found} findings");
                nextReport += 10;
            }
        }

        if (mapped)
        {
            File.Delete(scratch);
        }

        Console.WriteLine($"inproc done: {execs} execs in {clock.Elapsed.TotalSeconds:F0} s ({execs / clock.Elapsed.TotalSeconds:F0}/s), {found} findings");
        return found == 0 ? 0 : 1;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string Save(string dir, string kind, byte[] input)
    {
        string path = Path.Combine(dir, $"{kind}-{Convert.ToHexStringLower(SHA256.HashData(input).AsSpan(0, 10))}");
        File.WriteAllBytes(path, input);
        return path;
    }

    private static void StartWatchdog(int timeoutMs, string findings)
    {
        var thread = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(Math.Min(timeoutMs / 4, 1000));
                long started = Volatile.Read(ref s_started);
                if (started != 0 && Stopwatch.GetElapsedTime(started).TotalMilliseconds > timeoutMs)
                {
                    string path = Save(findings, "hang", Volatile.Read(ref s_current)!);
                    Console.Error.WriteLine($"FINDING {path}: an input ran longer than {timeoutMs} ms");
                    Environment.Exit(3);
                }
            }
        })
        { IsBackground = true, Name = "fuzz watchdog" };
        thread.Start();
    }

    /// <summary>One to eight stacked mutations of a seed, or a splice of two.</summary>
    internal static byte[] Mutate(List<byte[]> seeds, Random random, int maxLen)
    {
        var data = new List<byte>(seeds[random.Next(seeds.Count)]);
        int rounds = 1 << random.Next(4);
        for (int r = 0; r < rounds; r++)
        {
            int n = data.Count;
            switch (random.Next(10))
            {
                case 0 when n > 0:
                    data[random.Next(n)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when n > 0:
                    data[random.Next(n)] = (byte)random.Next(256);
                    break;
                case 2 when n >= 8:
                case 3 when n >= 8:
                    {
                        // Boundary value at a random position, 4 or 8 bytes wide.
                        int width = random.Next(2) == 0 ? 4 : 8;
                        int at = random.Next(n - width + 1);
                        ulong v = Interesting[random.Next(Interesting.Length)];
                        if (random.Next(4) == 0)
                        {
                            v += (ulong)(random.Next(5) - 2);
                        }

                        Span<byte> bytes = stackalloc byte[8];
                        BinaryPrimitives.WriteUInt64LittleEndian(bytes, v);
                        for (int i = 0; i < width; i++)
                        {
                            data[at + i] = bytes[i];
                        }

                        break;
                    }

                case 4 when n >= 8:
                    {
                        // GGUF-aware: find a small u64 (a length or count) and nudge or replace it.
                        int start = random.Next(n - 7);
                        for (int at = start; at + 8 <= n; at++)
                        {
                            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(data).Slice(at, 8));
                            if (v is > 0 and < 1 << 20)
                            {
                                ulong nv = random.Next(3) switch
                                {
                                    0 => v + (ulong)random.Next(1, 64),
                                    1 => v - (ulong)random.Next(1, (int)Math.Min(v, 64) + 1),
                                    _ => Interesting[random.Next(Interesting.Length)],
                                };
                                Span<byte> bytes = stackalloc byte[8];
                                BinaryPrimitives.WriteUInt64LittleEndian(bytes, nv);
                                for (int i = 0; i < 8; i++)
                                {
                                    data[at + i] = bytes[i];
                                }

                                break;
                            }
                        }

                        break;
                    }

                case 5 when n > 0:
                    {
                        int at = random.Next(n);
                        data.RemoveRange(at, Math.Min(random.Next(1, 64), n - at));
                        break;
                    }

                case 6 when n > 0:
                    {
                        // Duplicate a range (repeated KVs, tensor infos).
                        int at = random.Next(n);
                        int len = Math.Min(random.Next(1, 256), n - at);
                        data.InsertRange(random.Next(n + 1), data.GetRange(at, len));
                        break;
                    }

                case 7:
                    {
                        byte[] extra = new byte[random.Next(1, 32)];
                        random.NextBytes(extra);
                        data.InsertRange(random.Next(n + 1), extra);
                        break;
                    }

                case 8 when n > 0:
                    {
                        // Truncate.
                        int cut = random.Next(n);
                        data.RemoveRange(cut, n - cut);
                        break;
                    }

                case 9:
                    {
                        // Splice: the head of this input and the tail of another seed.
                        byte[] other = seeds[random.Next(seeds.Count)];
                        int head = random.Next(n + 1);
                        int tail = random.Next(other.Length + 1);
                        data.RemoveRange(head, n - head);
                        data.AddRange(other.AsSpan(tail).ToArray());
                        break;
                    }
            }
        }

        if (data.Count > maxLen)
        {
            data.RemoveRange(maxLen, data.Count - maxLen);
        }

        return [.. data];
    }
}
