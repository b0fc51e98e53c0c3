using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Cli.Commands;

/// <summary><c>gguf dump FILE --json</c>: every header field, metadata value and tensor info as JSON.</summary>
internal static class DumpCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file to dump." };
        var json = new Option<bool>("--json") { Description = "Write JSON (the machine interface; the only format for now)." };
        var command = new Command("dump", "Dump the header, all metadata (arrays in full) and all tensor infos.") { file, json };
        command.SetAction(parse => CliErrors.Guard(console, () =>
        {
            using GgufFile gguf = GgufFile.Open(parse.GetValue(file)!);
            using var buffer = new MemoryStream();
            Write(buffer, gguf);
            console.Out.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
            console.Out.WriteLine();
            return 0;
        }));
        return command;
    }

    /// <summary>Writes the JSON document for <paramref name="gguf"/>.</summary>
    public static void Write(Stream output, GgufFile gguf)
    {
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false });
        writer.WriteStartObject();
        writer.WriteNumber("version", gguf.Version);
        writer.WriteNumber("alignment", gguf.Alignment);
        writer.WriteNumber("data_offset", gguf.DataOffset);
        writer.WriteNumber("file_size", gguf.FileSize);
        writer.WriteStartArray("metadata");
        foreach (GgufMetadataEntry entry in gguf.Metadata)
        {
            writer.WriteStartObject();
            writer.WriteString("key", entry.Key);
            writer.WriteString("type", GgufValueTypes.Name(entry.Type));
            if (entry.Type == GgufValueType.Array)
            {
                WriteArrayBody(writer, entry.GetArray());
            }
            else
            {
                writer.WritePropertyName("value");
                WriteScalarOrString(writer, entry);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("tensors");
        foreach (GgufTensorInfo tensor in gguf.Tensors)
        {
            writer.WriteStartObject();
            writer.WriteString("name", tensor.Name);
            writer.WriteString("type", tensor.TypeInfo.Name);
            writer.WriteNumber("type_id", (int)tensor.Type);
            writer.WriteStartArray("shape");
            foreach (long ne in tensor.Dimensions)
            {
                writer.WriteNumberValue(ne);
            }

            writer.WriteEndArray();
            writer.WriteNumber("offset", tensor.Offset);
            writer.WriteNumber("size", tensor.ByteSize);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteArrayBody(Utf8JsonWriter writer, GgufArray array)
    {
        writer.WriteString("element_type", GgufValueTypes.Name(array.ElementType));
        writer.WriteNumber("count", array.Count);
        writer.WriteStartArray("value");
        switch (array.ElementType)
        {
            case GgufValueType.String:
                array.ForEachString(writer, static (utf8, w) => WriteUtf8(w, utf8));
                break;
            case GgufValueType.Array:
                for (long i = 0; i < array.Count; i++)
                {
                    writer.WriteStartObject();
                    WriteArrayBody(writer, array.GetArray(i));
                    writer.WriteEndObject();
                }

                break;
            default:
                WriteScalars(writer, array);
                break;
        }

        writer.WriteEndArray();
    }

    private static void WriteScalars(Utf8JsonWriter writer, GgufArray array)
    {
        switch (array.ElementType)
        {
            case GgufValueType.UInt8: foreach (byte v in array.ToArray<byte>()) { writer.WriteNumberValue(v); } break;
            case GgufValueType.Int8: foreach (sbyte v in array.ToArray<sbyte>()) { writer.WriteNumberValue(v); } break;
            case GgufValueType.UInt16: foreach (ushort v in array.ToArray<ushort>()) { writer.WriteNumberValue(v); } break;
            case GgufValueType.Int16: foreach (short v in array.ToArray<short>()) { writer.WriteNumberValue(v); } break;
            case GgufValueType.UInt32: foreach (uint v in array.ToArray<uint>()) { writer.WriteNumberValue(v); } break;
            case GgufValueType.Int32: foreach (int v in array.ToArray<int>()) { writer.WriteNumberValue(v); } break;
            case GgufValueType.UInt64: foreach (ulong v in array.ToArray<ulong>()) { writer.WriteNumberValue(v); } break;
            case GgufValueType.Int64: foreach (long v in array.ToArray<long>()) { writer.WriteNumberValue(v); } break;
            case GgufValueType.Bool: foreach (bool v in array.ToArray<bool>()) { writer.WriteBooleanValue(v); } break;
            case GgufValueType.Float32: foreach (float v in array.ToArray<float>()) { WriteFloat32(writer, v); } break;
            case GgufValueType.Float64: foreach (double v in array.ToArray<double>()) { WriteFloat64(writer, v); } break;
        }
    }

    private static void WriteScalarOrString(Utf8JsonWriter writer, GgufMetadataEntry entry)
    {
        switch (entry.Type)
        {
            case GgufValueType.UInt8: writer.WriteNumberValue(entry.GetUInt8()); break;
            case GgufValueType.Int8: writer.WriteNumberValue(entry.GetInt8()); break;
            case GgufValueType.UInt16: writer.WriteNumberValue(entry.GetUInt16()); break;
            case GgufValueType.Int16: writer.WriteNumberValue(entry.GetInt16()); break;
            case GgufValueType.UInt32: writer.WriteNumberValue(entry.GetUInt32()); break;
            case GgufValueType.Int32: writer.WriteNumberValue(entry.GetInt32()); break;
            case GgufValueType.UInt64: writer.WriteNumberValue(entry.GetUInt64()); break;
            case GgufValueType.Int64: writer.WriteNumberValue(entry.GetInt64()); break;
            case GgufValueType.Bool: writer.WriteBooleanValue(entry.GetBool()); break;
            case GgufValueType.Float32: WriteFloat32(writer, entry.GetFloat32()); break;
            case GgufValueType.Float64: WriteFloat64(writer, entry.GetFloat64()); break;
            case GgufValueType.String: WriteUtf8(writer, entry.GetStringBytes()); break;
        }
    }

    /// <summary>Valid UTF-8 as a JSON string; anything else as <c>{"hex": "…"}</c>.</summary>
    private static void WriteUtf8(Utf8JsonWriter writer, ReadOnlySpan<byte> utf8)
    {
        if (Utf8.IsValid(utf8))
        {
            writer.WriteStringValue(utf8);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("hex", Convert.ToHexStringLower(utf8));
        writer.WriteEndObject();
    }

    /// <summary>Shortest round-trip form for the value's own width; NaN and infinities as strings.</summary>
    private static void WriteFloat32(Utf8JsonWriter writer, float value)
    {
        if (!float.IsFinite(value))
        {
            writer.WriteStringValue(float.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
            return;
        }

        writer.WriteRawValue(value.ToString("R", CultureInfo.InvariantCulture), skipInputValidation: true);
    }

    private static void WriteFloat64(Utf8JsonWriter writer, double value)
    {
        if (!double.IsFinite(value))
        {
            writer.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
            return;
        }

        writer.WriteRawValue(value.ToString("R", CultureInfo.InvariantCulture), skipInputValidation: true);
    }
}
