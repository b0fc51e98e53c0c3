using Gguf.Conformance.Mutation;
using Gguf.Conformance.Native;
using Gguf.Conformance.Probe;
using Gguf.Conformance.Support;
using Gguf.Testing;

namespace Gguf.Conformance.Differential;

/// <summary>
/// Hand-made inputs for each malformed-input class of the reference notes, judged by both readers:
/// whatever llama.cpp rejects (or crashes on), we reject; where llama.cpp accepts and we reject, the reason is
/// one of our documented stricter rules.
/// </summary>
public sealed class KnownInputTests(ProbeFixture fixture) : IClassFixture<ProbeFixture>
{
    public static TheoryData<string> Cases => new(KnownInputs.All.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void KnownInput_VerdictsAgreeOrDifferByADocumentedRule(string name)
    {
        Requires.LlamaCpp();
        using var dir = new TempDir();
        var probe = fixture.Probe;
        string path = dir.Write(name + ".gguf", KnownInputs.All[name]());

        var native = probe.Judge(path);
        var ours = MutationCampaign.JudgeOurs(path);

        TestContext.Current.TestOutputHelper?.WriteLine($"llama.cpp: {native.Verdict} {native.Detail}");
        TestContext.Current.TestOutputHelper?.WriteLine($"ours: {ours.Verdict} {ours.Code} {ours.Detail}");
        if (MutationCampaign.IsKnownZeroDimensionCrash(native, ours))
        {
            // L2: an empty tensor this build divides by; upstream accepts it since #25596, as we do.
            return;
        }

        if (native.Verdict != Verdict.Accept)
        {
            Assert.True(ours.Verdict == Verdict.Reject, $"llama.cpp {native.Verdict}s ({native.Detail}) but we accept");
        }
        else if (ours.Verdict == Verdict.Reject)
        {
            Assert.True(ours.Code is { } code && MutationCampaign.StricterRules.ContainsKey(code), $"we reject with {ours.Code}, not a documented stricter rule");
        }
        else if (!ours.HasEmbeddedNul)
        {
            // (With a NUL inside a string value, llama.cpp's C API returns only the part before it: D8.)
            Assert.Equal(native.Detail, ours.Digest);
        }
    }
}

/// <summary>The hand-made inputs, by name.</summary>
internal static class KnownInputs
{
    public static readonly Dictionary<string, Func<byte[]>> All = new()
    {
        ["nested-array-empty"] = () => new RawGgufBuilder().Kv("a", 9, [9, 0, 0, 0, .. new byte[8]]).Build(),
        ["nested-array-of-u8"] = () => new RawGgufBuilder().Kv("a", 9, [9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, /* inner */ 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7, 8]).Build(),
        ["bool-2"] = () => new RawGgufBuilder().Kv("b", 7, [2]).Build(),
        ["key-with-nul"] = () => new RawGgufBuilder().Kv("a\0x"u8, 4, [1, 0, 0, 0]).Build(),
        ["duplicate-key"] = () => new RawGgufBuilder().KvU32("k", 1).KvU32("k", 2).Build(),
        ["empty-key"] = () => new RawGgufBuilder().KvU32("", 1).Build(),
        ["alignment-i32"] = () => new RawGgufBuilder().Kv(Kv.I32("general.alignment", 32)).Tensor("w", 0, [8]).Build(),
        ["alignment-3"] = () => new RawGgufBuilder().KvU32("general.alignment", 3).Build(),
        ["alignment-0"] = () => new RawGgufBuilder().KvU32("general.alignment", 0).Build(),
        ["alignment-1"] = () => new RawGgufBuilder { Alignment = 1 }.KvU32("general.alignment", 1).Tensor("w", 30, [3]).Tensor("v", 24, [5]).Build(),
        ["version-1"] = () => new RawGgufBuilder { Version = 1 }.Build(),
        ["version-2"] = () => new RawGgufBuilder { Version = 2 }.KvU32("k", 1).Build(),
        ["version-big-endian"] = () => new RawGgufBuilder { Version = 0x03000000 }.Build(),
        ["zero-dim-first"] = () => new RawGgufBuilder().Tensor("w", 0, [0, 4], []).Build(),
        ["zero-dim-after-first"] = () => new RawGgufBuilder().Tensor("w", 0, [8, 0], []).Tensor("v", 0, [8]).Build(),
        ["negative-dim"] = () => new RawGgufBuilder().Tensor("w", 0, [-8, 1], []).Build(),
        ["five-dims"] = () => new RawGgufBuilder().Tensor("w", 0, [1, 1, 1, 1, 8], new byte[32]).Build(),
        ["removed-type-4"] = () => new RawGgufBuilder().Tensor("w", 4, [32], new byte[32]).Build(),
        ["type-43"] = () => new RawGgufBuilder().Tensor("w", 43, [32], new byte[32]).Build(),
        ["not-block-multiple"] = () => new RawGgufBuilder().Tensor("w", 2, [33], new byte[64]).Build(),
        ["name-63"] = () => new RawGgufBuilder().Tensor(new string('n', 63), 0, [1]).Build(),
        ["name-64"] = () => new RawGgufBuilder().Tensor(new string('n', 64), 0, [1]).Build(),
        ["duplicate-tensor"] = () => new RawGgufBuilder().Tensor("w", 0, [8]).Tensor("w", 0, [8]).Build(),
        ["offset-not-packed"] = () => new RawGgufBuilder().Tensor("w", 0, [8]).Tensor("v", 0, [8], offset: 64).Build(),
        ["data-past-end"] = () => new RawGgufBuilder().Tensor("w", 0, [8]).Build()[..^16],
        ["g1-nbytes-wrap"] = () => new RawGgufBuilder().Tensor("w", 2, [(long)(32 * ((ulong.MaxValue / 18 / 32) + 1))], new byte[32]).Build(),
        ["g2-pad-wrap"] = () => new RawGgufBuilder().Tensor("w", 0, [(long)(ulong.MaxValue / 4)], new byte[32]).Tensor("v", 0, [8], offset: 0).Build(),
        ["element-count-overflow"] = () => new RawGgufBuilder().Tensor("w", 0, [1L << 32, 1L << 32], new byte[32]).Build(),
        ["kv-count-huge"] = () => new RawGgufBuilder { KvCountOverride = 1L << 40 }.KvU32("k", 1).Build(),
        ["tensor-count-negative"] = () => new RawGgufBuilder { TensorCountOverride = -1 }.Build(),
        ["string-longer-than-file"] = () => new RawGgufBuilder().Kv("s", 8, [0xFF, 0xFF, 0, 0, 0, 0, 0, 0, (byte)'x']).Build(),
        ["array-count-huge"] = () => new RawGgufBuilder().Kv("a", 9, [4, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0]).Build(),
        ["value-type-13"] = () => new RawGgufBuilder().Kv("a", 13, [0]).Build(),
        ["value-type-negative"] = () => new RawGgufBuilder().Kv("a", -1, [0]).Build(),
        ["string-value-with-nul"] = () => new RawGgufBuilder().Kv("s", 8, [3, 0, 0, 0, 0, 0, 0, 0, (byte)'a', 0, (byte)'b']).Build(),
        ["no-tensors-no-padding"] = () => new RawGgufBuilder().KvString("general.architecture", "x").Build(),
    };
}
