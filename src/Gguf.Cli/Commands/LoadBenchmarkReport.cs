using System.Text.Encodings.Web;
using System.Text.Json;
using Gguf.Loading;

namespace Gguf.Cli.Commands;

/// <summary>What <c>gguf bench load</c> prints: a table, or one JSON object.</summary>
internal static class LoadBenchmarkReport
{
    public static void WriteJson(CliConsole console, LoadBenchmarkResult r)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("file", r.File);
            writer.WriteNumber("file_bytes", r.FileBytes);
            writer.WriteNumber("tensor_bytes", r.TensorBytes);
            writer.WriteString("device", r.Device);
            writer.WriteNumber("chunk_size", r.ChunkSize);
            writer.WriteNumber("readers", r.Readers);
            writer.WriteNumber("runs", r.Runs);
            writer.WriteStartObject("modes");
            foreach ((string name, double value) in r.Modes)
            {
                writer.WriteNumber(name, Math.Round(value, 3));
            }

            writer.WriteEndObject();
            writer.WriteString("best_mode", r.Best);
            writer.WriteNumber("first_load_gb_per_s", Math.Round(r.FirstLoad, 3));
            writer.WriteNumber("naive_read_gb_per_s", Math.Round(r.NaiveRead, 3));
            writer.WriteNumber("read_reused_gb_per_s", Math.Round(r.ReadReused, 3));
            writer.WriteNumber("memcpy_gb_per_s", Math.Round(r.Memcpy, 3));
            writer.WriteNumber("ratio_vs_naive_read", Math.Round(r.Modes[r.Best] / r.NaiveRead, 3));
            writer.WriteNumber("ratio_vs_read_reused", Math.Round(r.Modes[r.Best] / r.ReadReused, 3));
            if (r.PinnedCopy is double pinned)
            {
                writer.WriteNumber("pinned_copy_gb_per_s", Math.Round(pinned, 3));
                writer.WriteNumber("ratio_vs_pinned_copy", Math.Round(r.Modes[r.Best] / pinned, 3));
                writer.WriteString("best_any_mode", r.BestAny);
                writer.WriteNumber("ratio_any_vs_pinned_copy", Math.Round(r.Modes[r.BestAny] / pinned, 3));
            }

            WriteNullable(writer, "ratio_mmap_vs_read", r.ModeRatio("mmap", "read"));
            WriteNullable(writer, "ratio_read_vs_read_reused", r.Modes.TryGetValue("read", out double read) ? read / r.ReadReused : null);
            WriteNullable(writer, "cold_gb_per_s", r.ColdLoad);
            if (r.ColdMode is null)
            {
                writer.WriteNull("cold_mode");
            }
            else
            {
                writer.WriteString("cold_mode", r.ColdMode);
            }

            WriteNullable(writer, "direct_read_gb_per_s", r.DirectRead);
            WriteNullable(writer, "ratio_cold_vs_direct_read", r.ColdLoad / r.DirectRead);
            WriteNullable(writer, "cold_fault_gb_per_s", r.ColdFault);
            WriteNullable(writer, "cold_resident_fraction_after_eviction", r.ColdResidentAfterEviction);
            writer.WriteNumber("destination_bytes", r.DestinationBytes);
            LoadReport.WriteNullable(writer, "peak_rss_bytes", r.PeakRss);
            LoadReport.WriteNullable(writer, "peak_rss_over_destination_bytes", r.PeakRss - r.DestinationBytes);
            LoadReport.WriteNullable(writer, "mapping_resident_bytes", r.MappingResident);
            writer.WriteEndObject();
        }

        console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    public static void WriteText(CliConsole console, LoadBenchmarkResult r)
    {
        TextWriter o = console.Out;
        o.WriteLine($"file:          {r.File} ({ByteSize.Format(r.FileBytes)}), {r.Runs} runs, medians");
        o.WriteLine($"device:        {r.Device}, chunks of {ByteSize.Format(r.ChunkSize)}, {r.Readers} reader(s)");
        foreach ((string name, double value) in r.Modes)
        {
            o.WriteLine($"  {name,-26} {value,8:F2} GB/s");
        }

        o.WriteLine($"  {"first load",-26} {r.FirstLoad,8:F2} GB/s   (the process's first load, untouched memory)");
        o.WriteLine($"  {"naive_read",-26} {r.NaiveRead,8:F2} GB/s   (one read() into a fresh buffer)");
        o.WriteLine($"  {"read_reused",-26} {r.ReadReused,8:F2} GB/s   (read() through one 1 MiB buffer)");
        o.WriteLine($"  {"memcpy",-26} {r.Memcpy,8:F2} GB/s");
        if (r.PinnedCopy is double pinned)
        {
            o.WriteLine($"  {"pinned_copy",-26} {pinned,8:F2} GB/s   (page-locked host to device)");
            o.WriteLine($"best/pinned:   {r.Modes[r.Best] / pinned:F2}x ({r.Best}); {r.Modes[r.BestAny] / pinned:F2}x ({r.BestAny})");
        }

        if (r.ModeRatio("mmap", "read") is double mmapVsRead)
        {
            o.WriteLine($"mmap/read:     {mmapVsRead:F2}x");
        }

        if (r.Modes.TryGetValue("read", out double warm))
        {
            o.WriteLine($"read/reused:   {warm / r.ReadReused:F2}x");
        }

        if (r.Cold)
        {
            o.WriteLine($"cold:          {Number(r.ColdLoad)} GB/s ({r.ColdMode ?? "?"}; file evicted before each load, at most {(r.ColdResidentAfterEviction ?? 0) * 100:F1} % still cached)");
            o.WriteLine($"direct_read:   {Number(r.DirectRead)} GB/s   (O_DIRECT through one aligned 1 MiB buffer: the disk)");
            o.WriteLine($"cold/direct:   {(r.ColdLoad / r.DirectRead is double ratio ? $"{ratio:F2}x" : "not measured")}");
            if (r.ColdFault is double fault)
            {
                o.WriteLine($"cold faults:   {fault:F2} GB/s   (the cold load's fresh memory faulted in, per second of faulting)");
            }
        }

        o.WriteLine($"best/naive:    {r.Modes[r.Best] / r.NaiveRead:F2}x ({r.Best})");
        o.WriteLine($"best/reused:   {r.Modes[r.Best] / r.ReadReused:F2}x");
        o.WriteLine($"peak RSS:      {(r.PeakRss is long p ? $"{ByteSize.Format(p)} for a {ByteSize.Format(r.DestinationBytes)} destination ({ByteSize.Format(p - r.DestinationBytes)} over)" : "not measured")}");
        o.WriteLine($"mapping after: {(r.MappingResident is long m ? ByteSize.Format(m) : "not measured")} resident");
    }

    private static string Number(double? value) => value is double v ? v.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "n/a";

    private static void WriteNullable(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is double v && double.IsFinite(v))
        {
            writer.WriteNumber(name, Math.Round(v, 3));
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
