using System.Diagnostics;
using System.Text;
using Gguf.Conformance.Native;
using Gguf.Conformance.Probe;
using Gguf.Conformance.Support;
using Gguf.Format;
using Gguf.IO;
using Gguf.Model;

namespace Gguf.Conformance.Mutation;

/// <summary>Our verdict on a file.</summary>
internal sealed record OurVerdict(Verdict Verdict, string Detail, GgufErrorCode? Code, string? Digest, bool HasEmbeddedNul = false, bool HasZeroDimensionAfterFirst = false);

/// <summary>The outcome of a campaign: how many files fell in each class, and the disagreements.</summary>
internal sealed class CampaignReport
{
    public int Files { get; set; }

    public int BothAccept { get; set; }

    public int BothReject { get; set; }

    public int LlamaCrashWeReject { get; set; }

    public int LlamaZeroDimensionCrashWeAccept { get; set; }

    public int WeStricter { get; set; }

    public int StringValueWithNul { get; set; }

    public Dictionary<string, int> StricterByRule { get; } = [];

    public Dictionary<string, int> LlamaCrashes { get; } = [];

    public List<string> Disagreements { get; } = [];

    public int ProbeStarts { get; set; }

    public TimeSpan Elapsed { get; set; }

    public TimeSpan LlamaTime { get; set; }

    public string ProbeOverhead { get; set; } = string.Empty;

    public TimeSpan OurTime { get; set; }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{Files} mutated files in {Elapsed.TotalSeconds:0.0} s ({Files / Math.Max(0.001, Elapsed.TotalSeconds):0} files/s), {ProbeStarts} llama.cpp probe processes; llama.cpp {LlamaTime.TotalSeconds:0.0} s, ours {OurTime.TotalSeconds:0.0} s; {ProbeOverhead}");
        sb.AppendLine($"  both accept (same content): {BothAccept}");
        sb.AppendLine($"  both reject: {BothReject}");
        sb.AppendLine($"  llama.cpp crashes, we reject: {LlamaCrashWeReject}");
        sb.AppendLine($"  llama.cpp crashes on a zero dimension after the first (L2, fixed upstream), we accept: {LlamaZeroDimensionCrashWeAccept}");
        foreach (var (k, v) in LlamaCrashes.OrderByDescending(kv => kv.Value))
        {
            sb.AppendLine($"      {v,6} × {k}");
        }

        sb.AppendLine($"  both accept, a string value holds a NUL (D8: llama.cpp's C API cuts it there): {StringValueWithNul}");
        sb.AppendLine($"  we reject, llama.cpp accepts (documented stricter rules): {WeStricter}");
        foreach (var (k, v) in StricterByRule.OrderByDescending(kv => kv.Value))
        {
            sb.AppendLine($"      {v,6} × {k}");
        }

        sb.AppendLine($"  disagreements: {Disagreements.Count}");
        foreach (string d in Disagreements.Take(30))
        {
            sb.AppendLine("    " + d);
        }

        return sb.ToString();
    }
}

/// <summary>
/// Issue item 4: mutates the seeds, asks llama.cpp (in the probe child process) and our reader for a verdict on
/// each file, and classifies the pair. A disagreement is: we accept what llama.cpp rejects or crashes on; we
/// reject what it accepts for a reason that is not one of our documented stricter rules; or both accept and
/// read different content.
/// </summary>
internal static class MutationCampaign
{
    /// <summary>
    /// Our stricter rules (docs/conformance.md, "Deliberate differences"): the error codes with which we may reject a
    /// file llama.cpp accepts.
    /// </summary>
    public static readonly IReadOnlyDictionary<GgufErrorCode, string> StricterRules = new Dictionary<GgufErrorCode, string>
    {
        [GgufErrorCode.InvalidBool] = "D1 bool byte other than 0/1 (G5)",
        [GgufErrorCode.InvalidName] = "D2 key or tensor name with NUL or invalid UTF-8 (G4)",
        [GgufErrorCode.ZeroDimension] = "D3 zero dimension",
        [GgufErrorCode.TensorSizeOverflow] = "D4 tensor byte size overflows (G1)",
        [GgufErrorCode.TensorDataPastEnd] = "D4 true tensor size passes the end of the file; llama.cpp's wrapped size does not (G1)",
        [GgufErrorCode.RunningSizeOverflow] = "D5 padded size wraps, tensors overlap (G2)",
        [GgufErrorCode.TensorOverlap] = "D5 padded size wraps, tensors overlap (G2)",
        [GgufErrorCode.KeyTooLong] = "D6 key longer than 65,535 bytes",
        [GgufErrorCode.AlignmentTooLarge] = "D7 alignment above 1 GiB",
        [GgufErrorCode.MetadataCountOutOfRange] = "D9 count above the configurable limit",
        [GgufErrorCode.TensorCountOutOfRange] = "D9 count above the configurable limit",
    };

