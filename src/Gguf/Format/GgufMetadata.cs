using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Gguf.Format;

/// <summary>The metadata of a file: entries in file order and lookup by key.</summary>
public sealed class GgufMetadata : IReadOnlyList<GgufMetadataEntry>
{
    private readonly List<GgufMetadataEntry> _entries;
    private readonly Dictionary<string, int> _byKey;

    internal GgufMetadata(List<GgufMetadataEntry> entries, Dictionary<string, int> byKey)
    {
        _entries = entries;
        _byKey = byKey;
    }

    /// <inheritdoc />
    public int Count => _entries.Count;

    /// <inheritdoc />
    public GgufMetadataEntry this[int index] => _entries[index];

    /// <summary>The entry with the given key.</summary>
    /// <exception cref="KeyNotFoundException">No such key.</exception>
    public GgufMetadataEntry this[string key] =>
        TryGet(key, out GgufMetadataEntry? entry) ? entry : throw new KeyNotFoundException($"metadata key '{key}' is not in the file");

    /// <summary>Whether the key is present.</summary>
    public bool ContainsKey(string key) => _byKey.ContainsKey(key);

    /// <summary>Looks up an entry by key.</summary>
    public bool TryGet(string key, [NotNullWhen(true)] out GgufMetadataEntry? entry)
    {
        if (_byKey.TryGetValue(key, out int index))
        {
            entry = _entries[index];
            return true;
        }

        entry = null;
        return false;
    }

    /// <summary>A STRING value; false when the key is absent or holds another type (an expected miss, never an exception).</summary>
    public bool TryGetString(string key, [NotNullWhen(true)] out string? value)
    {
        value = TryGet(key, out GgufMetadataEntry? e) && e.Type == GgufValueType.String ? e.GetString() : null;
        return value is not null;
    }

    /// <summary>A UINT32 value; false when the key is absent or holds another type.</summary>
    public bool TryGetUInt32(string key, out uint value)
    {
        bool found = TryGet(key, out GgufMetadataEntry? e) && e.Type == GgufValueType.UInt32;
        value = found ? e!.GetUInt32() : 0;
        return found;
    }

    /// <summary>A FLOAT32 value; false when the key is absent or holds another type.</summary>
    public bool TryGetFloat32(string key, out float value)
    {
        bool found = TryGet(key, out GgufMetadataEntry? e) && e.Type == GgufValueType.Float32;
        value = found ? e!.GetFloat32() : 0;
        return found;
    }

    /// <summary>A BOOL value; false when the key is absent or holds another type.</summary>
    public bool TryGetBool(string key, out bool value)
    {
        bool found = TryGet(key, out GgufMetadataEntry? e) && e.Type == GgufValueType.Bool;
        value = found && e!.GetBool();
        return found;
    }

    /// <summary>
    /// An integer of any width widened to <see cref="long"/>; false when the key is absent, holds a non-integer
    /// type, or holds a UINT64 above <see cref="long.MaxValue"/>.
    /// </summary>
    public bool TryGetInteger(string key, out long value)
    {
        value = 0;
        return TryGet(key, out GgufMetadataEntry? e) && e.TryGetInteger(out value);
    }

    /// <summary>An ARRAY value; false when the key is absent or holds another type.</summary>
    public bool TryGetArray(string key, [NotNullWhen(true)] out GgufArray? value)
    {
        value = TryGet(key, out GgufMetadataEntry? e) && e.Type == GgufValueType.Array ? e.GetArray() : null;
        return value is not null;
    }

    /// <summary>A STRING value, or null when the key is absent or holds another type.</summary>
    public string? GetStringOrNull(string key) => TryGetString(key, out string? v) ? v : null;

    /// <inheritdoc />
    public IEnumerator<GgufMetadataEntry> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
