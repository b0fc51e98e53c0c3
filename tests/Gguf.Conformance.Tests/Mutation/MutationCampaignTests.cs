using Gguf.Conformance.Native;
using Gguf.Conformance.Support;
using Gguf.Testing;

namespace Gguf.Conformance.Mutation;

/// <summary>
/// The mutation campaign. Default: 5,000 files. The long campaign:
/// <c>GGUF_CONFORMANCE_MUTATIONS=500000 dotnet test tests/Gguf.Conformance.Tests --filter FullyQualifiedName~MutationCampaignTests</c>
/// (optionally GGUF_CONFORMANCE_SEED, and GGUF_CONFORMANCE_KEEP=folder to keep disagreeing files).
/// </summary>
public sealed class MutationCampaignTests
{
    [Fact]
    public void Seeds_AreValidForBothReaders()
    {
        Requires.LlamaCpp();
        using var dir = new TempDir();
        foreach (var seed in MutationSeeds.All)
        {
            string path = dir.Write(seed.Name + ".gguf", seed.Bytes);
            var native = NativeVerdict.Judge(path);
            var ours = MutationCampaign.JudgeOurs(path);
            Assert.True(native.Verdict == Verdict.Accept, $"{seed.Name}: llama.cpp {native.Detail}");
            Assert.True(ours.Verdict == Verdict.Accept, $"{seed.Name}: ours {ours.Code} {ours.Detail}");
            Assert.Equal(native.Detail, ours.Digest);
        }
    }

    [Fact]
    public void Mutations_LlamaCppRejectsWeReject_AndNoUndocumentedDifferences()
    {
        Requires.LlamaCpp();
        int count = Campaign.EnvInt("GGUF_CONFORMANCE_MUTATIONS", 5000);
        int seed = Campaign.EnvInt("GGUF_CONFORMANCE_SEED", 20261126);
        using var dir = new TempDir("gguf-conf-mut");

        var report = MutationCampaign.Run(count, seed, dir.Path, Environment.GetEnvironmentVariable("GGUF_CONFORMANCE_KEEP"));

        TestContext.Current.TestOutputHelper?.WriteLine($"seed {seed}");
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());
        string? summary = Environment.GetEnvironmentVariable("GGUF_CONFORMANCE_REPORT");
        if (!string.IsNullOrEmpty(summary))
        {
            File.WriteAllText(summary, $"seed {seed}{Environment.NewLine}{report}");
        }

        Assert.True(report.Disagreements.Count == 0, report.ToString());
    }
}
