using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Gguf.IO;

/// <summary>
/// Host memory from an anonymous private mapping (<c>mmap(MAP_ANONYMOUS)</c>, Linux), released with <c>munmap</c>:
/// zero-filled pages that go back to the system the moment the block is freed, optionally backed by transparent
/// huge pages, and pre-faulted for writing with <c>MADV_POPULATE_WRITE</c>.
/// </summary>
internal sealed class AnonymousMappingHandle : HostMemoryHandle
{
    private const int HugePageSize = 2 << 20;

    // Set once a kernel refuses MADV_POPULATE_WRITE (before Linux 5.14): the page-touching fallback from then on.
    private static volatile bool s_populateUnsupported;
    private readonly long _mappedLength;

    private AnonymousMappingHandle(long length, long mappedLength, string kind, ILogger logger)
        : base(length, kind, logger) => _mappedLength = mappedLength;

    /// <summary>
    /// Maps <paramref name="length"/> bytes aligned to <paramref name="alignment"/>; with <paramref name="hugePages"/>
    /// a block of 2 MiB and more is aligned to 2 MiB and advised <c>MADV_HUGEPAGE</c> (a hint a kernel without
    /// transparent huge pages ignores).
    /// </summary>
    /// <exception cref="OutOfMemoryException">The kernel refused the mapping.</exception>
    public static AnonymousMappingHandle Map(long length, int alignment, bool hugePages, string kind, ILogger logger)
    {
        long page = Environment.SystemPageSize;
        bool huge = hugePages && length >= HugePageSize;
        long align = Math.Max(huge ? HugePageSize : alignment, page);
        if (length > long.MaxValue / 2)
        {
            throw new InsufficientMemoryException($"{length} bytes do not fit this process's address space");
        }

        long usable = Align.Up(Math.Max(1, length), page);

        // A mapping starts on a page boundary; a larger alignment maps the slack and trims it off both ends.
        long slack = align - page;
        IntPtr raw = PosixInterop.Mmap(IntPtr.Zero, (nuint)(usable + slack), PosixInterop.PROT_READ | PosixInterop.PROT_WRITE,
            PosixInterop.MAP_PRIVATE | PosixInterop.MAP_ANONYMOUS, -1, 0);
        if (raw == PosixInterop.MapFailed)
        {
            throw new InsufficientMemoryException($"an anonymous mapping of {length} bytes failed: {PosixInterop.Describe(Marshal.GetLastPInvokeError())}");
        }

        long start = Align.Up(raw, align);
        long head = start - raw;
        long tail = slack - head;
        if (head > 0)
        {
            _ = PosixInterop.Munmap(raw, (nuint)head);
        }

        if (tail > 0)
        {
            _ = PosixInterop.Munmap(new IntPtr(start + usable), (nuint)tail);
        }

        var memory = new AnonymousMappingHandle(length, usable, kind, logger);
        memory.SetAddress(new IntPtr(start));
        if (huge)
        {
            _ = PosixInterop.Madvise(memory.Address, (nuint)usable, PosixInterop.MADV_HUGEPAGE);
        }

        Log.HostMemoryAllocated(logger, kind, length, start, huge ? "anonymous mapping, huge pages" : "anonymous mapping");
        return memory;
    }

    protected override bool PopulateWithKernel(long offset, long length)
    {
        if (length == 0)
        {
            return true;
        }

        if (s_populateUnsupported)
        {
            return false;
        }

        // The whole pages covering the range: all inside the mapping, which is whole pages long.
        long page = Environment.SystemPageSize;
        long start = Align.Down(offset, page);
        long end = Math.Min(Align.Up(offset + length, page), _mappedLength);
        if (PosixInterop.Madvise(new IntPtr(Address + start), (nuint)(end - start), PosixInterop.MADV_POPULATE_WRITE) == 0)
        {
            return true;
        }

        // EINVAL: a kernel before 5.14; anything else (ENOMEM, EINTR) is this call's problem only.
        int errno = Marshal.GetLastPInvokeError();
        if (errno == PosixInterop.EINVAL)
        {
            s_populateUnsupported = true;
            Log.PopulateWriteUnavailable(Logger, errno);
        }

        return false;
    }

    protected override bool ReleaseHandle()
    {
        long address = handle;
        bool ok = PosixInterop.Munmap(handle, (nuint)_mappedLength) == 0;
        Log.HostMemoryFreed(Logger, Kind, Length, address);
        return ok;
    }
}
