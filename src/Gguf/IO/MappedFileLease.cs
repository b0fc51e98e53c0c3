using System.Runtime.CompilerServices;

namespace Gguf.IO;

/// <summary>
/// Keeps a mapping alive while its memory is read. Spans and ranges obtained from a lease are valid until
/// the lease is disposed; dispose each lease exactly once (a <c>using</c> statement).
/// </summary>
public unsafe struct MappedFileLease : IDisposable
{
    private MappingHandle? _handle;

    internal MappedFileLease(MappingHandle handle)
    {
        bool added = false;

        // Throws ObjectDisposedException once the owner has been disposed.
        handle.DangerousAddRef(ref added);
        _handle = handle;
    }

    /// <summary>The length of the mapped file.</summary>
    public readonly long Length => Handle.Length;

    /// <summary>A span over <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the file.</exception>
    public readonly ReadOnlySpan<byte> GetSpan(long offset, int length)
    {
        MappingHandle handle = Handle;
        MappedFile.CheckRange(handle, offset, length);

        // The range lies inside the mapping, which this lease keeps alive.
        return new ReadOnlySpan<byte>((byte*)handle.Address + offset, length);
    }

    /// <summary>A checked range of any size; larger than 2 GiB ranges are read in chunks.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the file, or offset + length overflows.</exception>
    public readonly MappedRange GetRange(long offset, long length)
    {
        MappingHandle handle = Handle;
        MappedFile.CheckRange(handle, offset, length);

        // As above: in bounds, and alive for the lease's lifetime.
        return new MappedRange((byte*)handle.Address + offset, length);
    }

    /// <summary>The base address of the mapping, for native interop; valid until the lease is disposed.</summary>
    public readonly IntPtr DangerousGetAddress() => Handle.Address;

    /// <summary>Releases the lease.</summary>
    public void Dispose()
    {
        MappingHandle? handle = _handle;
        _handle = null;
        handle?.DangerousRelease();
    }

    private readonly MappingHandle Handle
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _handle ?? throw new ObjectDisposedException(nameof(MappedFileLease));
    }
}

/// <summary>
/// A bounds-checked range of mapped memory, valid while the lease it came from is held. Ranges over
/// <see cref="int.MaxValue"/> bytes are never truncated: read them with <see cref="GetChunk"/>.
/// </summary>
public readonly unsafe struct MappedRange
{
    private readonly byte* _start;

    internal MappedRange(byte* start, long length)
    {
        _start = start;
        Length = length;
    }

    /// <summary>The length in bytes.</summary>
    public long Length { get; }

    /// <summary>Whether the whole range fits one span.</summary>
    public bool FitsSpan => Length <= int.MaxValue;

    /// <summary>The whole range as one span.</summary>
    /// <exception cref="InvalidOperationException">The range is larger than a span can hold.</exception>
    public ReadOnlySpan<byte> Span => FitsSpan
        ? new ReadOnlySpan<byte>(_start, (int)Length)
        : throw new InvalidOperationException($"the range is {Length} bytes, more than one span holds; read it with GetChunk");

    /// <summary><paramref name="length"/> bytes at <paramref name="offset"/> within the range.</summary>
    public ReadOnlySpan<byte> GetChunk(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset > Length || length > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"chunk [{offset}, +{length}) is outside the {Length}-byte range");
        }

        return new ReadOnlySpan<byte>(_start + offset, length);
    }

    /// <summary>The start address, for native copies; valid while the lease is held.</summary>
    public IntPtr DangerousGetAddress() => (IntPtr)_start;
}
