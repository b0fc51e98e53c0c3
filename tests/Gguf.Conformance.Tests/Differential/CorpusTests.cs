using Gguf.Conformance.Mutation;
using Gguf.Conformance.Native;
using Gguf.Conformance.Probe;
using Gguf.Conformance.Support;
using Gguf.Testing;

namespace Gguf.Conformance.Differential;

/// <summary>
/// The real files of ../shared/corpus (written by llama.cpp's converter, 100k-token arrays, and historical
/// versions): both readers give the same verdict, and where both accept, the same content.
/// </summary>
public sealed class CorpusTests
{
    [Fact]
    public void CorpusFiles_ReadIdenticallyByBothReaders()
    {
        Requires.LlamaCpp();
        string corpus = CorpusDirectory() ?? throw SkipException();
        string[] files = Directory.GetFiles(corpus, "*.gguf", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(files);

        using var probe = new ProbeClient();
        var failures = new List<string>();
        foreach (string path in files)
        {
            string name = Path.GetRelativePath(corpus, path);
            var native = probe.Judge(path);
            var ours = MutationCampaign.JudgeOurs(path);
            TestContext.Current.TestOutputHelper?.WriteLine($"{name}: llama.cpp {native.Verdict}, ours {ours.Verdict} {ours.Code}");
            if (native.Verdict == Verdict.Accept && ours.Verdict == Verdict.Accept)
            {
                var a = NativeGgufReader.TryRead(path, withData: true, out string error);
                var b = OurGguf.Read(path, withData: true);
                if (a is null || GgufSnapshot.FirstDifference(a, b) is { } difference)
                {
                    failures.Add($"{name}: {(a is null ? error : GgufSnapshot.FirstDifference(a, b))}");
                }
            }
            else if (native.Verdict != Verdict.Accept && ours.Verdict == Verdict.Accept)
            {
                failures.Add($"{name}: llama.cpp {native.Verdict} ({native.Detail}), we accept");
            }
            else if (native.Verdict == Verdict.Accept && !(ours.Code is { } code && MutationCampaign.StricterRules.ContainsKey(code)))
            {
                failures.Add($"{name}: llama.cpp accepts, we reject with {ours.Code}: {ours.Detail}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private static Exception SkipException()
    {
        Assert.Skip("../shared/corpus is not present next to the checkout; this test needs the optional shared corpus");
        return new InvalidOperationException();
    }

    /// <summary>../shared/corpus beside the repository root (the folder holding Gguf.slnx), or null.</summary>
    private static string? CorpusDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gguf.slnx")))
            {
                string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "corpus"));
                return Directory.Exists(candidate) ? candidate : null;
            }
        }

        return null;
    }
}
