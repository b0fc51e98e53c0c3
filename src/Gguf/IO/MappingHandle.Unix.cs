using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Gguf.IO;

/// <summary>A <c>mmap(PROT_READ, MAP_PRIVATE)</c> mapping, released with <c>munmap</c>; advice through <c>madvise</c>.</summary>
internal sealed class PosixMappingHandle : MappingHandle
{
    public PosixMappingHandle(IntPtr address, string path, long length, ILogger logger)
        : base(path, length, logger) => SetAddress(address);

    public override bool Advise(AccessAdvice advice, long offset, long length, out string? failure)
    {
        int code = advice switch
        {
            AccessAdvice.Sequential => PosixInterop.MADV_SEQUENTIAL,
            AccessAdvice.Random => PosixInterop.MADV_RANDOM,
            AccessAdvice.WillNeed => PosixInterop.MADV_WILLNEED,
            _ => PosixInterop.MADV_NORMAL,
        };
        (IntPtr start, nuint size) = OuterPages(offset, length);
        if (PosixInterop.Madvise(start, size, code) != 0)
        {
            failure = PosixInterop.Describe(Marshal.GetLastPInvokeError());
            return false;
        }

        failure = null;
        return true;
    }

    public override bool PopulateForRead(long offset, long length)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        (IntPtr start, nuint size) = OuterPages(offset, length);
        return PosixInterop.Madvise(start, size, PosixInterop.MADV_POPULATE_READ) == 0;
    }

    public override void Lock(long offset, long length)
    {
        (IntPtr start, nuint size) = OuterPages(offset, length);
        if (PosixInterop.Mlock(start, size) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string hint = errno is PosixInterop.ENOMEM or PosixInterop.EPERM or PosixInterop.EAGAIN
                ? "; the process's RLIMIT_MEMLOCK is too low (raise it with 'ulimit -l' or the container's memlock limit)"
                : "";
            throw new MappedFileException(MappedFileError.LockFailed, Path, $"mlock of {length} bytes at offset {offset} failed: {PosixInterop.Describe(errno)}{hint}", errno);
        }
    }

    public override void Unlock(long offset, long length)
    {
        (IntPtr start, nuint size) = OuterPages(offset, length);
        _ = PosixInterop.Munlock(start, size);
    }

    public override long Release(long offset, long length, out long first, out string? failure)
    {
        failure = null;
        long address = Address;
        long start = Align.Up(address + offset, MappedFile.PageSize);
        long end = Align.Down(address + offset + length, MappedFile.PageSize);

        // The final partial page of the file may be released whole: nothing follows it.
        if (offset + length == Length)
        {
            end = Align.Up(address + offset + length, MappedFile.PageSize);
        }

        first = start - address;
        if (end <= start)
        {
            return 0;
        }

        if (PosixInterop.Madvise(new IntPtr(start), (nuint)(end - start), PosixInterop.MADV_DONTNEED) != 0)
        {
            failure = PosixInterop.Describe(Marshal.GetLastPInvokeError());
            return 0;
        }

        return end - start;
    }

    protected override bool ReleaseHandle()
    {
        long address = handle;
        bool ok = PosixInterop.Munmap(handle, (nuint)Length) == 0;
        Log.Unmapped(Logger, Path, Length, address);
        return ok;
    }

    /// <summary>The whole pages covering a range of the mapping.</summary>
    private (IntPtr Start, nuint Size) OuterPages(long offset, long length)
    {
        long start = Align.Down(Address + offset, MappedFile.PageSize);
        long end = Align.Up(Address + offset + length, MappedFile.PageSize);
        return (new IntPtr(start), (nuint)(end - start));
    }
}
