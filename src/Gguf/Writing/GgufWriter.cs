using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Gguf.Format;
using Gguf.IO;
using Gguf.Model;

namespace Gguf.Writing;

/// <summary>
/// Writes GGUF files that llama.cpp loads: metadata of every type (nested arrays too), tensor infos, and
/// tensor data packed in declaration order, each tensor padded to the alignment. Tensor data is streamed
/// from its sources as the file is written, so the writer never holds a whole model in memory.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<(string Key, GgufValue Value)> _metadata = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);

    /// <summary>The format version to write: 3 (the default) or 2, which has the same layout.</summary>
    public uint Version { get; init; } = 3;

    /// <summary>The alignment: <c>general.alignment</c> when it was added, else 32.</summary>
    public uint Alignment { get; private set; } = GgufReader.DefaultAlignment;

    /// <summary>The metadata added so far, in order.</summary>
    public IReadOnlyList<(string Key, GgufValue Value)> Metadata => _metadata;

    /// <summary>Adds a metadata entry. Keys are unique and non-empty; <c>general.alignment</c> must be a UINT32 power of two.</summary>
    public GgufWriter AddMetadata(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key == GgufKeys.Alignment)
        {
            if (value.Type != GgufValueType.UInt32 || value.Bits == 0 || (value.Bits & (value.Bits - 1)) != 0)
            {
                throw new ArgumentException("general.alignment must be a UINT32 power of two", nameof(value));
            }

            Alignment = (uint)value.Bits;
        }

        if (!_keys.Add(key))
        {
            throw new ArgumentException($"metadata key '{key}' was already added", nameof(key));
        }

        _metadata.Add((key, value));
        return this;
    }

    /// <summary>Adds a tensor whose bytes are in memory.</summary>
    public GgufWriter AddTensor(string name, GgmlType type, ReadOnlySpan<long> shape, ReadOnlyMemory<byte> data)
    {
        long size = CheckTensor(name, type, shape);
        if (data.Length != size)
        {
            throw new ArgumentException($"tensor '{name}' needs {size} bytes, {data.Length} given", nameof(data));
        }

        _tensors.Add(new PendingTensor(name, type, shape.ToArray(), size, output => output.Write(data.Span)));
        return this;
    }

    /// <summary>
    /// Adds a tensor whose bytes are produced when the file is written: <paramref name="writeData"/> must
    /// write exactly the tensor's byte size to the stream it is given.
    /// </summary>
    public GgufWriter AddTensor(string name, GgmlType type, ReadOnlySpan<long> shape, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        long size = CheckTensor(name, type, shape);
        _tensors.Add(new PendingTensor(name, type, shape.ToArray(), size, writeData));
        return this;
    }

    /// <summary>Writes the file to a path (replacing it).</summary>
    public long WriteTo(string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        return WriteTo(stream);
    }

    /// <summary>Writes the file to a stream; returns the number of bytes written.</summary>
    public long WriteTo(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var header = new ArrayBufferWriter<byte>(4096);
        header.Write("GGUF"u8);
        WriteUInt32(header, Version);
        WriteUInt64(header, (ulong)_tensors.Count);
        WriteUInt64(header, (ulong)_metadata.Count);
        foreach ((string key, GgufValue value) in _metadata)
        {
            WriteString(header, Encoding.UTF8.GetBytes(key));
            WriteUInt32(header, (uint)value.Type);
            WriteValue(header, value);
        }

        long offset = 0;
        foreach (PendingTensor tensor in _tensors)
        {
            WriteString(header, Encoding.UTF8.GetBytes(tensor.Name));
            WriteUInt32(header, (uint)tensor.Shape.Length);
            foreach (long ne in tensor.Shape)
            {
                WriteUInt64(header, (ulong)ne);
            }

            WriteUInt32(header, (uint)tensor.Type);
            WriteUInt64(header, (ulong)offset);
            offset += Padded(tensor.ByteSize);
        }

        output.Write(header.WrittenSpan);
        long written = header.WrittenCount;

        // Padding is written only when tensor data follows, like gguf-py's converter (the corpus files end
        // right after their metadata); llama.cpp's reader requires it only then (its writer pads always).
        if (_tensors.Count > 0)
        {
            written += WritePadding(output, written);
        }

        foreach (PendingTensor tensor in _tensors)
        {
            var counter = new CountingStream(output);
            tensor.WriteData(counter);
            if (counter.Count != tensor.ByteSize)
            {
                throw new InvalidOperationException($"tensor '{tensor.Name}' wrote {counter.Count} bytes, {tensor.ByteSize} expected");
            }

            written += counter.Count;
            written += WritePadding(output, tensor.ByteSize);
        }

        output.Flush();
        return written;
    }

    private long CheckTensor(string name, GgmlType type, ReadOnlySpan<long> shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (Encoding.UTF8.GetByteCount(name) > GgufReaderOptions.Default.MaxTensorNameBytes)
        {
            throw new ArgumentException($"tensor name '{name}' is longer than {GgufReaderOptions.Default.MaxTensorNameBytes} bytes", nameof(name));
        }

        if (shape.Length > 4)
        {
            throw new ArgumentException("a tensor has at most 4 dimensions", nameof(shape));
        }

        if (!GgmlTypeInfo.TryGet((int)type, out GgmlTypeInfo info) || !info.TryGetByteSize(shape, out long size))
        {
            throw new ArgumentException($"shape [{string.Join(", ", shape.ToArray())}] is not valid for type {type}", nameof(shape));
        }

        if (!_tensorNames.Add(name))
        {
            throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        }

        return size;
    }

    private long Padded(long size) => Align.Up(size, Alignment);

    private long WritePadding(Stream output, long position)
    {
        int padding = (int)(Align.Up(position, Alignment) - position);
        Span<byte> zeros = stackalloc byte[256];
        zeros.Clear();
        for (int left = padding; left > 0; left -= Math.Min(left, zeros.Length))
        {
            output.Write(zeros[..Math.Min(left, zeros.Length)]);
        }

        return padding;
    }

    internal static void WriteValue(ArrayBufferWriter<byte> header, GgufValue value)
    {
        switch (value.Type)
        {
            case GgufValueType.String:
                WriteString(header, value.Utf8!);
                break;
            case GgufValueType.Array:
                WriteUInt32(header, (uint)value.ElementType);
                WriteUInt64(header, (ulong)value.Count);
                WriteArrayElements(header, value);
                break;
            default:
                WriteScalar(header, value.Type, value.Bits);
                break;
        }
    }

    private static void WriteArrayElements(ArrayBufferWriter<byte> header, GgufValue array)
    {
        switch (array.Elements)
        {
            case byte[][] strings:
                foreach (byte[] s in strings)
                {
                    WriteString(header, s);
                }

                break;
            case GgufValue[] nested:
                foreach (GgufValue a in nested)
                {
                    WriteUInt32(header, (uint)a.ElementType);
                    WriteUInt64(header, (ulong)a.Count);
                    WriteArrayElements(header, a);
                }

                break;
            case Array scalars:
                int size = GgufValueTypes.FixedSize(array.ElementType);
                long bytes = scalars.LongLength * size;
                Span<byte> destination = header.GetSpan((int)bytes)[..(int)bytes];

                // Element arrays are blittable; GGUF is little-endian like the hosts we write on.
                ReadOnlySpan<byte> source = System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(
                    ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(scalars), (int)bytes);
                source.CopyTo(destination);
                header.Advance((int)bytes);
                break;
        }
    }

    private static void WriteScalar(ArrayBufferWriter<byte> header, GgufValueType type, ulong bits)
    {
        int size = GgufValueTypes.FixedSize(type);
        Span<byte> span = header.GetSpan(8);
        BinaryPrimitives.WriteUInt64LittleEndian(span, bits);
        header.Advance(size);
    }

    internal static void WriteString(ArrayBufferWriter<byte> header, ReadOnlySpan<byte> utf8)
    {
        WriteUInt64(header, (ulong)utf8.Length);
        header.Write(utf8);
    }

    internal static void WriteUInt32(ArrayBufferWriter<byte> header, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header.GetSpan(4), value);
        header.Advance(4);
    }

    internal static void WriteUInt64(ArrayBufferWriter<byte> header, ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(header.GetSpan(8), value);
        header.Advance(8);
    }

    private sealed record PendingTensor(string Name, GgmlType Type, long[] Shape, long ByteSize, Action<Stream> WriteData);

    /// <summary>Counts what a tensor source writes, to catch sources that write too much or too little.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => Count;
            set => throw new NotSupportedException();
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Count += buffer.Length;
        }
    }
}
