using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Gguf.IO;

/// <summary>
/// The Linux calls the loader needs for cold files: page-cache residency (<c>mincore</c>), eviction
/// (<c>posix_fadvise(DONTNEED)</c>) and a second descriptor of an open file with <c>O_DIRECT</c>.
/// Callers check <see cref="OperatingSystem.IsLinux"/> first.
/// </summary>
internal static unsafe partial class PosixInterop
{
    public const int POSIX_FADV_DONTNEED = 4;

    // Pages asked about per mincore call: a 64 KiB vector on the heap covers 256 MiB of 4 KiB pages.
    private const int MincoreBatchPages = 64 << 10;

    /// <summary><c>O_DIRECT</c>: 0x4000 on x86-64, 0x10000 on arm64 (the generic value differs per architecture).</summary>
    public static int O_DIRECT => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x10000 : 0x4000;

    [LibraryImport(LibC, EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(SafeHandle fd, long offset, long length, int advice);

    [LibraryImport(LibC, EntryPoint = "mincore", SetLastError = true)]
    private static partial int Mincore(IntPtr address, nuint length, byte* vector);

    /// <summary>
    /// Asks the kernel to drop a file's clean pages from the page cache (<c>posix_fadvise(POSIX_FADV_DONTNEED)</c>)
    /// after writing back dirty ones (<c>fsync</c>), which it would otherwise keep. Pages mapped by a process stay.
    /// Returns 0 or the errno.
    /// </summary>
    public static int EvictFromPageCache(SafeHandle fd)
    {
        int error = Fsync(fd);
        if (error != 0 && error != EINVAL)
        {
            return error;
        }

        // posix_fadvise returns the error number itself rather than setting errno.
        return PosixFadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    }

    /// <summary>
    /// How many bytes of a mapped range are in memory (<c>mincore</c>: for a file mapping, pages in the page cache
    /// count even when this process has not touched them). <paramref name="address"/> must be page-aligned and
    /// stay mapped during the call (the caller holds a lease). Returns -1 when the call fails.
    /// </summary>
    public static long CountResidentBytes(IntPtr address, long length, int pageSize)
    {
        long pages = (length + pageSize - 1) / pageSize;
        byte[] vector = ArrayPool<byte>.Shared.Rent((int)Math.Min(pages, MincoreBatchPages));
        try
        {
            long resident = 0;
            fixed (byte* v = vector)
            {
                for (long page = 0; page < pages; page += MincoreBatchPages)
                {
                    long count = Math.Min(MincoreBatchPages, pages - page);

                    // The range lies inside the caller's mapping; the vector has one byte per page of it.
                    if (Mincore(address + (nint)(page * pageSize), (nuint)(count * pageSize), v) != 0)
                    {
                        return -1;
                    }

                    for (int i = 0; i < count; i++)
                    {
                        resident += v[i] & 1;
                    }
                }
            }

            return Math.Min(length, resident * pageSize);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(vector);
        }
    }

    /// <summary>
    /// A second descriptor of the open file <paramref name="file"/>, opened with <c>O_DIRECT</c> through
    /// <c>/proc/self/fd</c> (the same inode, never the path again); null with <paramref name="errno"/> set where the
    /// file system refuses <c>O_DIRECT</c> (<c>EINVAL</c>) or /proc is missing.
    /// </summary>
    public static SafeFileHandle? TryReopenDirect(SafeFileHandle file, out int errno)
    {
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            string path = $"/proc/self/fd/{(long)file.DangerousGetHandle()}";
            int fd = Open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
            if (fd < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return null;
            }

            errno = 0;
            return new SafeFileHandle(fd, ownsHandle: true);
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }
}
