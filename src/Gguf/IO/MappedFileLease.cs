using System.Runtime.CompilerServices;

namespace Gguf.IO;

/// <summary>Reads a span that is valid only during the call.</summary>
internal delegate TResult SpanReader<in TState, out TResult>(ReadOnlySpan<byte> span, TState state);

/// <summary>
/// Keeps a mapping alive while its memory is read. Spans and ranges obtained from a lease are valid until the
/// lease is disposed; every access after that throws <see cref="ObjectDisposedException"/>. Dispose is
/// idempotent and thread-safe, and a lease that is never disposed is released by its finalizer.
/// </summary>
public sealed class MappedFileLease : IDisposable
{
    private MappingHandle? _mapping;

    internal MappedFileLease(MappingHandle mapping)
    {
        bool added = false;

        // Throws ObjectDisposedException once the mapping is being released.
        mapping.DangerousAddRef(ref added);
        _mapping = mapping;
    }

    /// <summary>Releases a lease that was never disposed.</summary>
    ~MappedFileLease() => Dispose();

    /// <summary>The length of the mapped file.</summary>
    public long Length => Mapping.Length;

    /// <summary>Whether the lease has been released.</summary>
    public bool IsDisposed => Volatile.Read(ref _mapping) is null;

    /// <summary>The mapping this lease holds, for the IO layer.</summary>
    internal MappingHandle Mapping
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _mapping) ?? throw new ObjectDisposedException(nameof(MappedFileLease), "the lease was released");
    }

    /// <summary>A span over <paramref name="length"/> bytes at <paramref name="offset"/>, valid while the lease is held.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the file.</exception>
    /// <exception cref="ObjectDisposedException">The lease was released.</exception>
    public ReadOnlySpan<byte> GetSpan(long offset, int length)
    {
        MappingHandle mapping = Mapping;
        MappingHandle.CheckRange(mapping.Path, mapping.Length, offset, length);

        // In bounds, and alive for the lease's lifetime.
        return mapping.GetSpan(offset, length);
    }

    /// <summary>A checked range of any size; ranges over 2 GiB are read in chunks.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the file, or offset + length overflows.</exception>
    /// <exception cref="ObjectDisposedException">The lease was released.</exception>
    public MappedRange GetRange(long offset, long length)
    {
        MappingHandle mapping = Mapping;
        MappingHandle.CheckRange(mapping.Path, mapping.Length, offset, length);
        return new MappedRange(this, offset, length);
    }

    /// <summary>The base address of the mapping, for the loader's native copies; valid while the lease is held.</summary>
    internal IntPtr DangerousGetAddress() => Mapping.Address;

    /// <summary>Releases the lease. Idempotent and thread-safe.</summary>
    public void Dispose()
    {
        MappingHandle? mapping = Interlocked.Exchange(ref _mapping, null);
        if (mapping is not null)
        {
            mapping.DangerousRelease();
            GC.SuppressFinalize(this);
        }
    }
}

/// <summary>
/// A bounds-checked range of mapped memory. It cannot be stored on the heap (a <c>ref struct</c>) and every
/// access checks the lease it came from, so a range read after its lease was released throws
/// <see cref="ObjectDisposedException"/> instead of touching unmapped memory. Ranges over
/// <see cref="int.MaxValue"/> bytes are never truncated: read them with <see cref="GetChunk"/>.
/// </summary>
public readonly ref struct MappedRange
{
    private readonly MappedFileLease _lease;
    private readonly long _offset;

    internal MappedRange(MappedFileLease lease, long offset, long length)
    {
        _lease = lease;
        _offset = offset;
        Length = length;
    }

    /// <summary>The length in bytes.</summary>
    public long Length { get; }

    /// <summary>Whether the whole range fits one span.</summary>
    public bool FitsSpan => Length <= int.MaxValue;

    /// <summary>The whole range as one span.</summary>
    /// <exception cref="InvalidOperationException">The range is larger than a span can hold.</exception>
    /// <exception cref="ObjectDisposedException">The lease was released.</exception>
    public ReadOnlySpan<byte> Span => FitsSpan
        ? GetChunk(0, (int)Length)
        : throw new InvalidOperationException($"the range is {Length} bytes, more than one span holds; read it with GetChunk");

    /// <summary><paramref name="length"/> bytes at <paramref name="offset"/> within the range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The chunk is not inside the range.</exception>
    /// <exception cref="ObjectDisposedException">The lease was released.</exception>
    public ReadOnlySpan<byte> GetChunk(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset > Length || length > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"chunk [{offset}, +{length}) is outside the {Length}-byte range");
        }

        if (_lease is null)
        {
            // default(MappedRange): an empty range of nothing.
            return length == 0 ? default : throw new ObjectDisposedException(nameof(MappedRange));
        }

        return _lease.GetSpan(_offset + offset, length);
    }
}
