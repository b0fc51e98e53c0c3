using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;
using Gguf.Format;
using Microsoft.Extensions.Logging;

namespace Gguf.Model;

/// <summary>
/// A model stored in one GGUF file or split across several (<c>name-00001-of-00003.gguf</c>, as written
/// by llama.cpp's <c>gguf-split</c>). Opens every part, checks that they belong together, and indexes
/// all tensors across them.
/// </summary>
public sealed partial class GgufModel : IDisposable
{
    private readonly Dictionary<string, int> _byName;

    private GgufModel(List<GgufFile> parts, List<GgufModelTensor> tensors, Dictionary<string, int> byName)
    {
        Parts = parts;
        Tensors = tensors;
        _byName = byName;
    }

    /// <summary>The files, in split order (one for an unsplit model).</summary>
    public IReadOnlyList<GgufFile> Parts { get; }

    /// <summary>The first file, which holds the model's metadata.</summary>
    public GgufFile Main => Parts[0];

    /// <summary>The model's metadata (that of the first file).</summary>
    public GgufMetadata Metadata => Main.Metadata;

    /// <summary>All tensors of all parts, in split order and then file order.</summary>
    public IReadOnlyList<GgufModelTensor> Tensors { get; }

    /// <summary>Total bytes of tensor data.</summary>
    public long TotalTensorBytes => Tensors.Sum(t => t.Info.ByteSize);

    /// <summary>
    /// Opens a model. When <paramref name="path"/> is the first part of a split model (its
    /// <c>split.count</c> is above 1), the other parts are found next to it by name.
    /// </summary>
    /// <exception cref="GgufFormatException">A part is malformed, or the parts do not fit together (<see cref="GgufErrorCode.SplitMismatch"/>).</exception>
    public static GgufModel Open(string path, GgufReaderOptions? options = null, ILogger? logger = null)
    {
        var parts = new List<GgufFile>();
        try
        {
            GgufFile main = GgufFile.Open(path, options, logger);
            parts.Add(main);
            int count = ReadSplitField(main, GgufKeys.SplitCount, 1);
            if (count > 1)
            {
                int number = ReadSplitField(main, GgufKeys.SplitNo, 0);
                if (number != 0)
                {
                    throw Mismatch(main, GgufKeys.SplitNo, $"this is split {number + 1} of {count}; open the first split");
                }

                Match match = SplitName().Match(path);
                if (!match.Success || int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) != count)
                {
                    throw Mismatch(main, GgufKeys.SplitCount, $"split.count is {count}, but the file name does not end in -00001-of-{count:D5}.gguf");
                }

                for (int i = 1; i < count; i++)
                {
                    string partPath = $"{match.Groups[1].Value}-{i + 1:D5}-of-{count:D5}.gguf";
                    GgufFile part = GgufFile.Open(partPath, options, logger);
                    parts.Add(part);
                    if (ReadSplitField(part, GgufKeys.SplitNo, -1) != i)
                    {
                        throw Mismatch(part, GgufKeys.SplitNo, $"expected split.no {i}");
                    }

                    if (ReadSplitField(part, GgufKeys.SplitCount, -1) != count)
                    {
                        throw Mismatch(part, GgufKeys.SplitCount, $"expected split.count {count}");
                    }
                }
            }

            return Index(parts);
        }
        catch
        {
            parts.ForEach(p => p.Dispose());
            throw;
        }
    }

    /// <summary>Looks up a tensor by name across all parts.</summary>
    public bool TryGetTensor(string name, [NotNullWhen(true)] out GgufModelTensor? tensor)
    {
        if (_byName.TryGetValue(name, out int index))
        {
            tensor = Tensors[index];
            return true;
        }

        tensor = null;
        return false;
    }

    /// <summary>Closes every part.</summary>
    public void Dispose()
    {
        foreach (GgufFile part in Parts)
        {
            part.Dispose();
        }
    }

    private static GgufModel Index(List<GgufFile> parts)
    {
        var tensors = new List<GgufModelTensor>();
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (GgufFile part in parts)
        {
            foreach (GgufTensorInfo info in part.Tensors)
            {
                if (!byName.TryAdd(info.Name, tensors.Count))
                {
                    throw new GgufFormatException(GgufErrorCode.SplitMismatch, info.InfoOffset, $"tensor is in more than one split ('{Path.GetFileName(part.Path)}' and '{Path.GetFileName(tensors[byName[info.Name]].File.Path)}')", "tensor.name", tensorName: info.Name);
                }

                tensors.Add(new GgufModelTensor(part, info));
            }
        }

        GgufFile main = parts[0];
        if (main.Metadata.TryGet(GgufKeys.SplitTensorsCount, out GgufMetadataEntry? declared))
        {
            long expected = declared.Type == GgufValueType.Int32 ? declared.GetInt32() : throw Mismatch(main, GgufKeys.SplitTensorsCount, $"must be int32 but is {GgufValueTypes.Name(declared.Type)}");
            if (expected != tensors.Count)
            {
                throw Mismatch(main, GgufKeys.SplitTensorsCount, $"declares {expected} tensors, but the splits hold {tensors.Count}");
            }
        }

        return new GgufModel(parts, tensors, byName);
    }

    private static int ReadSplitField(GgufFile file, string key, int absent)
    {
        if (!file.Metadata.TryGet(key, out GgufMetadataEntry? entry))
        {
            return absent;
        }

        // gguf-split writes split.no and split.count as UINT16 (llama.cpp's loader requires it).
        return entry.Type == GgufValueType.UInt16
            ? entry.GetUInt16()
            : throw Mismatch(file, key, $"must be uint16 but is {GgufValueTypes.Name(entry.Type)}");
    }

    private static GgufFormatException Mismatch(GgufFile file, string key, string description)
    {
        long offset = file.Metadata.TryGet(key, out GgufMetadataEntry? e) ? e.ValueOffset : 0;
        return new GgufFormatException(GgufErrorCode.SplitMismatch, offset, $"{description} in '{file.Path}'", "value", key);
    }

    [GeneratedRegex(@"^(.*)-(?:\d{5})-of-(\d{5})\.gguf$")]
    private static partial Regex SplitName();
}

/// <summary>A tensor of a (possibly split) model and the file that holds it.</summary>
public sealed record GgufModelTensor(GgufFile File, GgufTensorInfo Info)
{
    /// <summary>The tensor's name.</summary>
    public string Name => Info.Name;
}
