using System.Runtime.InteropServices;
using Gguf.Format;
using Gguf.IO;

namespace Gguf.Model;

/// <summary>
/// Zero-copy access to one tensor's bytes in the mapping. Holds a lease: the file stays mapped until this is
/// disposed, even if the <see cref="GgufFile"/> is disposed meanwhile; after <see cref="Dispose"/> every access
/// throws <see cref="ObjectDisposedException"/>. A <c>ref struct</c>, so it cannot be stored on the heap.
/// </summary>
public ref struct GgufTensorData
{
    private readonly MappedFileLease _lease;

    internal GgufTensorData(MappedFile file, GgufTensorInfo tensor)
    {
        _lease = file.Acquire();
        try
        {
            // The reader checked the range against the file; this re-check costs nothing and guards the invariant.
            _ = _lease.GetRange(tensor.AbsoluteOffset, tensor.ByteSize);
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
    public readonly long Length => Tensor.ByteSize;

    /// <summary>The raw bytes.</summary>
    /// <exception cref="InvalidOperationException">The tensor is larger than 2 GiB; use <see cref="GetChunk"/>.</exception>
    /// <exception cref="ObjectDisposedException">This view was disposed.</exception>
    public readonly ReadOnlySpan<byte> Bytes => Length <= int.MaxValue
        ? _lease.GetSpan(Tensor.AbsoluteOffset, (int)Length)
        : throw new InvalidOperationException($"tensor '{Tensor.Name}' is {Length} bytes, more than one span holds; read it with GetChunk");

    /// <summary>A chunk of the raw bytes, for tensors of any size.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The chunk is not inside the tensor.</exception>
    /// <exception cref="ObjectDisposedException">This view was disposed.</exception>
    public readonly ReadOnlySpan<byte> GetChunk(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset > Length || length > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"chunk [{offset}, +{length}) is outside tensor '{Tensor.Name}' of {Length} bytes");
        }

        return _lease.GetSpan(Tensor.AbsoluteOffset + offset, length);
    }

    /// <summary>
    /// The elements as <typeparamref name="T"/>: <see cref="float"/> for F32, <see cref="Half"/> for F16,
    /// <see cref="ushort"/> (raw bits) for BF16, <see cref="sbyte"/>, <see cref="short"/>, <see cref="int"/>,
    /// <see cref="long"/> for I8–I64 and <see cref="double"/> for F64.
    /// </summary>
    /// <exception cref="GgufFormatException">
    /// <see cref="GgufErrorCode.TypeMismatch"/>: the tensor's type is not <typeparamref name="T"/> (the same
    /// exception a wrong-typed metadata getter throws), at the offset of the tensor's type field.
    /// </exception>
    public readonly ReadOnlySpan<T> AsSpan<T>() where T : unmanaged
    {
        GgmlType stored = Tensor.Type;
        bool matches = stored switch
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
            throw new GgufFormatException(GgufErrorCode.TypeMismatch, Tensor.TypeFieldOffset, $"tensor is {Tensor.TypeInfo.Name}; it cannot be read as {typeof(T).Name}", "tensor.type", tensorName: Tensor.Name);
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("typed tensor views need a little-endian platform");
        }

        return MemoryMarshal.Cast<byte, T>(Bytes);
    }

    /// <summary>Releases the lease. Idempotent.</summary>
    public readonly void Dispose() => _lease?.Dispose();
}
