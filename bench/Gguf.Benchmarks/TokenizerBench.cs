using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tokenization;

namespace Gguf.Benchmarks;

/// <summary>
/// The tokenizer benchmark (issue 10): for each corpus vocabulary, in one process, interleaved rounds
/// (ABAB, order flipped every round) of
/// <list type="bullet">
/// <item>encode: <see cref="GgufTokenizer.Encode(ReadOnlySpan{byte}, bool, bool)"/> against <c>llama_tokenize</c>
/// on the same UTF-8 text, single-threaded, add_special and parse_special on; MB/s of text;</item>
/// <item>construction: <see cref="GgufTokenizer.FromFile"/> on an open file against llama.cpp's vocab-only
/// model load (which parses the file itself); also ours including <see cref="GgufFile.Open"/>.</item>
/// </list>
/// Medians of the rounds; ratios of medians. Goals: encode ≥ 1.0× llama.cpp, construction ≤ 0.5×.
/// Run: <c>dotnet run -c Release --project bench/Gguf.Benchmarks -- tokenizer [--filter name] [--budget s] [--kb n] [--markdown path]</c>.
/// </summary>
public static class TokenizerBench
{
    /// <summary>Runs the benchmark; returns 0 when every goal is met, 2 otherwise.</summary>
    public static int Run(string[] args)
    {
        if (args.Length > 1 && args[0] == "scaling")
        {
            // For profilers and scaling checks: ours only, on growing texts.
            using GgufFile f = GgufFile.Open(args[1]);
            GgufTokenizer t = GgufTokenizer.FromFile(f);
            foreach (int kb in (int[])[8, 32, 128, 512])
            {
                byte[] sample = Text(kb * 1024);
                for (int rep = 0; rep < 4; rep++)
                {
                    long start = Stopwatch.GetTimestamp();
                    int n = t.Encode(sample).Length;
                    double withSpecial = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    start = Stopwatch.GetTimestamp();
                    _ = t.Encode(sample, parseSpecial: false);
                    Console.WriteLine(FormattableString.Invariant($"{kb,5} KB: {withSpecial,9:F2} ms ({Stopwatch.GetElapsedTime(start).TotalMilliseconds,9:F2} ms without parsing special tokens), {n} tokens"));
                }
            }

            return 0;
        }

        string? filter = Option(args, "--filter");
        string? markdownPath = Option(args, "--markdown");
        double budget = double.Parse(Option(args, "--budget") ?? "3", CultureInfo.InvariantCulture);
        int kilobytes = int.Parse(Option(args, "--kb") ?? "256", CultureInfo.InvariantCulture);
        if (!TokenizerLlama.IsAvailable)
        {
            Console.Error.WriteLine("llama.cpp's libraries were not found (restore the LLamaSharp.Backend.Cpu package)");
            return 1;
        }

        var inputs = BenchInputs.Corpus().Where(i => i.Name.StartsWith("ggml-vocab-", StringComparison.Ordinal)).ToList();
        if (inputs.Count == 0)
        {
            Console.Error.WriteLine("../shared/corpus is not present: the tokenizer benchmark runs on its vocabularies");
            return 1;
        }

        byte[] text = Text(kilobytes * 1024);
        Console.WriteLine($"# {Environment.MachineName}: {Environment.ProcessorCount} cores, .NET {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}");
        Console.WriteLine($"# llama.cpp: {TokenizerLlama.LibraryPath}");
        Console.WriteLine($"# text: {text.Length:N0} bytes (mixed prose, code, numbers, CJK, emoji, whitespace); load average {LoadAverage()}");
        var rows = new List<Row>();
        foreach (BenchInput input in inputs)
        {
            if (filter is not null && !input.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            Row row = Measure(input, text, budget);
            rows.Add(row);
            Console.WriteLine(FormattableString.Invariant(
                $"{row.File,-32} encode ours {row.OursMBps,7:F2} MB/s llama.cpp {row.LlamaMBps,7:F2} MB/s ratio {row.EncodeRatio,5:F2}x {(row.EncodeRatio >= 1 ? "ok" : "MISSED")} | construct ours {row.OursBuildMs,7:F2} ms (+open {row.OursOpenBuildMs,7:F2}) llama.cpp {row.LlamaLoadMs,7:F2} ms ratio {row.BuildRatio,5:F3} {(row.BuildRatio <= 0.5 ? "ok" : "MISSED")} [{row.Rounds} rounds, {row.Tokens:N0} tokens]"));
        }

        Console.WriteLine($"# load average: {LoadAverage()}");
        string markdown = Markdown(rows, text.Length);
        Console.WriteLine();
        Console.WriteLine(markdown);
        if (markdownPath is not null)
        {
            File.WriteAllText(markdownPath, markdown);
        }

        return rows.All(r => r.EncodeRatio >= 1 && r.BuildRatio <= 0.5) ? 0 : 2;
    }

    private static Row Measure(BenchInput input, byte[] text, double budgetSeconds)
    {
        PageCache.WarmHeader(input.Path);
        string path = input.Path;
        using GgufFile file = GgufFile.Open(input.Path);
        GgufTokenizer tokenizer = GgufTokenizer.FromFile(file);
        nint model = TokenizerLlama.LoadVocabOnly(path);
        if (model == 0)
        {
            throw new InvalidOperationException($"llama.cpp refused {input.Name}");
        }

        try
        {
            nint vocab = TokenizerLlama.Vocab(model);
            int[] buffer = new int[text.Length + 16];
            int expected = TokenizerLlama.Tokenize(vocab, text, buffer, true, true);
            int[] ours = tokenizer.Encode(text);
            if (expected != ours.Length || !buffer.AsSpan(0, expected).SequenceEqual(ours))
            {
                throw new InvalidOperationException($"{input.Name}: our tokens differ from llama.cpp's on the benchmark text");
            }

            Func<bool> encodeOurs = () => tokenizer.Encode(text).Length > 0;
            Func<bool> encodeLlama = () => TokenizerLlama.Tokenize(vocab, text, buffer, true, true) > 0;
            Func<bool> buildOurs = () => GgufTokenizer.FromFile(file).VocabularySize > 0;
            Func<bool> openBuildOurs = () =>
            {
                using GgufFile f = GgufFile.Open(input.Path);
                return GgufTokenizer.FromFile(f).VocabularySize > 0;
            };
            Func<bool> loadLlama = () =>
            {
                nint m = TokenizerLlama.LoadVocabOnly(path);
                TokenizerLlama.Free(m);
                return m != 0;
            };

            (List<double> encOurs, List<double> encLlama) = Interleave(encodeOurs, encodeLlama, budgetSeconds);
            (List<double> bOurs, List<double> bLlama) = Interleave(buildOurs, loadLlama, budgetSeconds);
            (List<double> obOurs, _) = Interleave(openBuildOurs, () => true, budgetSeconds / 3);
            double mb = text.Length / 1e6;
            double oursEncode = Median(encOurs), llamaEncode = Median(encLlama);
            return new Row(
                input.Name,
                mb / (oursEncode / 1e6),
                mb / (llamaEncode / 1e6),
                llamaEncode / oursEncode,
                Median(bOurs) / 1000,
                Median(obOurs) / 1000,
                Median(bLlama) / 1000,
                Median(bOurs) / Median(bLlama),
                encOurs.Count,
                expected);
        }
        finally
        {
            TokenizerLlama.Free(model);
        }
    }

    /// <summary>Warm-up, then alternating single calls (order flipped each round) until the budget is spent; microseconds.</summary>
    private static (List<double> A, List<double> B) Interleave(Func<bool> a, Func<bool> b, double budgetSeconds)
    {
        for (int i = 0; i < 3; i++)
        {
            a();
            b();
        }

        var sa = new List<double>();
        var sb = new List<double>();
        var clock = Stopwatch.StartNew();
        for (int round = 0; round < 401 && (round < 7 || clock.Elapsed.TotalSeconds < budgetSeconds); round++)
        {
            if (round % 2 == 0)
            {
                sa.Add(Time(a));
                sb.Add(Time(b));
            }
            else
            {
                sb.Add(Time(b));
                sa.Add(Time(a));
            }
        }

        return (sa, sb);
    }

    private static double Time(Func<bool> action)
    {
        long start = Stopwatch.GetTimestamp();
        if (!action())
        {
            throw new InvalidOperationException("a benchmark step failed");
        }

        return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
    }

    /// <summary>The benchmark text: mostly English prose, with code, numbers, other scripts, emoji and whitespace runs.</summary>
    public static byte[] Text(int bytes)
    {
        string[] words =
        [
            "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not", "he", "I",
            "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were", "their", "one",
            "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who", "so", "no", "model",
            "tokenizer", "vocabulary", "inference", "performance", "international", "understanding", "don't", "it's", "we'll",
        ];
        string[] extras =
        [
            "\n\n", "\n", ", ", ". ", "? ", "! ", "  ", "\t", "(see below) ", "\"quoted\" ", "3.14159 ", "2024-06-30 ", "1,234,567 ",
            "café naïve ", "Straße ", "你好，世界！", "こんにちは ", "안녕하세요 ", "Привет ", "مرحبا ", "नमस्ते ", "😀👍🏽 ", "👨‍👩‍👧 ",
            "int main() { return 0; }\n", "    if (x > 0) {\n        y += x;\n    }\n", "def f(a, b):\n\treturn a ** b\n",
        ];
        var rng = new Random(42);
        var sb = new StringBuilder();
        while (Encoding.UTF8.GetByteCount(sb.ToString()) < bytes)
        {
            for (int i = 0; i < 400; i++)
            {
                sb.Append(words[rng.Next(words.Length)]);
                sb.Append(rng.Next(8) == 0 ? extras[rng.Next(extras.Length)] : " ");
            }
        }

        byte[] utf8 = Encoding.UTF8.GetBytes(sb.ToString());
        int end = bytes;
        while (end > 0 && (utf8[end] & 0xC0) == 0x80)
        {
            end--;
        }

        return utf8[..end];
    }

    private static double Median(List<double> samples)
    {
        double[] sorted = [.. samples.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string Markdown(List<Row> rows, int textBytes)
    {
        var b = new StringBuilder();
        b.AppendLine(FormattableString.Invariant($"Encode: {textBytes:N0} bytes of text per call, add_special and parse_special on, one thread. Construction: from an open file (ours) against llama.cpp's vocab-only load."));
        b.AppendLine();
        b.AppendLine("| vocabulary | ours MB/s | llama.cpp MB/s | encode ratio (≥ 1×) | ours build ms | ours open+build ms | llama.cpp load ms | build ratio (≤ 0.5×) | rounds |");
        b.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (Row r in rows)
        {
            b.AppendLine(FormattableString.Invariant(
                $"| {r.File.Replace("ggml-vocab-", "", StringComparison.Ordinal).Replace(".gguf", "", StringComparison.Ordinal)} | {r.OursMBps:F2} | {r.LlamaMBps:F2} | {r.EncodeRatio:F2}× {(r.EncodeRatio >= 1 ? "" : "**missed**")} | {r.OursBuildMs:F2} | {r.OursOpenBuildMs:F2} | {r.LlamaLoadMs:F2} | {r.BuildRatio:F3} {(r.BuildRatio <= 0.5 ? "" : "**missed**")} | {r.Rounds} |"));
        }

        return b.ToString();
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private sealed record Row(string File, double OursMBps, double LlamaMBps, double EncodeRatio, double OursBuildMs, double OursOpenBuildMs, double LlamaLoadMs, double BuildRatio, int Rounds, int Tokens);
}
