using System.Runtime.InteropServices;
using Gguf.Format;
using Gguf.IO;

namespace Gguf.Model;

/// <summary>
/// Zero-copy access to one tensor's bytes in the mapping. Holds a lease: the file stays mapped until this
/// is disposed, even if the <see cref="GgufFile"/> is disposed meanwhile.
/// </summary>
public ref struct GgufTensorData
{
    private MappedFileLease _lease;
    private readonly MappedRange _range;

    internal GgufTensorData(MappedFile file, GgufTensorInfo tensor)
    {
        _lease = file.Acquire();
        try
        {
            _range = _lease.GetRange(tensor.AbsoluteOffset, tensor.ByteSize);
        }
        catch
        {
            _lease.Dispose();
            throw;
        }

        Tensor = tensor;
    }

    /// <summary>The tensor.</summary>
    public GgufTensorInfo Tensor { get; }

    /// <summary>The size in bytes.</summary>
    public readonly long Length => _range.Length;

    /// <summary>The raw bytes.</summary>
    /// <exception cref="InvalidOperationException">The tensor is larger than 2 GiB; use <see cref="GetChunk"/>.</exception>
    public readonly ReadOnlySpan<byte> Bytes => _range.Span;

    /// <summary>A chunk of the raw bytes, for tensors of any size.</summary>
    public readonly ReadOnlySpan<byte> GetChunk(long offset, int length) => _range.GetChunk(offset, length);

    /// <summary>The range of mapped memory.</summary>
    public readonly MappedRange Range => _range;

    /// <summary>
    /// The elements as <typeparamref name="T"/>: <see cref="float"/> for F32, <see cref="Half"/> for F16,
    /// <see cref="ushort"/> (raw bits) for BF16, <see cref="sbyte"/>, <see cref="short"/>, <see cref="int"/>,
    /// <see cref="long"/> for I8–I64 and <see cref="double"/> for F64.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tensor's type is not <typeparamref name="T"/>.</exception>
    public readonly ReadOnlySpan<T> AsSpan<T>() where T : unmanaged
    {
        GgmlType expected = Tensor.Type;
        bool matches = expected switch
        {
            GgmlType.F32 => typeof(T) == typeof(float),
            GgmlType.F16 => typeof(T) == typeof(Half),
            GgmlType.BF16 => typeof(T) == typeof(ushort),
            GgmlType.I8 => typeof(T) == typeof(sbyte),
            GgmlType.I16 => typeof(T) == typeof(short),
            GgmlType.I32 => typeof(T) == typeof(int),
            GgmlType.I64 => typeof(T) == typeof(long),
            GgmlType.F64 => typeof(T) == typeof(double),
            _ => false,
        };
        if (!matches)
        {
            throw new InvalidOperationException($"tensor '{Tensor.Name}' is {Tensor.TypeInfo.Name}; it cannot be read as {typeof(T).Name}");
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("typed tensor views need a little-endian platform");
        }

        return MemoryMarshal.Cast<byte, T>(Bytes);
    }

    /// <summary>Releases the lease.</summary>
    public void Dispose() => _lease.Dispose();
}
