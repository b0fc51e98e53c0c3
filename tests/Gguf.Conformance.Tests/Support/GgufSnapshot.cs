using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Gguf.LlamaCpp;

namespace Gguf.Conformance.Support;

/// <summary>One metadata entry as a reader reports it. Arrays carry an element type; values are raw bytes.</summary>
/// <param name="Key">The key bytes (as C string where llama.cpp is the source: cut at the first NUL).</param>
/// <param name="Type">The value type.</param>
/// <param name="ElementType">For arrays, the element type; otherwise null.</param>
/// <param name="Count">1 for scalars and strings, the element count for arrays.</param>
/// <param name="Raw">Scalars: the little-endian bytes. String: its bytes. Arrays of scalars: the packed elements.</param>
/// <param name="Strings">Arrays of strings: each element's bytes; otherwise null.</param>
internal sealed record KvSnapshot(byte[] Key, GgufNativeType Type, GgufNativeType? ElementType, ulong Count, byte[] Raw, byte[][]? Strings)
{
    public string KeyText => Encoding.UTF8.GetString(Key);
}

/// <summary>One tensor as a reader reports it. <paramref name="Ne"/> always has 4 entries (trailing 1s).</summary>
internal sealed record TensorSnapshot(byte[] Name, int Type, long[] Ne, ulong Offset, ulong Size, byte[]? Data)
{
    public string NameText => Encoding.UTF8.GetString(Name);
}

/// <summary>
/// A reader-neutral view of a parsed GGUF file: what both llama.cpp's gguf API and our library report.
/// The differential tests build one from each side and compare them field by field.
/// </summary>
internal sealed class GgufSnapshot
{
    public required uint Version { get; init; }

    public required ulong Alignment { get; init; }

    public required ulong DataOffset { get; init; }

    public required IReadOnlyList<KvSnapshot> Metadata { get; init; }

    public required IReadOnlyList<TensorSnapshot> Tensors { get; init; }

    /// <summary>True when some key, string value or tensor name contains a NUL byte (llama.cpp's C strings cut there).</summary>
    public bool HasEmbeddedNul =>
        Metadata.Any(kv => kv.Key.Contains((byte)0)
            || (kv.Type == GgufNativeType.STRING && kv.Raw.Contains((byte)0))
            || (kv.Strings?.Any(s => s.Contains((byte)0)) ?? false))
        || Tensors.Any(t => t.Name.Contains((byte)0));

    /// <summary>A digest of everything but tensor data, so a child process can report what it read in one line.</summary>
    public string Digest()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buf = new byte[8];
        void U64(ulong v)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(buf, v);
            hash.AppendData(buf);
        }

        void Bytes(byte[] b)
        {
            U64((ulong)b.Length);
            hash.AppendData(b);
        }

        U64(Version);
        U64(Alignment);
        U64(DataOffset);
        U64((ulong)Metadata.Count);
        foreach (var kv in Metadata)
        {
            Bytes(kv.Key);
            U64((ulong)kv.Type);
            U64(kv.ElementType is { } e ? (ulong)e : ulong.MaxValue);
            U64(kv.Count);
            Bytes(kv.Raw);
            foreach (byte[] s in kv.Strings ?? [])
            {
                Bytes(s);
            }
        }

        U64((ulong)Tensors.Count);
        foreach (var t in Tensors)
        {
            Bytes(t.Name);
            U64((ulong)t.Type);
            foreach (long n in t.Ne)
            {
                U64((ulong)n);
            }

            U64(t.Offset);
            U64(t.Size);
        }

        return Convert.ToHexString(hash.GetHashAndReset(), 0, 12);
    }

    /// <summary>Describes the first difference between two snapshots, or returns null when they agree.</summary>
    public static string? FirstDifference(GgufSnapshot expected, GgufSnapshot actual, bool compareData = true)
    {
        if (expected.Version != actual.Version)
        {
            return $"version: {expected.Version} vs {actual.Version}";
        }

        if (expected.Alignment != actual.Alignment)
        {
            return $"alignment: {expected.Alignment} vs {actual.Alignment}";
        }

        if (expected.DataOffset != actual.DataOffset)
        {
            return $"data offset: {expected.DataOffset} vs {actual.DataOffset}";
        }

        if (expected.Metadata.Count != actual.Metadata.Count)
        {
            return $"metadata count: {expected.Metadata.Count} vs {actual.Metadata.Count}";
        }

        for (int i = 0; i < expected.Metadata.Count; i++)
        {
            var (e, a) = (expected.Metadata[i], actual.Metadata[i]);
            string where = $"kv #{i} '{e.KeyText}'";
            if (!e.Key.AsSpan().SequenceEqual(a.Key))
            {
                return $"{where}: key differs ('{a.KeyText}')";
            }

            if (e.Type != a.Type || e.ElementType != a.ElementType)
            {
                return $"{where}: type {e.Type}/{e.ElementType} vs {a.Type}/{a.ElementType}";
            }

            if (e.Count != a.Count)
            {
                return $"{where}: count {e.Count} vs {a.Count}";
            }

            if (!e.Raw.AsSpan().SequenceEqual(a.Raw))
            {
                return $"{where}: value bytes differ ({Hex(e.Raw)} vs {Hex(a.Raw)})";
            }

            if ((e.Strings is null) != (a.Strings is null))
            {
                return $"{where}: string array presence differs";
            }

            if (e.Strings is not null)
            {
                for (int j = 0; j < e.Strings.Length; j++)
                {
                    if (!e.Strings[j].AsSpan().SequenceEqual(a.Strings![j]))
                    {
                        return $"{where}: string element {j} differs";
                    }
                }
            }
        }

        if (expected.Tensors.Count != actual.Tensors.Count)
        {
            return $"tensor count: {expected.Tensors.Count} vs {actual.Tensors.Count}";
        }

        for (int i = 0; i < expected.Tensors.Count; i++)
        {
            var (e, a) = (expected.Tensors[i], actual.Tensors[i]);
            string where = $"tensor #{i} '{e.NameText}'";
            if (!e.Name.AsSpan().SequenceEqual(a.Name))
            {
                return $"{where}: name differs ('{a.NameText}')";
            }

            if (e.Type != a.Type)
            {
                return $"{where}: type {e.Type} vs {a.Type}";
            }

            if (!e.Ne.AsSpan().SequenceEqual(a.Ne))
            {
                return $"{where}: shape [{string.Join(',', e.Ne)}] vs [{string.Join(',', a.Ne)}]";
            }

            if (e.Offset != a.Offset)
            {
                return $"{where}: offset {e.Offset} vs {a.Offset}";
            }

            if (e.Size != a.Size)
            {
                return $"{where}: size {e.Size} vs {a.Size}";
            }

            if (compareData && e.Data is not null && a.Data is not null && !e.Data.AsSpan().SequenceEqual(a.Data))
            {
                int at = e.Data.AsSpan().CommonPrefixLength(a.Data);
                return $"{where}: data differs at byte {at} (lengths {e.Data.Length} and {a.Data.Length})";
            }
        }

        return null;
    }

    private static string Hex(byte[] b) => b.Length <= 32 ? Convert.ToHexString(b) : Convert.ToHexString(b, 0, 32) + "…";
}
