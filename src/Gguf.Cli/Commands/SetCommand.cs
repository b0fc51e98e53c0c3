using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gguf.Format;
using Gguf.Model;
using Gguf.Writing;

namespace Gguf.Cli.Commands;

/// <summary>
/// <c>gguf set FILE KEY VALUE [--type T]</c>, <c>gguf set FILE KEY --from-file F</c>,
/// <c>gguf set FILE --remove KEY</c>: edits metadata without touching the tensor data, atomically by
/// default (docs/editing.md). <c>-o OUT</c> writes a copy instead; <c>--in-place</c> rewrites only the header.
/// </summary>
internal static class SetCommand
{
    /// <summary>
    /// A test hook for the kill tests: <c>Stage[:N]</c> (a <see cref="GgufSaveStage"/> name) makes the save
    /// stop at the Nth report of that stage, print <c>paused at Stage N</c> on stderr and wait to be killed.
    /// </summary>
    internal const string PauseVariable = "GGUF_SET_PAUSE_AT";

    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file to edit." };
        var key = new Argument<string?>("key") { Description = "The metadata key to set.", Arity = ArgumentArity.ZeroOrOne };
        var value = new Argument<string?>("value") { Description = "The new value (see --type).", Arity = ArgumentArity.ZeroOrOne };
        var type = new Option<string?>("--type", "-t")
        {
            Description = "The value's type: u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool str, or an array of one, e.g. u32[] or str[] "
                + "(values as a JSON list or comma-separated), nested as i32[][] (JSON). Default: the key's current type; a new key needs it unless its type is well known.",
        };
        var fromFile = new Option<string?>("--from-file") { Description = "Take the value from this file: a string is its exact bytes (for chat templates); other types parse its text." };
        var remove = new Option<string[]>("--remove") { Description = "Remove this key (repeatable).", AllowMultipleArgumentsPerToken = false };
        var output = new Option<string?>("--output", "-o") { Description = "Write the edited file here instead of replacing FILE." };
        var inPlace = new Option<bool>("--in-place") { Description = "Rewrite only the header inside FILE (fast, NOT crash-safe); refused when the new header does not fit." };
        var noPadding = new Option<bool>("--no-padding") { Description = $"Never add the padding entry '{GgufEditor.PaddingKey}' (and drop an existing one)." };
        var noFsync = new Option<bool>("--no-fsync") { Description = "Do not flush the new file to disk before replacing (faster; a power loss soon after may lose the edit)." };
        var json = new Option<bool>("--json") { Description = "Write one JSON object instead of the summary line." };
        var command = new Command("set", "Set or remove metadata keys without touching the tensor data; the file is replaced atomically.")
        {
            file, key, value, type, fromFile, remove, output, inPlace, noPadding, noFsync, json,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(CliErrors.Guard(console, () =>
        {
            try
            {
                var request = new Request(
                    parse.GetValue(file)!,
                    parse.GetValue(key),
                    parse.GetValue(value),
                    parse.GetValue(type),
                    parse.GetValue(fromFile),
                    parse.GetValue(remove) ?? [],
                    parse.GetValue(output),
                    parse.GetValue(inPlace),
                    parse.GetValue(noPadding),
                    parse.GetValue(noFsync),
                    parse.GetValue(json));
                return Run(console, request, cancellationToken);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or KeyNotFoundException && e is not GgufFormatException and not ObjectDisposedException)
            {
                // Caller mistakes and refused edits: one line, nothing written.
                string message = e is ArgumentException { ParamName: string name } && e.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
                    ? e.Message[..^$" (Parameter '{name}')".Length]
                    : e.Message;
                console.Error.WriteLine($"error: {message}");
                return CliErrors.IoError;
            }
        })));
        return command;
    }

    private sealed record Request(string File, string? Key, string? Value, string? Type, string? FromFile, string[] Remove, string? Output, bool InPlace, bool NoPadding, bool NoFsync, bool Json);

    private static int Run(CliConsole console, Request r, CancellationToken cancellationToken)
    {
        if (r.Key is null && r.Remove.Length == 0)
        {
            throw new ArgumentException("nothing to do: give KEY VALUE, KEY --from-file F, or --remove KEY");
        }

        if (r.Key is not null && (r.Value is null) == (r.FromFile is null))
        {
            throw new ArgumentException(r.Value is null ? $"give a value for '{r.Key}' (VALUE or --from-file F)" : "give VALUE or --from-file, not both");
        }

        if (r.Key is null && (r.Value is not null || r.FromFile is not null || r.Type is not null))
        {
            throw new ArgumentException("a value or --type needs a KEY");
        }

        if (r.InPlace && r.Output is not null)
        {
            throw new ArgumentException("--in-place rewrites FILE itself; it cannot be combined with -o");
        }

        using GgufFile gguf = GgufFile.Open(r.File);
        var editor = new GgufEditor(gguf);
        var changes = new List<(string Key, string Action, string? Type)>();
        foreach (string key in r.Remove)
        {
            if (!editor.Remove(key))
            {
                throw new KeyNotFoundException($"cannot remove '{key}': it is not in '{r.File}'; nothing was written");
            }

            changes.Add((key, "remove", null));
        }

        if (r.Key is not null)
        {
            GgufValueSpec spec = ResolveType(gguf, r.Key, r.Type);
            GgufValue parsed = r.FromFile is not null ? ParseFile(spec, r.FromFile) : GgufValueSpec.Parse(spec, r.Value!);
            editor.Set(r.Key, parsed);
            changes.Add((r.Key, "set", spec.ToString()));
        }

        var options = new GgufSaveOptions
        {
            Mode = r.InPlace ? GgufSaveMode.InPlace : GgufSaveMode.Atomic,
            AllowPadding = !r.NoPadding,
            FlushToDisk = !r.NoFsync,
            Progress = PauseHook(console),
        };
        GgufSaveResult result = r.Output is null ? editor.Save(options, cancellationToken) : editor.SaveAs(r.Output, options, cancellationToken);
        if (r.Json)
        {
            WriteJson(console, r, result, changes);
        }
        else
        {
            string what = string.Join(", ", changes.Select(c => c.Action == "set" ? $"set {c.Key} ({c.Type})" : $"removed {c.Key}"));
            console.Out.WriteLine($"{result.Path}: {what}; {Summary(result)}");
        }

        return 0;
    }

    /// <summary>"saved by reflink: 4,128 bytes written, 2,147,483,648 bytes shared, 3.1 ms".</summary>
    internal static string Summary(GgufSaveResult result)
    {
        var text = new StringBuilder(result.Method == GgufSaveMethod.InPlace ? "saved in place" : $"saved by {MethodText(result.Method)}");
        text.Append(CultureInfo.InvariantCulture, $": {result.BytesWritten:N0} bytes written");
        if (result.BytesShared > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {result.BytesShared:N0} bytes shared");
        }

        if (result.Relaid)
        {
            text.Append(CultureInfo.InvariantCulture, $", tensor data re-laid at alignment {result.Alignment}");
        }

        if (result.PaddingBytes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {result.PaddingBytes:N0} bytes of padding");
        }

        if (result.StaleFilesRemoved > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {result.StaleFilesRemoved} stale temporary file(s) removed");
        }

        text.Append(CultureInfo.InvariantCulture, $", {result.Elapsed.TotalMilliseconds:F1} ms");
        return text.ToString();
    }

    private static string MethodText(GgufSaveMethod method) => method switch
    {
        GgufSaveMethod.InPlace => "in place",
        GgufSaveMethod.Reflink => "reflink",
        GgufSaveMethod.CopyFileRange => "copy_file_range",
        _ => "read/write copy",
    };

    private static string MethodJson(GgufSaveMethod method) => method switch
    {
        GgufSaveMethod.InPlace => "in_place",
        GgufSaveMethod.Reflink => "reflink",
        GgufSaveMethod.CopyFileRange => "copy_file_range",
        _ => "read_write",
    };

    private static void WriteJson(CliConsole console, Request r, GgufSaveResult result, List<(string Key, string Action, string? Type)> changes)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("file", Path.GetFullPath(r.File));
            writer.WriteString("path", result.Path);
            writer.WriteString("method", MethodJson(result.Method));
            writer.WriteNumber("bytes_written", result.BytesWritten);
            writer.WriteNumber("bytes_shared", result.BytesShared);
            writer.WriteNumber("header_bytes", result.HeaderBytes);
            writer.WriteNumber("padding_bytes", result.PaddingBytes);
            writer.WriteNumber("data_offset", result.DataOffset);
            writer.WriteNumber("alignment", result.Alignment);
            writer.WriteNumber("file_size", result.FileSize);
            writer.WriteBoolean("relaid", result.Relaid);
            writer.WriteNumber("stale_files_removed", result.StaleFilesRemoved);
            writer.WriteNumber("elapsed_ms", Math.Round(result.Elapsed.TotalMilliseconds, 3));
            writer.WriteStartArray("changes");
            foreach ((string key, string action, string? type) in changes)
            {
                writer.WriteStartObject();
                writer.WriteString("key", key);
                writer.WriteString("action", action);
                if (type is not null)
                {
                    writer.WriteString("type", type);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        console.Out.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    /// <summary>--type, else the key's current type, else its well-known type; a new free key needs --type.</summary>
    private static GgufValueSpec ResolveType(GgufFile gguf, string key, string? type)
    {
        if (type is not null)
        {
            return GgufValueSpec.ParseType(type);
        }

        if (gguf.Metadata.TryGet(key, out GgufMetadataEntry? entry))
        {
            if (entry.Type != GgufValueType.Array)
            {
                return new GgufValueSpec(entry.Type, 0);
            }

            GgufValueType element = entry.GetArray().ElementType;
            return element != GgufValueType.Array
                ? new GgufValueSpec(element, 1)
                : throw new ArgumentException($"'{key}' is a nested array; give its --type (e.g. i32[][])");
        }

        if (GgufWellKnownKeys.Find(key) is GgufKeyRule rule)
        {
            return rule.ElementType is GgufValueType element ? new GgufValueSpec(element, 1) : new GgufValueSpec(rule.Type, 0);
        }

        throw new ArgumentException($"'{key}' is a new key: give its --type (u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool str, or T[] for an array)");
    }

    private static GgufValue ParseFile(GgufValueSpec spec, string path)
    {
        byte[] bytes = File.ReadAllBytes(path);

        // A string is taken byte for byte: templates keep their exact whitespace and final newline.
        return spec is { Depth: 0, Scalar: GgufValueType.String }
            ? GgufValue.FromUtf8(bytes)
            : GgufValueSpec.Parse(spec, new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes));
    }

    private static PauseAt? PauseHook(CliConsole console)
    {
        string? setting = Environment.GetEnvironmentVariable(PauseVariable);
        if (string.IsNullOrEmpty(setting))
        {
            return null;
        }

        string[] parts = setting.Split(':');
        GgufSaveStage stage = Enum.Parse<GgufSaveStage>(parts[0], ignoreCase: true);
        int wanted = parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : 1;
        return new PauseAt(console, stage, wanted);
    }

    /// <summary>Stops the save at a stage (test hook, see <see cref="PauseVariable"/>).</summary>
    private sealed class PauseAt(CliConsole console, GgufSaveStage stage, int wanted) : IProgress<GgufSaveProgress>
    {
        private int _seen;

        public void Report(GgufSaveProgress value)
        {
            if (value.Stage == stage && ++_seen == wanted)
            {
                console.Error.WriteLine($"paused at {stage} {_seen} ({value.BytesDone} of {value.BytesTotal} data bytes)");
                console.Error.Flush();
                Thread.Sleep(Timeout.Infinite);
            }
        }
    }
}