    public static CampaignReport Run(int count, int seed, string workDir, string? keepDir = null)
    {
        var report = new CampaignReport();
        var clock = Stopwatch.StartNew();
        var rng = new Random(seed);
        var seeds = MutationSeeds.All;
        using var probe = new ProbeClient(spareCount: 4);
        string path = Path.Combine(workDir, "mutant.gguf");
        for (int i = 0; i < count; i++)
        {
            var baseSeed = seeds[i % seeds.Count];
            var (bytes, description) = Mutator.Mutate(baseSeed, rng);
            File.WriteAllBytes(path, bytes);
            long t0 = Stopwatch.GetTimestamp();
            var native = probe.Judge(path);
            long t1 = Stopwatch.GetTimestamp();
            var ours = JudgeOurs(path);
            report.LlamaTime += Stopwatch.GetElapsedTime(t0, t1);
            report.OurTime += Stopwatch.GetElapsedTime(t1);
            string? disagreement = Classify(native, ours, report);
            report.Files++;
            if (disagreement is not null)
            {
                string line = $"#{i} {baseSeed.Name}: {description}: {disagreement}";
                report.Disagreements.Add(line);
                if (keepDir is not null)
                {
                    Directory.CreateDirectory(keepDir);
                    File.WriteAllBytes(Path.Combine(keepDir, $"disagreement-{i}.gguf"), bytes);
                }
            }
        }

        report.ProbeStarts = probe.Starts;
        report.ProbeOverhead = $"waiting for crashed probes {probe.CrashTime.TotalSeconds:0.0} s, for replacements {probe.StartTime.TotalSeconds:0.0} s";
        report.Elapsed = clock.Elapsed;
        return report;
    }

    /// <summary>Opens the file with our library and reads every value and every tensor's bytes.</summary>
    public static OurVerdict JudgeOurs(string path)
    {
        try
        {
            using var file = GgufFile.Open(path, OurGguf.Options);
            var snapshot = OurGguf.Snapshot(file, withData: true);
            bool zeroAfterFirst = file.Tensors.Any(t => t.Dimensions.Skip(1).Contains(0));
            return new OurVerdict(Verdict.Accept, string.Empty, null, snapshot.Digest(), snapshot.HasEmbeddedNul, zeroAfterFirst);
        }
        catch (GgufFormatException e)
        {
            return new OurVerdict(Verdict.Reject, e.Message, e.Code, null);
        }
        catch (MappedFileException e)
        {
            return new OurVerdict(Verdict.Reject, e.Message, null, null);
        }
    }

    /// <summary>
    /// L2 (docs/conformance.md): this build of llama.cpp divides by a zero dimension after the first (SIGFPE); the
    /// upstream fix (#25596) accepts such zero-element tensors, as we do by default.
    /// </summary>
    public static bool IsKnownZeroDimensionCrash(VerdictResult native, OurVerdict ours) =>
        native.Verdict == Verdict.Crash && ours.Verdict == Verdict.Accept && ours.HasZeroDimensionAfterFirst;

    private static string? Classify(VerdictResult native, OurVerdict ours, CampaignReport report)
    {
        switch (native.Verdict, ours.Verdict)
        {
            case (Verdict.Accept, Verdict.Accept):
                if (native.Detail != ours.Digest)
                {
                    if (ours.HasEmbeddedNul)
                    {
                        report.StringValueWithNul++;
                        return null;
                    }

                    return "both accept but read different content";
                }

                report.BothAccept++;
                return null;
            case (Verdict.Reject, Verdict.Reject):
                report.BothReject++;
                return null;
            case (Verdict.Crash, Verdict.Reject):
                report.LlamaCrashWeReject++;
                string crash = native.Detail.Replace("/home/runner/work/LLamaSharp/LLamaSharp/", string.Empty, StringComparison.Ordinal);
                crash = crash.Length > 140 ? crash[..140] : crash;
                report.LlamaCrashes[crash] = report.LlamaCrashes.GetValueOrDefault(crash) + 1;
                return null;
            case (Verdict.Crash, Verdict.Accept) when IsKnownZeroDimensionCrash(native, ours):
                report.LlamaZeroDimensionCrashWeAccept++;
                return null;
            case (Verdict.Accept, Verdict.Reject):
                if (ours.Code is { } code && StricterRules.TryGetValue(code, out string? rule))
                {
                    report.WeStricter++;
                    report.StricterByRule[rule] = report.StricterByRule.GetValueOrDefault(rule) + 1;
                    return null;
                }

                return $"llama.cpp accepts, we reject with {ours.Code}: {ours.Detail}";
            default:
                return $"llama.cpp {native.Verdict} ({native.Detail}), we accept";
        }
    }
}
