using Gguf.Format;
using Gguf.Model;

namespace Gguf.Testing;

/// <summary>
/// What one fuzz input must satisfy, shared by the fuzz harness (fuzz/Gguf.Fuzz) and the
/// regression tests. The input goes through every entry point — memory, stream and, given a scratch path,
/// a mapped file with every tensor byte read. Each must either succeed or throw
/// <see cref="GgufFormatException"/>; all must agree (same code and offset, or the same layout); and what
/// a successful parse promises must hold. Anything else escapes as another exception: a finding.
/// </summary>
public static class FuzzOracle
{
    /// <summary>The spec's rules only: any aligned, non-overlapping layout, zero dimensions allowed. Accepts a superset.</summary>
    private static readonly GgufReaderOptions Lenient = new() { RequirePackedTensors = false, AllowZeroDimensions = true };

    /// <summary>Checks one input; throws anything but <see cref="GgufFormatException"/> on a finding.</summary>
    /// <param name="data">The input.</param>
    /// <param name="scratchPath">A file the input is written to for the mapped path; null skips it.</param>
    public static void Check(ReadOnlySpan<byte> data, string? scratchPath)
    {
        byte[] bytes = data.ToArray();
        Outcome memory = Outcome.Of(() => GgufReader.Read(bytes));
        Outcome stream = Outcome.Of(() =>
        {
            using var s = new MemoryStream(bytes, writable: false);
            return GgufReader.Read(s);
        });
        Agree(memory, stream, "Read(Stream)");
        if (memory.Header is not null)
        {
            CheckPromises(memory.Header, bytes.Length, packed: true);
            TouchMetadata(memory.Header.Metadata);
        }

        // The lenient options accept everything the defaults accept, and keep their own promises.
        Outcome lenient = Outcome.Of(() => GgufReader.Read(bytes, Lenient));
        Require(memory.Header is null || lenient.Header is not null, $"lenient options rejected a file the defaults accept: {lenient}");
        if (lenient.Header is not null)
        {
            CheckPromises(lenient.Header, bytes.Length, packed: false);
        }

        // An empty file is the mapping layer's MappedFileException by design.
        if (scratchPath is null || bytes.Length == 0)
        {
            return;
        }

        File.WriteAllBytes(scratchPath, bytes);
        Outcome mapped;
        try
        {
            using GgufFile file = GgufFile.Open(scratchPath);
            mapped = new Outcome(file.Header, null);
            CheckPromises(file.Header, bytes.Length, packed: true);
            TouchFile(file);
            TouchMetadata(file.Metadata);
        }
        catch (GgufFormatException e)
        {
            mapped = new Outcome(null, e);
        }

        Agree(memory, mapped, "GgufFile.Open");
    }

    /// <summary>Decodes every metadata value and reads every tensor byte, as a consumer would; returns a checksum.</summary>
    public static long TouchFile(GgufFile file)
    {
        long sum = 0;
        foreach (GgufMetadataEntry entry in file.Metadata)
        {
            sum += entry.ToValue().Count;
        }

        foreach (GgufTensorInfo tensor in file.Tensors)
        {
            using GgufTensorData data = file.GetTensorData(tensor);
            for (long offset = 0; offset < data.Length; offset += 1 << 20)
            {
                ReadOnlySpan<byte> chunk = data.GetChunk(offset, (int)Math.Min(1 << 20, data.Length - offset));
                foreach (byte b in chunk)
                {
                    sum += b;
                }
            }

            if (tensor.Type == GgmlType.F32 && data.Length <= int.MaxValue)
            {
                sum += data.AsSpan<float>().Length;
            }
        }

        return sum;
    }

    /// <summary>What a caller may rely on once a parse succeeded (docs/security.md).</summary>
    private static void CheckPromises(GgufHeader h, long fileSize, bool packed)
    {
        Require(h.FileSize == fileSize, "file size");
        Require(h.Version is 2 or 3, "version");
        Require(h.Alignment != 0 && (h.Alignment & (h.Alignment - 1)) == 0, "alignment is a power of two");
        Require(h.HeaderEnd <= fileSize && h.DataOffset >= h.HeaderEnd, "header end");
        Require(h.Tensors.Count == 0 ? h.DataOffset == h.HeaderEnd : h.DataOffset <= fileSize && h.DataOffset % h.Alignment == 0, "data offset");
        long running = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < h.Tensors.Count; i++)
        {
            GgufTensorInfo t = h.Tensors[i];
            Require(t.Index == i && names.Add(t.Name), "unique names in order");
            Require(h.TryGetTensor(t.Name, out GgufTensorInfo? found) && ReferenceEquals(found, t), "lookup by name");
            Require(t.Dimensions.Count <= 4 && t.Dimensions.All(d => d >= 0), "dimensions");
            Require(t.TypeInfo.TryGetByteSize(t.DimensionsSpan, out long size) && size == t.ByteSize, "byte size");
            Require(t.Offset % h.Alignment == 0 && (!packed || t.Offset == running), "packed, aligned offset");
            Require(t.AbsoluteOffset == h.DataOffset + t.Offset && t.AbsoluteOffset + t.ByteSize <= fileSize, "data inside the file");
            running += t.ByteSize + ((h.Alignment - (t.ByteSize % h.Alignment)) % h.Alignment);
        }

