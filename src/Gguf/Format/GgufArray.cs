using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Gguf.IO;

namespace Gguf.Format;

/// <summary>
/// An array value, decoded lazily. Fixed-size elements are copied out on request; string and nested-array
/// elements are found through an offset index built on first access, so any element costs O(1) after that.
/// </summary>
/// <remarks>
/// The index of a string array keeps the offset of every 16th element (4 bytes per 16 strings, so 37 KB
/// for 150,000 tokens instead of 1.2 MB): an access starts at the nearest one before it and steps over at
/// most 15 length prefixes, a bounded cost whatever the index.
/// </remarks>
public sealed class GgufArray
{
    /// <summary>Elements per index entry in a string array.</summary>
    internal const int StringIndexStride = 16;

    private readonly GgufByteSource _source;
    private readonly string _key;
    private int[]? _index;

    internal GgufArray(GgufByteSource source, string key, GgufValueType elementType, long count, int depth, long dataOffset, int dataLength)
    {
        _source = source;
        _key = key;
        ElementType = elementType;
        Count = count;
        Depth = depth;
        DataOffset = dataOffset;
        DataLength = dataLength;
    }

    /// <summary>The element type.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>The number of elements.</summary>
    public long Count { get; }

    /// <summary>1 for a top-level array, 2 for an array inside it, and so on.</summary>
    public int Depth { get; }

    /// <summary>The absolute file offset of the first element.</summary>
    public long DataOffset { get; }

    /// <summary>The encoded length of the elements in bytes.</summary>
    public int DataLength { get; }

    /// <summary>Entries of the offset index, or 0 before the first element access built it (for tests).</summary>
    internal int IndexLength => Volatile.Read(ref _index)?.Length ?? 0;

    /// <summary>Copies fixed-size elements into a new array; <typeparamref name="T"/> must match the element type.</summary>
    /// <exception cref="GgufFormatException">The element type is not <typeparamref name="T"/>.</exception>
    public T[] ToArray<T>() where T : unmanaged
    {
        ExpectElement(ElementTypeOf<T>.Value);
        if (Count > Array.MaxLength)
        {
            throw new NotSupportedException($"array '{_key}' has {Count} elements, more than a .NET array holds");
        }

        var result = new T[Count];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>Copies fixed-size elements starting at <paramref name="start"/> into <paramref name="destination"/>.</summary>
    public void CopyTo<T>(Span<T> destination, long start = 0) where T : unmanaged
    {
        ExpectElement(ElementTypeOf<T>.Value);
        if ((ulong)start > (ulong)Count || (ulong)destination.Length > (ulong)(Count - start))
        {
            throw new ArgumentOutOfRangeException(nameof(start), "range is outside the array");
        }

        int size = GgufValueTypes.FixedSize(ElementType);
        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        // The file is little-endian; so is every platform .NET runs GGUF on in practice.
        _source.CopyTo(DataOffset + (start * size), bytes);
        if (!BitConverter.IsLittleEndian && size > 1)
        {
            ReverseEndianness(bytes, size);
        }
    }

    /// <summary>String element <paramref name="index"/>, decoded as UTF-8.</summary>
    public string GetString(long index) => ReadStringElement(index, static (span, _) => Encoding.UTF8.GetString(span));

    /// <summary>The raw bytes of string element <paramref name="index"/>.</summary>
    public byte[] GetStringBytes(long index) => ReadStringElement(index, static (span, _) => span.ToArray());

    /// <summary>
    /// Calls <paramref name="action"/> with the raw bytes of every string element in order, under one
    /// lease and without allocating; the span is valid only during each call.
    /// </summary>
    public void ForEachString<TArg>(TArg arg, System.Buffers.ReadOnlySpanAction<byte, TArg> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        ExpectElement(GgufValueType.String);
        _source.Read(DataOffset, DataLength, (self: this, arg, action), static (span, state) =>
        {
            int position = 0;
            for (long i = 0; i < state.self.Count; i++)
            {
                int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(position));
                state.action(span.Slice(position + 8, length), state.arg);
                position += 8 + length;
            }

            return 0;
        });
    }

