using Gguf.Conformance.Mutation;
using Gguf.Conformance.Native;
using Gguf.Conformance.Probe;
using Gguf.Conformance.Support;
using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;

namespace Gguf.Conformance.Binding;

/// <summary>The child-process probe: accept, reject and crash verdicts, and recovery after a crash.</summary>
public sealed class ProbeTests
{
    [Fact]
    public void Probe_AcceptsValidAndRejectsTruncated()
    {
        Requires.LlamaCpp();
        using var dir = new TempDir();
        byte[] file = new RawGgufBuilder().KvString("general.architecture", "llama").Tensor("w", 0, [8, 2]).Build();
        using var probe = new ProbeClient();

        var ok = probe.Judge(dir.Write("ok.gguf", file));
        var cut = probe.Judge(dir.Write("cut.gguf", file[..40]));
        var outOfBounds = probe.Judge(dir.Write("oob.gguf", file[..^32]));

        Assert.Equal(Verdict.Accept, ok.Verdict);
        Assert.Equal(Verdict.Reject, cut.Verdict);
        Assert.Equal(Verdict.Reject, outOfBounds.Verdict);
        Assert.Contains("not within the file bounds", outOfBounds.Detail, StringComparison.Ordinal);
        Assert.Equal(1, probe.Starts);
    }

    /// <summary>
    /// A tensor with a zero dimension after the first: this build of llama.cpp divides by it (SIGFPE; fixed upstream
    /// by #25596, which accepts the empty tensor). We accept it by default and reject it only under the strict option.
    /// </summary>
    [Fact]
    public void Probe_ZeroDimensionAfterTheFirst_CrashesThisBuildAndWeAccept()
    {
        Requires.LlamaCpp();
        using var dir = new TempDir();
        byte[] file = new RawGgufBuilder().Tensor("w", 0, [8, 0, 2], []).Tensor("v", 0, [8]).Build();
        using var probe = new ProbeClient();
        string path = dir.Write("zero.gguf", file);
        var result = probe.Judge(path);
        TestContext.Current.TestOutputHelper?.WriteLine($"zero dimension: {result}");
        Assert.NotEqual(Verdict.Accept, result.Verdict);
        OurVerdict ours = MutationCampaign.JudgeOurs(path);
        Assert.Equal(Verdict.Accept, ours.Verdict);
        Assert.True(ours.HasZeroDimensionAfterFirst);
        var strict = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path, new GgufReaderOptions { AllowZeroDimensions = false }).Dispose());
        Assert.Equal(GgufErrorCode.ZeroDimension, strict.Code);
    }

    /// <summary>general.alignment stored as INT32: llama.cpp asserted on this before it became a rejection.</summary>
    [Fact]
    public void Probe_Int32Alignment_IsNotAccepted()
    {
        Requires.LlamaCpp();
        using var dir = new TempDir();
        byte[] file = new RawGgufBuilder().Kv(Kv.I32("general.alignment", 32)).Tensor("w", 0, [8]).Build();
        using var probe = new ProbeClient();
        string path = dir.Write("i32align.gguf", file);
        var result = probe.Judge(path);
        TestContext.Current.TestOutputHelper?.WriteLine($"i32 alignment: {result}");
        Assert.NotEqual(Verdict.Accept, result.Verdict);
        Assert.Equal(Verdict.Reject, MutationCampaign.JudgeOurs(path).Verdict);
    }

    [Fact]
    public void Probe_ReportsANativeAbortAsCrash_AndRecovers()
    {
        Requires.LlamaCpp();
        using var dir = new TempDir();
        using var probe = new ProbeClient();
        string ok = dir.Write("ok.gguf", new RawGgufBuilder().KvString("k", "v").Build());

        var crash = probe.Abort();
        var after = probe.Judge(ok);

        TestContext.Current.TestOutputHelper?.WriteLine($"abort: {crash}");
        Assert.Equal(Verdict.Crash, crash.Verdict);
        Assert.Equal(Verdict.Accept, after.Verdict);
        Assert.Equal(2, probe.Starts);
    }
}
