using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gguf.Format;
using Gguf.Model;
using Gguf.Quantization;

namespace Gguf.Cli.Commands;

/// <summary>
/// <c>gguf bench dequant FILE [--tensor NAME] [--threads N] [--json]</c>: per tensor, the median time to
/// decode it to floats, ours against ggml's own <c>to_float</c> (loaded from libggml-base at run time when
/// it can be found: <c>GGUF_GGML_BASE</c>, else the LLamaSharp.Backend.Cpu package in the NuGet cache).
/// Both decode the same bytes chunk by chunk into the same bounded buffer; with <c>--threads</c> both
/// split each chunk's blocks over that many threads.
/// </summary>
internal static class BenchDequantCommand
{
    /// <summary>Elements decoded per chunk: the buffer both sides fill (16 MiB of floats, beyond L2).</summary>
    private const int ChunkElements = 4 << 20;

    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file." };
        var tensorName = new Option<string?>("--tensor") { Description = "Measure only this tensor (default: every tensor)." };
        var threads = new Option<int>("--threads") { Description = "Threads for both decoders (default 1).", DefaultValueFactory = _ => 1 };
        threads.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--threads must be at least 1");
            }
        });
        var json = new Option<bool>("--json") { Description = "Write a JSON array: tensor, type, elements, median_ns_per_element, ggml_median_ns_per_element, ratio (ggml time / ours)." };
        var command = new Command("dequant", "Time decoding each tensor to floats against ggml's to_float (median ns per element; ratio = ggml / ours, above 1 is faster).")
        {
            file, tensorName, threads, json,
        };
        command.SetAction(parse => CliErrors.Guard(console, () =>
        {
            using GgufFile gguf = GgufFile.Open(parse.GetValue(file)!);
            string? only = parse.GetValue(tensorName);
            List<GgufTensorInfo> tensors = only is null ? [.. gguf.Tensors] : [];
            if (only is not null)
            {
                if (!gguf.TryGetTensor(only, out GgufTensorInfo? one))
                {
                    console.Error.WriteLine($"error: tensor '{only}' is not in '{gguf.Path}'");
                    return CliErrors.IoError;
                }

                tensors.Add(one);
            }

            GgmlBase? ggml = GgmlBase.TryLoad(out string note);
            if (ggml is null)
            {
                console.Error.WriteLine($"note: ggml baseline not measured ({note}); its fields are null");
            }

            int n = parse.GetValue(threads);
            var rows = tensors.Select(t => Measure(gguf, t, n, ggml)).ToList();
            if (parse.GetValue(json))
            {
                WriteJson(console.Out, rows);
            }
            else
            {
                console.Out.WriteLine($"threads: {n}; ggml: {ggml?.Path ?? "not found"}");
                foreach (DequantTiming row in rows)
                {
                    string theirs = row.GgmlNanosecondsPerElement is double g ? g.ToString("F3", CultureInfo.InvariantCulture) : "-";
                    string ratio = row.Ratio is double r ? r.ToString("F2", CultureInfo.InvariantCulture) : "-";
                    console.Out.WriteLine(FormattableString.Invariant($"{row.Tensor,-40} {row.Type,-8} {row.Elements,14:N0}  ours {row.NanosecondsPerElement,8:F3} ns/elem  ggml {theirs,8} ns/elem  ratio {ratio}"));
                }
            }

            return 0;
        }));
        return command;
    }

    /// <summary>
    /// Times a tensor, chunk by chunk: each chunk's bytes are copied from the mapping into a pinned buffer
    /// (not timed; the CLI holds no pointer into the mapping to hand ggml), then decoded by both sides into
    /// the same pinned output, in alternating order. A warm-up round, then at least 5 rounds and 0.2 s
    /// (at most 100 rounds or 5 s); medians of the per-round totals.
    /// </summary>
    internal static DequantTiming Measure(GgufFile file, GgufTensorInfo tensor, int threads, GgmlBase? ggml)
    {
        GgmlTypeInfo info = tensor.TypeInfo;
        int chunk = (int)Math.Min(tensor.ElementCount, ChunkElements / info.BlockSize * info.BlockSize);
        int chunkBytes = chunk / info.BlockSize * info.BytesPerBlock;
        byte[] staging = GC.AllocateUninitializedArray<byte>(Math.Max(chunkBytes, 1), pinned: true);
        float[] output = GC.AllocateUninitializedArray<float>(Math.Max(chunk, 1), pinned: true);
        GgmlBase.ToFloatFunction? toFloat = ggml?.ToFloat(tensor.Type);
        var ours = new List<double>();
        var theirs = new List<double>();
        var budget = Stopwatch.StartNew();
        for (int round = 0; ; round++)
        {
            double oursRound = 0, theirsRound = 0;
            using (GgufTensorData data = file.GetTensorData(tensor))
            {
                for (long first = 0; first < tensor.ElementCount; first += chunk)
                {
                    int count = (int)Math.Min(chunk, tensor.ElementCount - first);
                    int bytes = count / info.BlockSize * info.BytesPerBlock;
                    data.GetChunk(first / info.BlockSize * info.BytesPerBlock, bytes).CopyTo(staging);
                    bool oursFirst = round % 2 == 0;
                    if (!oursFirst && toFloat is not null)
                    {
                        theirsRound += Time(() => Split(info, count, threads, (start, n) => toFloat(
                            Marshal.UnsafeAddrOfPinnedArrayElement(staging, start / info.BlockSize * info.BytesPerBlock),
                            Marshal.UnsafeAddrOfPinnedArrayElement(output, start),
                            n)));
                    }

                    oursRound += Time(() => Split(info, count, threads, (start, n) => Dequantizer.Dequantize(
                        info.Type,
                        staging.AsSpan(start / info.BlockSize * info.BytesPerBlock, n / info.BlockSize * info.BytesPerBlock),
                        output.AsSpan(start, n))));
                    if (oursFirst && toFloat is not null)
                    {
                        theirsRound += Time(() => Split(info, count, threads, (start, n) => toFloat(
                            Marshal.UnsafeAddrOfPinnedArrayElement(staging, start / info.BlockSize * info.BytesPerBlock),
                            Marshal.UnsafeAddrOfPinnedArrayElement(output, start),
                            n)));
                    }
                }
            }

            if (round == 0)
            {
                continue; // warm-up: first touches, JIT, ggml's lazy tables
            }

            ours.Add(oursRound);
            if (toFloat is not null)
            {
                theirs.Add(theirsRound);
            }

            if (ours.Count >= 100 || (ours.Count >= 5 && budget.Elapsed.TotalSeconds >= 0.2))
            {
                break;
            }
        }

        double elements = Math.Max(1, tensor.ElementCount);
        double oursNs = Median(ours) * 1e9 / elements;
        double? ggmlNs = theirs.Count > 0 ? Median(theirs) * 1e9 / elements : null;
        return new DequantTiming(tensor.Name, tensor.TypeInfo.Name, tensor.ElementCount, oursNs, ggmlNs, ggmlNs / oursNs);
    }

    /// <summary>Runs <paramref name="decode"/>(first element, count) over <paramref name="count"/> elements, in whole blocks split over the threads.</summary>
    private static void Split(GgmlTypeInfo info, int count, int threads, Action<int, int> decode)
    {
        int blocks = count / info.BlockSize;
        if (threads == 1 || blocks < 2)
        {
            decode(0, count);
            return;
        }

        int perPart = (blocks + threads - 1) / threads;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
        {
            int start = part * perPart, end = Math.Min(blocks, start + perPart);
            if (start < end)
            {
                decode(start * info.BlockSize, (end - start) * info.BlockSize);
            }
        });
    }

    private static double Time(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency; // not TimeSpan: its 100 ns ticks would floor short decodes to 0
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        int middle = values.Count / 2;
        return values.Count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }

    /// <summary>Writes the rows as a JSON array and a newline.</summary>
    internal static void WriteJson(TextWriter output, IReadOnlyList<DequantTiming> rows)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true }))
        {
            writer.WriteStartArray();
            foreach (DequantTiming row in rows)
            {
                writer.WriteStartObject();
                writer.WriteString("tensor", row.Tensor);
                writer.WriteString("type", row.Type);
                writer.WriteNumber("elements", row.Elements);
                writer.WriteNumber("median_ns_per_element", Math.Round(row.NanosecondsPerElement, 6));
                WriteNullable(writer, "ggml_median_ns_per_element", row.GgmlNanosecondsPerElement, 6);
                WriteNullable(writer, "ratio", row.Ratio, 3);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, double? value, int digits)
    {
        if (value is double v && double.IsFinite(v))
        {
            writer.WriteNumber(name, Math.Round(v, digits));
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>
    /// libggml-base loaded at run time (the CLI has no reference to llama.cpp's bindings): its type traits give
    /// each type's <c>to_float</c>. <c>struct ggml_type_traits</c>: type_name at 0, blck_size at 8, type_size at
    /// 24, to_float at 40; the first two are checked against <c>ggml_blck_size</c>/<c>ggml_type_size</c>
    /// before the pointer at 40 is trusted.
    /// </summary>
    internal sealed class GgmlBase
    {
        private const string Package = "llamasharp.backend.cpu";
        private const string PackageVersion = "0.30.0";

        private readonly TraitsFunction _traits;
        private readonly SizeFunction _blockSize;
        private readonly SizeFunction _typeSize;

        private GgmlBase(string path, nint handle)
        {
            Path = path;
            _traits = Marshal.GetDelegateForFunctionPointer<TraitsFunction>(NativeLibrary.GetExport(handle, "ggml_get_type_traits"));
            _blockSize = Marshal.GetDelegateForFunctionPointer<SizeFunction>(NativeLibrary.GetExport(handle, "ggml_blck_size"));
            _typeSize = Marshal.GetDelegateForFunctionPointer<SizeFunction>(NativeLibrary.GetExport(handle, "ggml_type_size"));
        }

        /// <summary><c>void to_float(const void * x, float * y, int64_t k)</c>.</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void ToFloatFunction(nint source, nint destination, long count);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate nint TraitsFunction(int type);

        // ggml_blck_size returns int64_t and ggml_type_size size_t: both 64-bit on the platforms the package ships.
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate long SizeFunction(int type);

        public string Path { get; }

        /// <summary>
        /// Loads the library from <c>GGUF_GGML_BASE</c> (a path; "none" disables the baseline) or from the
        /// package in the NuGet cache; null with the reason when it is not there.
        /// </summary>
        public static GgmlBase? TryLoad(out string note)
        {
            string? configured = Environment.GetEnvironmentVariable("GGUF_GGML_BASE");
            if (string.Equals(configured, "none", StringComparison.OrdinalIgnoreCase))
            {
                note = "GGUF_GGML_BASE=none";
                return null;
            }

            IEnumerable<string> candidates = string.IsNullOrEmpty(configured) ? PackageCandidates() : [configured];
            foreach (string path in candidates)
            {
                if (File.Exists(path) && NativeLibrary.TryLoad(path, out nint handle)
                    && NativeLibrary.TryGetExport(handle, "ggml_get_type_traits", out _)
                    && NativeLibrary.TryGetExport(handle, "ggml_blck_size", out _)
                    && NativeLibrary.TryGetExport(handle, "ggml_type_size", out _))
                {
                    note = "";
                    return new GgmlBase(path, handle);
                }
            }

            note = string.IsNullOrEmpty(configured)
                ? $"libggml-base of {Package} {PackageVersion} is not in the NuGet cache; set GGUF_GGML_BASE to its path"
                : $"GGUF_GGML_BASE={configured} is not a loadable libggml-base";
            return null;
        }

        /// <summary>ggml's <c>to_float</c> for <paramref name="type"/>, or null where it has none.</summary>
        public ToFloatFunction? ToFloat(GgmlType type)
        {
            nint entry = _traits((int)type);
            if (entry == 0 || Marshal.ReadInt64(entry, 8) != _blockSize((int)type) || Marshal.ReadInt64(entry, 24) != _typeSize((int)type))
            {
                return null;
            }

            nint address = Marshal.ReadIntPtr(entry, 40);
            return address == 0 ? null : Marshal.GetDelegateForFunctionPointer<ToFloatFunction>(address);
        }

        private static IEnumerable<string> PackageCandidates()
        {
            string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            string rid = (OperatingSystem.IsWindows() ? "win-" : OperatingSystem.IsMacOS() ? "osx-" : "linux-")
                + RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
            string name = OperatingSystem.IsWindows() ? "ggml-base.dll" : OperatingSystem.IsMacOS() ? "libggml-base.dylib" : "libggml-base.so";
            string native = System.IO.Path.Combine(root, Package, PackageVersion, "LLamaSharpRuntimes", rid, "native");
            foreach (string variant in new[] { "avx2", "avx512", "avx", "noavx" })
            {
                yield return System.IO.Path.Combine(native, variant, name);
            }

            yield return System.IO.Path.Combine(native, name);
        }
    }
}

/// <summary>One tensor's timing: our and ggml's median ns per element, and ggml's time over ours.</summary>
internal sealed record DequantTiming(string Tensor, string Type, long Elements, double NanosecondsPerElement, double? GgmlNanosecondsPerElement, double? Ratio);