    /// <summary>Every string element, decoded.</summary>
    public string[] ToStringArray()
    {
        ExpectElement(GgufValueType.String);
        var result = new string[Count];

        // One walk in order; no index needed.
        int next = 0;
        ForEachString(result, (span, strings) => strings[next++] = Encoding.UTF8.GetString(span));
        return result;
    }

    /// <summary>Nested array element <paramref name="index"/>.</summary>
    public GgufArray GetArray(long index)
    {
        ExpectElement(GgufValueType.Array);
        int[] offsets = Index();
        CheckIndex(index);
        long start = DataOffset + offsets[index];
        long end = index + 1 < Count ? DataOffset + offsets[index + 1] : DataOffset + DataLength;
        (GgufValueType type, long count) = _source.Read(start, 12, 0, static (span, _) =>
            ((GgufValueType)BinaryPrimitives.ReadInt32LittleEndian(span), (long)BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(4))));
        return new GgufArray(_source, _key, type, count, Depth + 1, start + 12, (int)(end - start - 12));
    }

    /// <summary>Raw bits of fixed-size element <paramref name="index"/>, zero-extended.</summary>
    public ulong GetScalarBits(long index)
    {
        int size = GgufValueTypes.FixedSize(ElementType);
        if (size == 0)
        {
            throw Mismatch("a fixed-size type");
        }

        CheckIndex(index);
        return _source.Read(DataOffset + (index * size), size, ElementType, static (span, type) => GgufMetadataEntry.DecodeScalar(type, span));
    }

    /// <summary>Materializes the array as a <see cref="GgufValue"/>.</summary>
    public GgufValue ToValue()
    {
        switch (ElementType)
        {
            case GgufValueType.String:
                var strings = new byte[Count][];
                int next = 0;
                ForEachString(strings, (span, result) => result[next++] = span.ToArray());
                return GgufValue.FromUtf8Array(strings);
            case GgufValueType.Array:
                var arrays = new GgufValue[Count];
                for (long i = 0; i < Count; i++)
                {
                    arrays[i] = GetArray(i).ToValue();
                }

                return GgufValue.FromArrays(arrays);
            case GgufValueType.UInt8: return GgufValue.FromArray(ToArray<byte>());
            case GgufValueType.Int8: return GgufValue.FromArray(ToArray<sbyte>());
            case GgufValueType.UInt16: return GgufValue.FromArray(ToArray<ushort>());
            case GgufValueType.Int16: return GgufValue.FromArray(ToArray<short>());
            case GgufValueType.UInt32: return GgufValue.FromArray(ToArray<uint>());
            case GgufValueType.Int32: return GgufValue.FromArray(ToArray<int>());
            case GgufValueType.Float32: return GgufValue.FromArray(ToArray<float>());
            case GgufValueType.Bool: return GgufValue.FromArray(ToArray<bool>());
            case GgufValueType.UInt64: return GgufValue.FromArray(ToArray<ulong>());
            case GgufValueType.Int64: return GgufValue.FromArray(ToArray<long>());
            default: return GgufValue.FromArray(ToArray<double>());
        }
    }

    /// <summary>Finds string element <paramref name="index"/> from the nearest indexed element and decodes it under one lease.</summary>
    private TResult ReadStringElement<TResult>(long index, SpanReader<int, TResult> decode)
    {
        ExpectElement(GgufValueType.String);
        int[] checkpoints = Index();
        CheckIndex(index);
        int start = checkpoints[index / StringIndexStride];
        int skip = (int)(index % StringIndexStride);
        return _source.Read(DataOffset + start, DataLength - start, (skip, decode), static (span, state) =>
        {
            // The parser checked every length, so these steps stay inside the span.
            int position = 0;
            for (int i = 0; i < state.skip; i++)
            {
                position += 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(position));
            }

            int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(position));
            return state.decode(span.Slice(position + 8, length), 0);
        });
    }

    private void CheckIndex(long index)
    {
        if ((ulong)index >= (ulong)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"array '{_key}' has {Count} elements");
        }
    }

    /// <summary>
    /// Start offsets, relative to <see cref="DataOffset"/>, of every <see cref="StringIndexStride"/>-th
    /// string element or of every nested-array element. The parser already checked every length, so this
    /// walk cannot fail; it runs once per array and the result is shared by all threads.
    /// </summary>
    private int[] Index()
    {
        int[]? index = Volatile.Read(ref _index);
        if (index is not null)
        {
            return index;
        }

        index = _source.Read(DataOffset, DataLength, this, static (span, self) =>
        {
            if (self.ElementType == GgufValueType.String)
            {
                var checkpoints = new int[(self.Count + StringIndexStride - 1) / StringIndexStride];
                int position = 0;
                for (long i = 0; i < self.Count; i++)
                {
                    if (i % StringIndexStride == 0)
                    {
                        checkpoints[i / StringIndexStride] = position;
                    }

                    position += 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(position));
                }

                return checkpoints;
            }

            var offsets = new int[self.Count];
            int offset = 0;
            for (long i = 0; i < self.Count; i++)
            {
                offsets[i] = offset;
                offset += NestedLength(span.Slice(offset));
            }

            return offsets;
        });
        Interlocked.CompareExchange(ref _index, index, null);
        return _index!;
    }

    /// <summary>The encoded length of a nested array that starts at the beginning of <paramref name="span"/>.</summary>
    private static int NestedLength(ReadOnlySpan<byte> span)
    {
        var type = (GgufValueType)BinaryPrimitives.ReadInt32LittleEndian(span);
        long count = (long)BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(4));
        int position = 12;
        int fixedSize = GgufValueTypes.FixedSize(type);
        if (fixedSize != 0)
        {
            return position + (int)(count * fixedSize);
        }

        for (long i = 0; i < count; i++)
        {
            position += type == GgufValueType.String
                ? 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(span.Slice(position))
                : NestedLength(span.Slice(position));
        }

        return position;
    }

    private void ExpectElement(GgufValueType expected)
    {
        if (ElementType != expected)
        {
            throw Mismatch("array of " + GgufValueTypes.Name(expected));
        }
    }

    private GgufFormatException Mismatch(string expected) => new(
        GgufErrorCode.TypeMismatch,
        DataOffset - 12,
        $"value is array of {GgufValueTypes.Name(ElementType)}, not {expected}",
        "value",
        _key);

    private static void ReverseEndianness(Span<byte> bytes, int size)
    {
        for (int i = 0; i + size <= bytes.Length; i += size)
        {
            bytes.Slice(i, size).Reverse();
        }
    }

    private static class ElementTypeOf<T>
    {
        public static readonly GgufValueType Value =
            typeof(T) == typeof(byte) ? GgufValueType.UInt8 :
            typeof(T) == typeof(sbyte) ? GgufValueType.Int8 :
            typeof(T) == typeof(ushort) ? GgufValueType.UInt16 :
            typeof(T) == typeof(short) ? GgufValueType.Int16 :
            typeof(T) == typeof(uint) ? GgufValueType.UInt32 :
            typeof(T) == typeof(int) ? GgufValueType.Int32 :
            typeof(T) == typeof(float) ? GgufValueType.Float32 :
            typeof(T) == typeof(bool) ? GgufValueType.Bool :
            typeof(T) == typeof(ulong) ? GgufValueType.UInt64 :
            typeof(T) == typeof(long) ? GgufValueType.Int64 :
            typeof(T) == typeof(double) ? GgufValueType.Float64 :
            (GgufValueType)(-1);
    }
}
