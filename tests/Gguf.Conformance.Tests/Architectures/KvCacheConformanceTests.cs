using Gguf.Architectures;
using Gguf.Conformance.Native;
using Gguf.Conformance.Probe;
using Gguf.Conformance.Support;
using Gguf.Format;
using Gguf.LlamaCpp;
using Gguf.Loading;
using Gguf.Model;
using Gguf.Testing;

namespace Gguf.Conformance.Architectures;

/// <summary>
/// Issue 12, item 4: the KV cache bytes of <see cref="ModelPlan"/> equal llama.cpp's for the same context settings, to the
/// byte: the sum of the cache's backend buffer sizes (<c>llama_kv_cache::total_size</c>) and the K and V tensor bytes
/// (<c>size_k_bytes</c>, <c>size_v_bytes</c>), read from the context in the probe child (<see cref="LlamaKvCacheNative"/>).
/// And the weight bytes equal what <see cref="ModelLoader"/> allocates. <c>GGUF_ARCH_CAMPAIGN=1</c> runs every cache type
/// with every setting.
/// </summary>
public sealed class KvCacheConformanceTests(ProbeFixture fixture) : IClassFixture<ProbeFixture>, IDisposable
{
    // ggml type ids of the cache types llama.cpp's tools accept.
    private static readonly GgmlType[] CacheTypes =
        [GgmlType.F16, GgmlType.F32, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.IQ4_NL, GgmlType.Q5_0, GgmlType.Q5_1];

    private readonly TempDirectory dir = new("gguf-kv");

