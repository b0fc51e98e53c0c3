using System.Globalization;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Samples;

/// <summary>Opens a file and prints what it holds: the header, every metadata entry and every tensor.</summary>
internal static class Inspect
{
    public static int Run(string path)
    {
        using GgufFile file = GgufFile.Open(path);
        Console.WriteLine($"{file.Path}: GGUF v{file.Version}, {file.FileSize:N0} bytes, alignment {file.Alignment}, data at {file.DataOffset}");

        foreach (GgufMetadataEntry entry in file.Metadata)
        {
            Console.WriteLine($"  {entry.Key} = {Describe(entry)}");
        }

        foreach (GgufTensorInfo tensor in file.Tensors)
        {
            Console.WriteLine($"  {tensor.Name,-28} {tensor.TypeInfo.Name,-6} [{string.Join(", ", tensor.Dimensions)}] {tensor.ByteSize:N0} bytes");
        }

        return 0;
    }

    /// <summary>A value in one line: arrays show their element type, length and first elements.</summary>
    private static string Describe(GgufMetadataEntry entry) => entry.Type switch
    {
        GgufValueType.String => $"\"{entry.GetString()}\"",
        GgufValueType.Bool => entry.GetBool() ? "true" : "false",
        GgufValueType.Float32 => entry.GetFloat32().ToString(CultureInfo.InvariantCulture),
        GgufValueType.Float64 => entry.GetFloat64().ToString(CultureInfo.InvariantCulture),
        GgufValueType.Array => DescribeArray(entry.GetArray()),
        _ when entry.TryGetInteger(out long value) => value.ToString(CultureInfo.InvariantCulture),
        _ => entry.GetUInt64().ToString(CultureInfo.InvariantCulture),
    };

    private static string DescribeArray(GgufArray array)
    {
        // Strings are decoded one by one, only the few shown; a 150,000-token array costs nothing more.
        int shown = (int)Math.Min(array.Count, 4);
        IEnumerable<string> first = array.ElementType == GgufValueType.String
            ? Enumerable.Range(0, shown).Select(i => $"\"{array.GetString(i)}\"")
            : Enumerable.Range(0, shown).Select(i => array.GetScalarBits(i).ToString(CultureInfo.InvariantCulture));
        return $"{array.ElementType}[{array.Count}] {{{string.Join(", ", first)}{(array.Count > shown ? ", …" : "")}}}";
    }
}
