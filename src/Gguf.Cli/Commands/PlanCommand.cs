using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Gguf.Architectures;
using Gguf.Format;
using Gguf.Gpu;
using Gguf.Loading;
using Gguf.Model;

namespace Gguf.Cli.Commands;

/// <summary>
/// <c>gguf plan FILE [--ctx N] [--batch N] [--ubatch N] [--parallel N] [--cache-type T | --cache-type-k T --cache-type-v T]
/// [--devices host,cuda:0 --split 1,3] [--json]</c>: bytes per device (weights, KV cache, total) before any load, and
/// whether each fits the device's free memory.
/// </summary>
internal static class PlanCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF model." };
        var ctx = new Option<long>("--ctx") { Description = "Context length (0: the model's training context).", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "Logical batch (n_batch).", DefaultValueFactory = _ => 2048 };
        var ubatch = new Option<int>("--ubatch") { Description = "Physical batch (n_ubatch): sizes the sliding-window cache.", DefaultValueFactory = _ => 512 };
        var parallel = new Option<int>("--parallel") { Description = "Parallel sequences (n_seq_max).", DefaultValueFactory = _ => 1 };
        var unified = new Option<bool>("--kv-unified") { Description = "One KV cache shared by all sequences." };
        var cacheType = new Option<string?>("--cache-type") { Description = "K and V cache type: f16, f32, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1." };
        var cacheTypeK = new Option<string?>("--cache-type-k") { Description = "K cache type." };
        var cacheTypeV = new Option<string?>("--cache-type-v") { Description = "V cache type." };
        var noFlash = new Option<bool>("--no-flash-attn") { Description = "Plan without flash attention (V stored transposed; quantized V not allowed)." };
        var swaFull = new Option<bool>("--swa-full") { Description = "Full-size cache for sliding-window layers." };
        var devices = new Option<string>("--devices") { Description = "Destinations in split order, e.g. host,cuda:0.", DefaultValueFactory = _ => "host" };
        var split = new Option<string?>("--split") { Description = "Relative layer shares per destination, e.g. 1,3 (default: equal)." };
        var json = new Option<bool>("--json") { Description = "Print the plan as JSON." };
        var command = new Command("plan", "Bytes per device (weights, KV cache) for a context, before loading anything.")
        {
            file, ctx, batch, ubatch, parallel, unified, cacheType, cacheTypeK, cacheTypeV, noFlash, swaFull, devices, split, json,
        };
        command.SetAction(parse => CliErrors.Guard(console, () =>
        {
            string? both = parse.GetValue(cacheType);
            var options = new PlanOptions
            {
                ContextLength = parse.GetValue(ctx),
                BatchSize = parse.GetValue(batch),
                MicroBatchSize = parse.GetValue(ubatch),
                Sequences = parse.GetValue(parallel),
                UnifiedKvCache = parse.GetValue(unified),
                CacheTypeK = CacheType(parse.GetValue(cacheTypeK) ?? both ?? "f16"),
                CacheTypeV = CacheType(parse.GetValue(cacheTypeV) ?? both ?? "f16"),
                FlashAttention = !parse.GetValue(noFlash),
                FullSizeSwaCache = parse.GetValue(swaFull),
                Devices = [.. parse.GetValue(devices)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(PlanDevice.Parse)],
                Split = parse.GetValue(split) is string s ? [.. s.Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture))] : null,
            };
            using GgufFile gguf = GgufFile.Open(parse.GetValue(file)!);
            ModelPlan plan = ModelPlan.Create(gguf, options);
            long?[] free = [.. plan.Devices.Select(d => FreeBytes(d.Device))];
            if (parse.GetValue(json))
            {
                WriteJson(console, plan, free);
            }
            else
            {
                WriteText(console, plan, free);
            }

            return 0;
        }));
        return command;
    }

    private static GgmlType CacheType(string name) =>
        name.ToLowerInvariant() switch
        {
            "f16" => GgmlType.F16,
            "f32" => GgmlType.F32,
            "bf16" => GgmlType.BF16,
            "q8_0" => GgmlType.Q8_0,
            "q4_0" => GgmlType.Q4_0,
            "q4_1" => GgmlType.Q4_1,
            "iq4_nl" => GgmlType.IQ4_NL,
            "q5_0" => GgmlType.Q5_0,
            "q5_1" => GgmlType.Q5_1,
            _ => throw new ArgumentException($"unsupported cache type '{name}': use f16, f32, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0 or q5_1"),
        };

    /// <summary>Free bytes of a device, or null when it cannot be queried here (no CUDA).</summary>
    private static long? FreeBytes(PlanDevice device)
    {
        if (device.IsHost)
        {
            return HostMemoryInfo.AvailableBytes;
        }

        if (!CudaDestination.IsAvailable(out _))
        {
            return null;
        }

        try
        {
            using CudaDestination gpu = CudaDestination.Open(int.Parse(device.Name.AsSpan(5), CultureInfo.InvariantCulture));
            return gpu.AvailableBytes;
        }
        catch (GpuUnavailableException)
        {
            return null;
        }
    }

    private static string Fits(long total, long? free) => free is long f ? (total <= f ? "fits" : "does not fit") : "unavailable";

    private static void WriteText(CliConsole console, ModelPlan plan, long?[] free)
    {
        TextWriter o = console.Out;
        ModelHyperparameters h = plan.Hyperparameters;
        o.WriteLine($"model:    {h.Architecture}, {h.BlockCount} layers");
        o.WriteLine(plan.KvLayers.Count > 0
            ? $"context:  {plan.ContextLength} ({plan.Streams} stream(s) of {plan.Cells} cells{(plan.SlidingWindowCells > 0 ? $", sliding-window layers {plan.SlidingWindowCells} cells" : string.Empty)}), K {GgmlTypeInfo.Get(plan.Options.CacheTypeK).Name}, V {GgmlTypeInfo.Get(plan.Options.CacheTypeV).Name}"
            : "context:  KV cache not planned (unknown architecture)");
        for (int d = 0; d < plan.Devices.Count; d++)
        {
            DevicePlan p = plan.Devices[d];
            string layers = p.Layers.Count == 0 ? "no layers" : $"layers {p.Layers[0]}-{p.Layers[^1]}";
            string roles = (d == plan.InputDevice ? ", input" : string.Empty) + (d == plan.OutputDevice ? ", output" : string.Empty);
            string freeText = free[d] is long f ? $"{f:N0} free" : "free memory unavailable";
            o.WriteLine($"{p.Device.Name,-8} {layers}{roles}: weights {p.WeightBytes:N0} + KV {p.KvBytes:N0} = {p.TotalBytes:N0} bytes; {freeText}: {Fits(p.TotalBytes, free[d])}");
        }

        o.WriteLine($"total:    weights {plan.WeightBytes:N0} + KV {plan.KvBytes:N0} = {plan.TotalBytes:N0} bytes");
    }

    private static void WriteJson(CliConsole console, ModelPlan plan, long?[] free)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("architecture", plan.Hyperparameters.Architecture);
            w.WriteNumber("layers", plan.Hyperparameters.BlockCount);
            w.WriteNumber("context", plan.ContextLength);
            w.WriteNumber("streams", plan.Streams);
            w.WriteNumber("cells", plan.Cells);
            w.WriteNumber("sliding_window_cells", plan.SlidingWindowCells);
            w.WriteString("cache_type_k", GgmlTypeInfo.Get(plan.Options.CacheTypeK).Name);
            w.WriteString("cache_type_v", GgmlTypeInfo.Get(plan.Options.CacheTypeV).Name);
            w.WriteNumber("weight_bytes", plan.WeightBytes);
            w.WriteNumber("kv_bytes", plan.KvBytes);
            w.WriteNumber("total_bytes", plan.TotalBytes);
            w.WriteStartArray("devices");
            for (int d = 0; d < plan.Devices.Count; d++)
            {
                DevicePlan p = plan.Devices[d];
                w.WriteStartObject();
                w.WriteString("device", p.Device.Name);
                w.WriteStartArray("layers");
                foreach (int layer in p.Layers)
                {
                    w.WriteNumberValue(layer);
                }

                w.WriteEndArray();
                w.WriteBoolean("input", d == plan.InputDevice);
                w.WriteBoolean("output", d == plan.OutputDevice);
                w.WriteNumber("tensors", p.Tensors.Count);
                w.WriteNumber("weight_bytes", p.WeightBytes);
                w.WriteNumber("kv_bytes", p.KvBytes);
                w.WriteNumber("total_bytes", p.TotalBytes);
                if (free[d] is long f)
                {
                    w.WriteNumber("free_bytes", f);
                }
                else
                {
                    w.WriteNull("free_bytes");
                }

                w.WriteString("fits", Fits(p.TotalBytes, free[d]));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}