    [Theory]
    [MemberData(nameof(ArchModels.NameData), MemberType = typeof(ArchModels))]
    public void KvCacheBytes_EqualLlamaCpp(string name)
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("reading llama.cpp's KV cache size calls its C++ methods by their Itanium-ABI names (Linux builds)");
        }

        string path = ArchModels.Build(name).Write(dir.File(name + ".gguf"));
        using GgufFile gguf = GgufFile.Open(path, OurGguf.Options);
        var mismatches = new List<string>();
        int compared = 0;
        foreach (KvSettings s in Settings(name))
        {
            var options = new PlanOptions
            {
                ContextLength = s.Context,
                BatchSize = (int)s.Batch,
                MicroBatchSize = (int)s.UBatch,
                Sequences = (int)s.Sequences,
                UnifiedKvCache = s.Unified,
                CacheTypeK = (GgmlType)s.TypeK,
                CacheTypeV = (GgmlType)s.TypeV,
                FlashAttention = s.FlashAttention != 0,
                FullSizeSwaCache = s.SwaFull,
            };
            VerdictResult theirs = fixture.Probe.Request("arch-kv:" + s.Encode(), path);
            ModelPlan? plan = null;
            string? ourError = null;
            try
            {
                plan = ModelPlan.Create(gguf, options);
            }
            catch (ArgumentException e)
            {
                ourError = e.Message;
            }

            string label = $"{name} {s.Encode()}";
            if (theirs.Verdict != Verdict.Accept || plan is null)
            {
                // Both must refuse the settings (e.g. a quantized V cache without flash attention).
                TestContext.Current.TestOutputHelper?.WriteLine($"{label}: ours {(plan is null ? "refuses: " + ourError : "plans")} | llama.cpp {theirs.Verdict}: {theirs.Detail}");
                if ((theirs.Verdict == Verdict.Accept) != (plan is not null))
                {
                    mismatches.Add($"{label}: ours {(plan is null ? "refuses: " + ourError : "plans")}, llama.cpp {theirs.Verdict}: {theirs.Detail}");
                }

                continue;
            }

            string[] detail = theirs.Detail.Split(';');
            KvBytes kv = KvBytes.Decode(string.Join(';', detail.Take(6)));
            compared++;
            string line = $"{label}: ours total {plan.KvBytes} K {plan.KvKBytes} V {plan.KvVBytes} (cells {plan.Cells}, swa {plan.SlidingWindowCells}, streams {plan.Streams}) | llama.cpp {kv.Kind} total {kv.Total} K {kv.K} V {kv.V}, n_ctx {detail[6]}";
            TestContext.Current.TestOutputHelper?.WriteLine(line);
            if (plan.KvBytes != kv.Total || plan.KvKBytes != kv.K || plan.KvVBytes != kv.V || plan.ContextLength.ToString(System.Globalization.CultureInfo.InvariantCulture) != detail[6])
            {
                mismatches.Add(line);
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: {compared} settings compared byte for byte, {mismatches.Count} mismatches");
        Assert.True(mismatches.Count == 0, string.Join(Environment.NewLine, mismatches));
    }

    [Theory]
    [MemberData(nameof(ArchModels.NameData), MemberType = typeof(ArchModels))]
    public void WeightBytesPerDevice_EqualTheLoadersAllocation(string name)
    {
        string path = ArchModels.Build(name).Write(dir.File(name + "-w.gguf"));
        using GgufFile gguf = GgufFile.Open(path, OurGguf.Options);
        var options = new PlanOptions { Devices = [PlanDevice.Host, new PlanDevice("cuda:0", false)], Split = [1, 1], ContextLength = 64 };
        ModelPlan plan = ModelPlan.Create(gguf, options);

        // One device: the whole file, exactly ModelLoader's block.
        ModelPlan single = ModelPlan.Create(gguf, new PlanOptions { ContextLength = 64 });
        _ = ModelLoader.Plan(gguf, LoadOptions.Default.TensorAlignment, out long whole);
        Assert.Equal(whole, single.Devices[0].WeightBytes);
        using var destination = new HostArenaDestination();
        using (LoadedModel loaded = new ModelLoader(destination).Load(gguf, cancellationToken: TestContext.Current.CancellationToken))
        {
            Assert.Equal(whole, loaded.Statistics.AllocatedBytes);
        }

        // Split: every tensor placed once, and each device's bytes are the loader's arithmetic over its tensors.
        Assert.Equal(gguf.Tensors.Count, plan.Devices.Sum(d => d.Tensors.Count));
        Assert.Equal(whole, plan.WeightBytes);
        Assert.All(plan.Devices, d => Assert.Equal(d.Tensors.Sum(t => Align(t.ByteSize, LoadOptions.Default.TensorAlignment)), d.WeightBytes));
    }

    private static IEnumerable<KvSettings> Settings(string name)
    {
        const int F16 = (int)GgmlType.F16;
        yield return new KvSettings(256, 256, 256, 1, false, F16, F16, 1, false);
        yield return new KvSettings(256, 256, 64, 1, false, (int)GgmlType.Q8_0, (int)GgmlType.Q8_0, 1, false);
        yield return new KvSettings(512, 512, 128, 1, false, (int)GgmlType.Q4_0, (int)GgmlType.Q4_0, 1, false);
        yield return new KvSettings(300, 128, 32, 3, false, F16, F16, 1, false);
        yield return new KvSettings(256, 256, 16, 2, true, F16, F16, 1, false);
        yield return new KvSettings(256, 256, 256, 1, false, F16, F16, 0, false);
        yield return new KvSettings(256, 256, 256, 1, false, F16, (int)GgmlType.Q8_0, 0, false);
        if (name is "gemma2" or "gemma3" or "gpt-oss")
        {
            yield return new KvSettings(512, 512, 64, 1, false, F16, F16, 1, true);
            yield return new KvSettings(1024, 512, 100, 2, true, F16, F16, 1, false);
        }

        if (!ArchModels.Campaign)
        {
            yield break;
        }

        foreach (GgmlType k in CacheTypes)
        {
            foreach (GgmlType v in CacheTypes)
            {
                yield return new KvSettings(256, 256, 64, 1, false, (int)k, (int)v, 1, false);
            }

            yield return new KvSettings(384, 384, 48, 2, false, (int)k, (int)k, 1, false);
            yield return new KvSettings(200, 200, 200, 4, true, (int)k, (int)k, 1, false);
            yield return new KvSettings(96, 96, 7, 1, false, (int)k, F16, 0, false);
        }
    }

    private static long Align(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    public void Dispose() => dir.Dispose();
}
