using System.Text.Encodings.Web;
using System.Text.Json;
using Gguf.Loading;

namespace Gguf.Cli.Commands;

/// <summary>What <c>gguf load</c> prints: the summary, or one JSON object.</summary>
internal static class LoadReport
{
    public static void WriteJson(CliConsole console, LoadedModel model, List<(string Name, string Sha256)>? sums)
    {
        LoadStatistics s = model.Statistics;
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("file", model.Path);
            writer.WriteNumber("tensors", s.Tensors);
            writer.WriteNumber("bytes", s.Bytes);
            writer.WriteNumber("seconds", Math.Round(s.LoadTime.TotalSeconds, 6));
            writer.WriteNumber("gb_per_s", Math.Round(s.GigabytesPerSecond, 3));
            writer.WriteString("device", s.DeviceName);
            writer.WriteString("memory_kind", s.MemoryKind.ToString().ToLowerInvariant());
            writer.WriteString("mode", s.Mode.ToString().ToLowerInvariant());
            writer.WriteString("requested_mode", s.RequestedMode.ToString().ToLowerInvariant());
            if (s.ResidentFraction is double resident)
            {
                writer.WriteNumber("resident_fraction", Math.Round(resident, 4));
            }
            else
            {
                writer.WriteNull("resident_fraction");
            }

            writer.WriteBoolean("direct_io_refused", s.DirectIoRefused);
            writer.WriteNumber("chunk_size", s.ChunkSize);
            writer.WriteNumber("readers", s.Readers);
            writer.WriteNumber("allocated_bytes", s.AllocatedBytes);
            writer.WriteBoolean("verified", s.Verified);
            writer.WriteNumber("verify_seconds", Math.Round(s.VerifyTime.TotalSeconds, 6));
            WriteNullable(writer, "peak_rss_bytes", s.PeakRssBytes);
            WriteNullable(writer, "mapping_resident_bytes", s.MappingResidentBytes);
            if (sums is not null)
            {
                writer.WriteStartArray("checksums");
                foreach ((string name, string sha256) in sums)
                {
                    writer.WriteStartObject();
                    writer.WriteString("name", name);
                    writer.WriteString("sha256", sha256);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    internal static void WriteNullable(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is long v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    public static void WriteSummary(CliConsole console, LoadedModel model, List<(string Name, string Sha256)>? sums)
    {
        LoadStatistics s = model.Statistics;
        TextWriter o = console.Out;
        o.WriteLine($"loaded:       {model.Path}");
        o.WriteLine($"tensors:      {s.Tensors:N0}");
        o.WriteLine($"bytes:        {s.Bytes:N0} ({ByteSize.Format(s.Bytes)}; {ByteSize.Format(s.AllocatedBytes)} allocated)");
        o.WriteLine($"seconds:      {s.LoadTime.TotalSeconds:F3}");
        o.WriteLine($"throughput:   {(s.GigabytesPerSecond >= 0.1 ? s.GigabytesPerSecond.ToString("F2") : s.GigabytesPerSecond.ToString("G3"))} GB/s");
        o.WriteLine($"destination:  {s.DeviceName} ({s.MemoryKind.ToString().ToLowerInvariant()} memory)");
        o.WriteLine($"mode:         {s.Mode.ToString().ToLowerInvariant()}{DescribeChoice(s)}, chunks of {ByteSize.Format(s.ChunkSize)}, {s.Readers} reader(s){(s.RingSize > 0 ? $", {s.RingSize} staging buffers each" : ", written in place")}");
        o.WriteLine($"peak RSS:     {(s.PeakRssBytes is long peak ? ByteSize.Format(peak) : "not measured")}");
        o.WriteLine($"verified:     {(s.Verified ? $"yes, every tensor's XxHash64 matches the file ({s.VerifyTime.TotalSeconds:F3} s)" : "no (--verify)")}");
        if (sums is not null)
        {
            o.WriteLine("sha256:");
            foreach ((string name, string sha256) in sums)
            {
                o.WriteLine($"{sha256}  {name}");
            }
        }
    }

    /// <summary>Why the mode is what it is, when the options did not name it: what auto saw, or a refused O_DIRECT.</summary>
    internal static string DescribeChoice(LoadStatistics s)
    {
        string refused = s.DirectIoRefused ? "O_DIRECT refused by the file system" : "";
        if (s.RequestedMode != LoadMode.Auto)
        {
            return refused.Length > 0 ? $" ({refused})" : "";
        }

        string residency = s.ResidentFraction is double f ? $"{f * 100:F0} % of the data was cached" : "residency unknown";
        return refused.Length > 0 ? $" (auto: {residency}; {refused})" : $" (auto: {residency})";
    }
}
