using Gguf.Architectures;
using Gguf.Conformance.Native;
using Gguf.Conformance.Probe;
using Gguf.Conformance.Support;
using Gguf.Format;
using Gguf.LlamaCpp;
using Gguf.Model;
using Gguf.Testing;

namespace Gguf.Conformance.Architectures;

/// <summary>A file to judge, with the key or tensor our message must name when both sides reject it.</summary>
internal sealed record Mutant(string Label, ArchModel Model, string? Subject);

/// <summary>
/// Issue 12, item 3: on tiny models of every architecture (written by our writer, quantized by llama.cpp) and on mutants
/// of them, <see cref="ArchitectureCheck"/> accepts exactly the files <c>llama_model_load_from_file</c> loads (run in the
/// probe child), and names the tensor or key. Set <c>GGUF_ARCH_CAMPAIGN=1</c> for every tensor dropped, reshaped and
/// added and every key removed or retyped.
/// </summary>
public sealed class ArchitectureConformanceTests(ProbeFixture fixture) : IClassFixture<ProbeFixture>, IDisposable
{
    private readonly TempDirectory dir = new("gguf-arch");

    [Theory]
    [MemberData(nameof(ArchModels.NameData), MemberType = typeof(ArchModels))]
    public void TinyModel_PassesOurCheck_AndLlamaCppLoadsAndRunsIt(string name)
    {
        string path = ArchModels.Build(name).Write(dir.File(name + ".gguf"));
        string quantized = dir.File(name + "-q8_0.gguf");
        LlamaRunner.Quantize(path, quantized, LlamaFtype.MOSTLY_Q8_0);

        foreach (string file in new[] { path, quantized })
        {
            using (GgufFile gguf = GgufFile.Open(file, OurGguf.Options))
            {
                ArchitectureReport report = ArchitectureCheck.Run(gguf);
                Assert.True(report.IsValid, $"{Path.GetFileName(file)}: {string.Join("; ", report.Problems)}");
                Assert.Equal(ArchitectureNames.Parse(gguf.Architecture), report.Kind);
            }

            VerdictResult run = fixture.Probe.Request("arch-run", file);
            TestContext.Current.TestOutputHelper?.WriteLine($"{Path.GetFileName(file)}: {run.Verdict} {run.Detail}");
            Assert.Equal(Verdict.Accept, run.Verdict);
            var fields = run.Detail.Split(';').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
            Assert.Equal(fields["vocab"], fields["finite"]);
            Assert.NotEqual("0", fields["spread"]);
        }
    }