/// <summary>
/// A value type as the CLI spells it: a scalar name (<c>u32</c>, <c>str</c>, or <c>gguf dump</c>'s
/// <c>uint32</c>, <c>string</c>) followed by one <c>[]</c> per array level.
/// </summary>
internal readonly record struct GgufValueSpec(GgufValueType Scalar, int Depth)
{
    private static readonly (string Short, string Long, GgufValueType Type)[] Names =
    [
        ("u8", "uint8", GgufValueType.UInt8), ("i8", "int8", GgufValueType.Int8),
        ("u16", "uint16", GgufValueType.UInt16), ("i16", "int16", GgufValueType.Int16),
        ("u32", "uint32", GgufValueType.UInt32), ("i32", "int32", GgufValueType.Int32),
        ("u64", "uint64", GgufValueType.UInt64), ("i64", "int64", GgufValueType.Int64),
        ("f32", "float32", GgufValueType.Float32), ("f64", "float64", GgufValueType.Float64),
        ("bool", "bool", GgufValueType.Bool), ("str", "string", GgufValueType.String),
    ];

    /// <summary>The short name, e.g. <c>u32[]</c>.</summary>
    public override string ToString()
    {
        GgufValueType scalar = Scalar;
        return Names.First(n => n.Type == scalar).Short + string.Concat(Enumerable.Repeat("[]", Depth));
    }

    /// <summary>Parses <c>u32</c>, <c>str[]</c>, <c>float32[][]</c>, ...</summary>
    public static GgufValueSpec ParseType(string text)
    {
        string name = text.Trim();
        int depth = 0;
        while (name.EndsWith("[]", StringComparison.Ordinal))
        {
            name = name[..^2];
            depth++;
        }

        foreach ((string shortName, string longName, GgufValueType type) in Names)
        {
            if (name.Equals(shortName, StringComparison.OrdinalIgnoreCase) || name.Equals(longName, StringComparison.OrdinalIgnoreCase))
            {
                return new GgufValueSpec(type, depth);
            }
        }

        throw new ArgumentException($"unknown --type '{text}': use u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool str, with [] for arrays (u32[], str[], i32[][])");
    }

    /// <summary>
    /// Parses a value: scalars from their text; arrays from a JSON list (any depth) or, one level deep,
    /// a comma-separated list (strings verbatim between commas; an empty text is an empty array).
    /// </summary>
    public static GgufValue Parse(GgufValueSpec spec, string text)
    {
        if (spec.Depth == 0)
        {
            return spec.Scalar == GgufValueType.String ? GgufValue.String(text) : FromBits(spec.Scalar, Bits(spec.Scalar, text));
        }

        if (text.TrimStart().StartsWith('['))
        {
            using JsonDocument document = ParseJson(text);
            return FromJson(spec, document.RootElement);
        }

        if (spec.Depth > 1)
        {
            throw new FormatException($"a {spec} value is a JSON list of lists, e.g. [[1,2],[3]]");
        }

        string[] items = text.Length == 0 ? [] : text.Split(',');
        return spec.Scalar == GgufValueType.String
            ? GgufValue.FromUtf8Array(items.Select(Encoding.UTF8.GetBytes).ToArray())
            : Array(spec.Scalar, items.Select(i => Bits(spec.Scalar, i)).ToList());
    }

    private static JsonDocument ParseJson(string text)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new FormatException($"the value is not a valid JSON list: {e.Message}", e);
        }
    }

    private static GgufValue FromJson(GgufValueSpec spec, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"expected a JSON list for {spec}, not {element.GetRawText()}");
        }

        if (spec.Depth > 1)
        {
            var inner = new GgufValueSpec(spec.Scalar, spec.Depth - 1);
            return GgufValue.FromArrays([.. element.EnumerateArray().Select(e => FromJson(inner, e))]);
        }

        if (spec.Scalar == GgufValueType.String)
        {
            return GgufValue.FromUtf8Array(element.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String
                ? Encoding.UTF8.GetBytes(e.GetString()!)
                : throw new FormatException($"expected a JSON string in a str list, not {e.GetRawText()}")).ToArray());
        }

        return Array(spec.Scalar, element.EnumerateArray().Select(e => e.ValueKind switch
        {
            JsonValueKind.Number => Bits(spec.Scalar, e.GetRawText()),
            JsonValueKind.String => Bits(spec.Scalar, e.GetString()!), // "NaN", "Infinity", as gguf dump writes them
            JsonValueKind.True or JsonValueKind.False when spec.Scalar == GgufValueType.Bool => e.GetBoolean() ? 1UL : 0UL,
            _ => throw new FormatException($"{e.GetRawText()} is not a {new GgufValueSpec(spec.Scalar, 0)}"),
        }).ToList());
    }

    /// <summary>A one-level array of parsed scalar encodings, as the typed array GGUF stores.</summary>
    private static GgufValue Array(GgufValueType type, List<ulong> bits) => type switch
    {
        GgufValueType.UInt8 => GgufValue.FromArray(bits.Select(b => (byte)b).ToArray()),
        GgufValueType.Int8 => GgufValue.FromArray(bits.Select(b => (sbyte)b).ToArray()),
        GgufValueType.UInt16 => GgufValue.FromArray(bits.Select(b => (ushort)b).ToArray()),
        GgufValueType.Int16 => GgufValue.FromArray(bits.Select(b => (short)b).ToArray()),
        GgufValueType.UInt32 => GgufValue.FromArray(bits.Select(b => (uint)b).ToArray()),
        GgufValueType.Int32 => GgufValue.FromArray(bits.Select(b => (int)b).ToArray()),
        GgufValueType.UInt64 => GgufValue.FromArray(bits.ToArray()),
        GgufValueType.Int64 => GgufValue.FromArray(bits.Select(b => (long)b).ToArray()),
        GgufValueType.Float32 => GgufValue.FromArray(bits.Select(b => BitConverter.Int32BitsToSingle((int)b)).ToArray()),
        GgufValueType.Float64 => GgufValue.FromArray(bits.Select(b => BitConverter.Int64BitsToDouble((long)b)).ToArray()),
        GgufValueType.Bool => GgufValue.FromArray(bits.Select(b => b != 0).ToArray()),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static GgufValue FromBits(GgufValueType type, ulong bits) => type switch
    {
        GgufValueType.UInt8 => GgufValue.UInt8((byte)bits),
        GgufValueType.Int8 => GgufValue.Int8((sbyte)bits),
        GgufValueType.UInt16 => GgufValue.UInt16((ushort)bits),
        GgufValueType.Int16 => GgufValue.Int16((short)bits),
        GgufValueType.UInt32 => GgufValue.UInt32((uint)bits),
        GgufValueType.Int32 => GgufValue.Int32((int)bits),
        GgufValueType.UInt64 => GgufValue.UInt64(bits),
        GgufValueType.Int64 => GgufValue.Int64((long)bits),
        GgufValueType.Float32 => GgufValue.Float32(BitConverter.Int32BitsToSingle((int)bits)),
        GgufValueType.Float64 => GgufValue.Float64(BitConverter.Int64BitsToDouble((long)bits)),
        _ => GgufValue.Bool(bits != 0),
    };

    /// <summary>A scalar's encoding (two's complement, IEEE bits, 0 or 1) from its text.</summary>
    private static ulong Bits(GgufValueType type, string text)
    {
        string t = text.Trim();
        switch (type)
        {
            case GgufValueType.Bool:
                return t.ToLowerInvariant() switch
                {
                    "true" or "1" => 1,
                    "false" or "0" => 0,
                    _ => throw new FormatException($"'{text}' is not a bool (true, false, 1 or 0)"),
                };
            case GgufValueType.Float32:
                return (uint)BitConverter.SingleToInt32Bits((float)ParseFloat(t, "f32"));
            case GgufValueType.Float64:
                return (ulong)BitConverter.DoubleToInt64Bits(ParseFloat(t, "f64"));
        }

        (string name, Int128 min, Int128 max) = type switch
        {
            GgufValueType.UInt8 => ("u8", byte.MinValue, byte.MaxValue),
            GgufValueType.Int8 => ("i8", sbyte.MinValue, sbyte.MaxValue),
            GgufValueType.UInt16 => ("u16", ushort.MinValue, ushort.MaxValue),
            GgufValueType.Int16 => ("i16", short.MinValue, short.MaxValue),
            GgufValueType.UInt32 => ("u32", uint.MinValue, uint.MaxValue),
            GgufValueType.Int32 => ("i32", int.MinValue, int.MaxValue),
            GgufValueType.UInt64 => ("u64", ulong.MinValue, ulong.MaxValue),
            _ => ("i64", (Int128)long.MinValue, (Int128)long.MaxValue),
        };
        Int128 value;
        bool parsed;
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            parsed = UInt128.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out UInt128 hex) && hex <= ulong.MaxValue;
            value = parsed ? (Int128)hex : 0;
        }
        else
        {
            parsed = Int128.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        }

        if (!parsed || value < min || value > max)
        {
            throw new FormatException($"'{text}' is not a {name} ({min} to {max})");
        }

        // Truncation keeps the low 64 bits: two's complement for negative values.
        return (ulong)value;
    }

    private static double ParseFloat(string text, string name)
    {
        switch (text.ToLowerInvariant())
        {
            case "nan":
                return double.NaN;
            case "inf" or "+inf" or "infinity" or "+infinity":
                return double.PositiveInfinity;
            case "-inf" or "-infinity":
                return double.NegativeInfinity;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value
            : throw new FormatException($"'{text}' is not a {name}");
    }
}
