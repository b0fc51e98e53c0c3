using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Gguf.IO;

/// <summary>
/// Owns one mapping. <see cref="SafeHandle"/> reference counting gives the lease semantics: a reader holds a
/// reference while it touches the memory, and the mapping is released only when the last reference goes, so a
/// concurrent Dispose never unmaps under a running copy. Subclasses hold the per-OS calls.
/// </summary>
internal abstract unsafe class MappingHandle : SafeHandle
{
    protected MappingHandle(string path, long length, ILogger logger)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        Path = path;
        Length = length;
        Logger = logger;
    }

    public string Path { get; }

    public long Length { get; }

    protected ILogger Logger { get; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public IntPtr Address => handle;

    /// <summary>A span over a range already checked against <see cref="Length"/>; the caller holds a reference.</summary>
    public ReadOnlySpan<byte> GetSpan(long offset, int length) => new((byte*)handle + offset, length);

    /// <summary>Gives access advice; false with a reason when the kernel refused, false with none where advice does not exist.</summary>
    public virtual bool Advise(AccessAdvice advice, long offset, long length, out string? failure)
    {
        failure = null;
        return false;
    }

    /// <summary>Maps a range's pages in ahead of a sequential read; false where that is not possible.</summary>
    public virtual bool PopulateForRead(long offset, long length) => false;

    /// <summary>Locks a range into memory, or throws.</summary>
    public virtual void Lock(long offset, long length)
    {
    }

    /// <summary>Unlocks a range.</summary>
    public virtual void Unlock(long offset, long length)
    {
    }

    /// <summary>Drops the whole pages inside a range; returns the bytes dropped and the offset of the first.</summary>
    public virtual long Release(long offset, long length, out long first, out string? failure)
    {
        first = offset;
        failure = null;
        return 0;
    }

    protected void SetAddress(IntPtr address) => SetHandle(address);

    /// <summary>Checks a range: not negative, no overflow, not past <paramref name="fileLength"/>; messages name the path.</summary>
    public static void CheckRange(string path, long fileLength, long offset, long length)
    {
        if (offset < 0 || length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"offset {offset} and length {length} must not be negative ('{path}')");
        }

        if (length > long.MaxValue - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"offset {offset} + length {length} overflows ('{path}')");
        }

        if (offset + length > fileLength)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"range [{offset}, {offset + length}) is past the end of the {fileLength}-byte file '{path}'");
        }
    }
}