    [Theory]
    [MemberData(nameof(ArchModels.NameData), MemberType = typeof(ArchModels))]
    public void Mutants_OurCheckAcceptsExactlyWhatLlamaCppLoads(string name)
    {
        ArchModel model = ArchModels.Build(name);
        List<Mutant> mutants = [.. DefaultMutants(model)];
        if (ArchModels.Campaign)
        {
            mutants.AddRange(CampaignMutants(model));
        }

        var disagreements = new List<string>();
        int i = 0;
        foreach (Mutant m in mutants)
        {
            string path = m.Model.Write(dir.File($"{name}-m{i++}.gguf"));
            (bool ours, string ourDetail) = OurVerdict(path);
            VerdictResult theirs = fixture.Probe.Request("arch-load", path);
            bool theirsLoads = theirs.Verdict == Verdict.Accept;
            string line = $"{m.Label}: ours {(ours ? "accept" : "reject")} [{ourDetail}] | llama.cpp {theirs.Verdict} [{Short(theirs.Detail)}]";
            TestContext.Current.TestOutputHelper?.WriteLine(line);
            if (ours != theirsLoads)
            {
                disagreements.Add(line);
            }
            else if (!ours && m.Subject is not null && !ourDetail.Contains(m.Subject, StringComparison.Ordinal))
            {
                disagreements.Add($"{m.Label}: our message does not name '{m.Subject}': {ourDetail}");
            }

            File.Delete(path);
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: {mutants.Count} mutants, {disagreements.Count} disagreements");
        Assert.True(disagreements.Count == 0, string.Join(Environment.NewLine, disagreements));
    }

    internal static (bool Accept, string Detail) OurVerdict(string path)
    {
        try
        {
            using GgufFile gguf = GgufFile.Open(path, OurGguf.Options);
            ArchitectureReport report = ArchitectureCheck.Run(gguf);
            return (report.IsValid, string.Join("; ", report.Errors.Select(p => p.Message)));
        }
        catch (GgufFormatException e)
        {
            return (false, e.Message);
        }
    }

    private static IEnumerable<Mutant> DefaultMutants(ArchModel m)
    {
        string a = m.Arch;
        const long E = ArchModels.E;
        yield return new("drop blk.1.attn_output.weight", m.WithoutTensor("blk.1.attn_output.weight"), "blk.1.attn_output.weight");
        yield return new("add blk.0.extra_proj.weight", m.WithTensor("blk.0.extra_proj.weight", E, E), "blk.0.extra_proj.weight");
        yield return new("add blk.2.attn_norm.weight (past block_count)", m.WithTensor("blk.2.attn_norm.weight", E), "blk.2.attn_norm.weight");
        yield return new("reshape blk.1.attn_norm.weight", m.Reshaped("blk.1.attn_norm.weight", E + 32), "blk.1.attn_norm.weight");
        yield return new("reshape blk.0.attn_output.weight", m.Reshaped("blk.0.attn_output.weight", E, E + 32), "blk.0.attn_output.weight");
        yield return new("attn_norm stored as [E, 1]", m.Reshaped("blk.0.attn_norm.weight", E, 1), null);
        yield return new("head_count 3 (does not divide 128)", m.WithKv(Kv.U32($"{a}.attention.head_count", 3)), $"{a}.attention.head_count");
        yield return new("head_count_kv array of 3 for 2 layers", m.WithKv(Kv.I32s($"{a}.attention.head_count_kv", [2, 2, 2])), $"{a}.attention.head_count_kv");
        yield return new("head_count_kv array of 2 (valid)", m.WithKv(Kv.Array($"{a}.attention.head_count_kv", GgufNativeType.UINT32, [2, 0, 0, 0, 2, 0, 0, 0])), null);
        yield return new("missing layer_norm_rms_epsilon", m.WithoutKv($"{a}.attention.layer_norm_rms_epsilon"), $"{a}.attention.layer_norm_rms_epsilon");
        yield return new("missing context_length", m.WithoutKv($"{a}.context_length"), $"{a}.context_length");
        yield return new("context_length as UINT64", m.WithKv(Kv.U64($"{a}.context_length", 512)), $"{a}.context_length");
        yield return new("block_count as INT32", m.WithKv(Kv.I32($"{a}.block_count", 2)), $"{a}.block_count");
        if (m.Tensors.Exists(t => t.Name == "output.weight"))
        {
            yield return new("drop output.weight", m.WithoutTensor("output.weight"), "output.weight");
        }
        else
        {
            yield return new("add output.weight", m.WithTensor("output.weight", E, m.Tensors[0].Dims[1]), "output.weight");
        }

        yield return new("add rope_freqs.weight", m.WithTensor("rope_freqs.weight", ArchModels.HeadDim / 2), "rope_freqs.weight");
        if (m.Metadata.Exists(k => k.KeyText == $"{a}.expert_count"))
        {
            yield return new("expert_used_count 5 > expert_count 4", m.WithKv(Kv.U32($"{a}.expert_used_count", 5)), $"{a}.expert_used_count");
        }
    }

    private static IEnumerable<Mutant> CampaignMutants(ArchModel m)
    {
        foreach (TensorSpec t in m.Tensors)
        {
            yield return new($"drop {t.Name}", m.WithoutTensor(t.Name), t.Name);
            long[] dims = [.. t.Dims];
            dims[^1] += 1;
            yield return new($"reshape {t.Name}", m.Reshaped(t.Name, dims), t.Name);
        }

        string path = Path.Combine(Path.GetTempPath(), $"gguf-arch-manifest-{Environment.ProcessId}-{m.Name}.gguf");
        m.Write(path);
        TensorManifest manifest;
        using (GgufFile gguf = GgufFile.Open(path, OurGguf.Options))
        {
            manifest = TensorManifest.For(gguf)!;
        }

        File.Delete(path);
        foreach (ExpectedTensor e in manifest.Tensors.Where(e => !m.Tensors.Exists(t => t.Name == e.Name)))
        {
            yield return new($"add optional {e.Name}", m.WithTensor(e.Name, [.. e.Shape]), e.Name);
        }

        foreach (KvSnapshot kv in m.Metadata.Where(k => k.KeyText.StartsWith(m.Arch + ".", StringComparison.Ordinal)))
        {
            yield return new($"remove {kv.KeyText}", m.WithoutKv(kv.KeyText), kv.KeyText);
            if (kv.Type == GgufNativeType.UINT32)
            {
                uint v = BitConverter.ToUInt32(kv.Raw);
                yield return new($"{kv.KeyText} as INT32", m.WithKv(Kv.I32(kv.KeyText, (int)v)), kv.KeyText);
                yield return new($"{kv.KeyText} as UINT16", m.WithKv(Kv.U16(kv.KeyText, (ushort)v)), kv.KeyText);
            }
            else if (kv.Type == GgufNativeType.FLOAT32)
            {
                yield return new($"{kv.KeyText} as FLOAT64", m.WithKv(Kv.F64(kv.KeyText, BitConverter.ToSingle(kv.Raw))), kv.KeyText);
            }
        }
    }

    private static string Short(string s) => s.Length > 160 ? s[..160] + "…" : s;

    public void Dispose() => dir.Dispose();
}
