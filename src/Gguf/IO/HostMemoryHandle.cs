using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Gguf.IO;

/// <summary>
/// Owns one block of writable native host memory. As with <see cref="MappingHandle"/>, <see cref="SafeHandle"/>
/// reference counting is the lease: every read, write or pre-fault holds a reference for its duration, so a
/// concurrent Dispose frees the block only after the last of them returns, and a call after Dispose is an
/// <see cref="ObjectDisposedException"/>, never a touch of freed memory. Subclasses hold the allocator's calls.
/// </summary>
internal abstract unsafe class HostMemoryHandle : SafeHandle
{
    protected HostMemoryHandle(long length, string kind, ILogger logger)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        Length = length;
        Kind = kind;
        Logger = logger;
    }

    /// <summary>The usable bytes, from <see cref="Address"/>.</summary>
    public long Length { get; }

    /// <summary>What the block is for, in log messages (<c>arena</c>, <c>staging</c>).</summary>
    public string Kind { get; }

    protected ILogger Logger { get; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>The first usable byte (for logs and alignment checks; read and write through the methods below).</summary>
    public IntPtr Address => handle;

    /// <summary>
    /// Allocates <paramref name="length"/> bytes aligned to <paramref name="alignment"/> (a power of two):
    /// an anonymous mapping on Linux (returned to the system at once when freed, huge pages when asked),
    /// <see cref="NativeMemory.AlignedAlloc"/> elsewhere. The contents are unspecified.
    /// </summary>
    /// <exception cref="OutOfMemoryException">The system refused the memory.</exception>
    public static HostMemoryHandle Allocate(long length, int alignment, bool hugePages, string kind, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (!Align.IsPowerOfTwo(alignment))
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "the alignment must be a power of two");
        }

        return OperatingSystem.IsLinux() && Environment.Is64BitProcess
            ? AnonymousMappingHandle.Map(length, alignment, hugePages, kind, logger)
            : AlignedMemoryHandle.Allocate(length, alignment, kind, logger);
    }

    /// <summary>
    /// A writable span over a range already checked against <see cref="Length"/>. It is valid only while the
    /// handle is: callers hand it out only under the contract of their own Dispose.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public Span<byte> GetSpan(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        CheckRange(offset, length);

        // In range of the live block (checked above).
        return new Span<byte>((byte*)handle + offset, length);
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="offset"/>, holding a reference throughout.</summary>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        CheckRange(offset, source.Length);
        bool added = false;
        try
        {
            DangerousAddRef(ref added);

            // In range (checked above) of a block that cannot be freed while the reference is held.
            source.CopyTo(new Span<byte>((byte*)handle + offset, source.Length));
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    /// <summary>Copies the bytes at <paramref name="offset"/> to <paramref name="destination"/>, holding a reference throughout.</summary>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        bool added = false;
        try
        {
            DangerousAddRef(ref added);

            // In range (checked above) of a block that cannot be freed while the reference is held.
            new ReadOnlySpan<byte>((byte*)handle + offset, destination.Length).CopyTo(destination);
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Faults a range's pages in for writing ahead of the writes (<c>MADV_POPULATE_WRITE</c> where the kernel has
    /// it; otherwise an atomic add of zero per page, which never changes a byte a concurrent writer stored).
    /// Stops early when <paramref name="cancellationToken"/> is cancelled. Returns false when the handle was
    /// already disposed.
    /// </summary>
    public bool Populate(long offset, long length, CancellationToken cancellationToken)
    {
        CheckRange(offset, length);
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            if (!PopulateWithKernel(offset, length))
            {
                long page = Environment.SystemPageSize;
                for (long p = Align.Up(offset, page); p + sizeof(int) <= offset + length && !cancellationToken.IsCancellationRequested; p += page)
                {
                    // Inside the block (p + 4 <= offset + length <= Length), which the reference keeps alive.
                    Interlocked.Add(ref *(int*)((byte*)handle + p), 0);
                }
            }

            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    /// <summary>Faults pages in with one kernel call; false where that is not possible (the caller touches pages instead).</summary>
    protected virtual bool PopulateWithKernel(long offset, long length) => false;

    protected void SetAddress(IntPtr address) => SetHandle(address);

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Length}-byte {Kind} block");
        }
    }
}

/// <summary>Host memory from <see cref="NativeMemory.AlignedAlloc"/>, freed with <see cref="NativeMemory.AlignedFree"/>.</summary>
internal sealed unsafe class AlignedMemoryHandle : HostMemoryHandle
{
    private AlignedMemoryHandle(long length, string kind, ILogger logger)
        : base(length, kind, logger)
    {
    }

    /// <summary>Allocates <paramref name="length"/> bytes (at least one) aligned to <paramref name="alignment"/>.</summary>
    /// <exception cref="OutOfMemoryException">The allocator refused.</exception>
    public static AlignedMemoryHandle Allocate(long length, int alignment, string kind, ILogger logger)
    {
        var memory = new AlignedMemoryHandle(length, kind, logger);
        if ((ulong)length > nuint.MaxValue)
        {
            throw new InsufficientMemoryException($"{length} bytes do not fit this process's address space");
        }

        memory.SetAddress((IntPtr)NativeMemory.AlignedAlloc((nuint)Math.Max(1, length), (nuint)alignment));
        Log.HostMemoryAllocated(logger, kind, length, memory.Address, "aligned allocation");
        return memory;
    }

    protected override bool ReleaseHandle()
    {
        long address = handle;
        NativeMemory.AlignedFree((void*)handle);
        Log.HostMemoryFreed(Logger, Kind, Length, address);
        return true;
    }
}