        Require(running == h.DataSectionSize, "data section size");
        GgufTensorInfo? previous = null;
        foreach (GgufTensorInfo t in h.Tensors.Where(t => t.ByteSize > 0).OrderBy(t => t.Offset))
        {
            Require(previous is null || t.Offset >= previous.Offset + previous.ByteSize, "tensor data does not overlap");
            previous = t;
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (GgufMetadataEntry e in h.Metadata)
        {
            Require(e.Key.Length > 0 && !e.Key.Contains('\0', StringComparison.Ordinal) && keys.Add(e.Key), "keys non-empty, unique, no NUL");
            Require(e.ValueOffset + e.ValueLength <= h.HeaderEnd, "value inside the header");
        }
    }

    /// <summary>Decodes every value through the typed API, as a consumer would.</summary>
    private static void TouchMetadata(GgufMetadata metadata)
    {
        foreach (GgufMetadataEntry e in metadata)
        {
            switch (e.Type)
            {
                case GgufValueType.String:
                    _ = e.GetString();
                    _ = e.GetStringBytes();
                    break;
                case GgufValueType.Array:
                    TouchArray(e.GetArray());
                    break;
                case GgufValueType.Bool:
                    _ = e.GetBool();
                    break;
                default:
                    _ = e.ToValue();
                    break;
            }

            // A wrong-typed getter must be a GgufFormatException (TypeMismatch), never anything else.
            try
            {
                _ = e.Type == GgufValueType.UInt32 ? (object)e.GetString() : e.GetUInt32();
                throw new InvalidOperationException($"a getter of the wrong type succeeded for '{e.Key}'");
            }
            catch (GgufFormatException mismatch)
            {
                Require(mismatch.Code == GgufErrorCode.TypeMismatch, "type mismatch code");
            }
        }
    }

    private static void TouchArray(GgufArray array)
    {
        Require(array.Depth <= 8, "array depth");
        switch (array.ElementType)
        {
            case GgufValueType.String:
                string[] all = array.ToStringArray();
                Require(all.Length == array.Count, "string count");
                long seen = 0;
                array.ForEachString(0, (_, _) => seen++);
                Require(seen == array.Count, "ForEachString count");
                break;
            case GgufValueType.Array:
                for (long i = 0; i < array.Count; i++)
                {
                    TouchArray(array.GetArray(i));
                }

                break;
            default:
                _ = array.ToValue();
                if (array.Count > 0)
                {
                    _ = array.GetScalarBits(array.Count - 1);
                }

                break;
        }
    }

    private static void Agree(Outcome expected, Outcome actual, string entryPoint)
    {
        bool same = (expected.Error, actual.Error) switch
        {
            (null, null) => expected.Header!.HeaderEnd == actual.Header!.HeaderEnd
                && expected.Header.DataOffset == actual.Header.DataOffset
                && expected.Header.Metadata.Count == actual.Header.Metadata.Count
                && expected.Header.Tensors.Count == actual.Header.Tensors.Count,
            ({ } a, { } b) => a.Code == b.Code && a.Offset == b.Offset,
            _ => false,
        };
        Require(same, $"{entryPoint} disagrees with Read(memory): {actual} vs {expected}");
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"fuzz oracle: {what}");
        }
    }

    private sealed record Outcome(GgufHeader? Header, GgufFormatException? Error)
    {
        public static Outcome Of(Func<GgufHeader> parse)
        {
            try
            {
                return new Outcome(parse(), null);
            }
            catch (GgufFormatException e)
            {
                return new Outcome(null, e);
            }
        }

        public override string ToString() => Error is null ? $"ok (header end {Header!.HeaderEnd})" : $"{Error.Code} at {Error.Offset}";
    }
}
