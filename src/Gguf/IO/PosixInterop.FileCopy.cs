using System.Runtime.InteropServices;

namespace Gguf.IO;

/// <summary>
/// The Linux calls the metadata editor needs to copy tensor data fast and to make a replacement
/// durable: block sharing (<c>FICLONERANGE</c>), in-kernel copies (<c>copy_file_range</c>),
/// <c>fsync</c>, <c>fstatfs</c> and <c>fchown</c>. Callers check <see cref="OperatingSystem.IsLinux"/>
/// first; every other OS takes the portable .NET path.
/// </summary>
internal static unsafe partial class PosixInterop
{
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EXDEV = 18;
    public const int EINVAL = 22;
    public const int ENOTTY = 25;
    public const int ETXTBSY = 26;
    public const int EFBIG = 27;
    public const int ENOSPC = 28;
    public const int ENOSYS = 38;
    public const int EOPNOTSUPP = 95;
    public const int EDQUOT = 122;

    // _IOW(0x94, 13, struct file_clone_range): the same number on x86-64 and arm64.
    private const uint FICLONERANGE = 0x4020940D;

    // statfs.f_type of the Linux file systems that can share blocks between files.
    private const long XfsMagic = 0x58465342;
    private const long BtrfsMagic = 0x9123683E;
    private const long BcachefsMagic = 0xCA451A4E;
    private const long ZfsMagic = 0x2FC12FC1;
    private const long Ocfs2Magic = 0x7461636F;

    // struct statfs on 64-bit Linux (x86-64 and arm64): f_type and f_bsize are the first two longs;
    // the whole struct is 120 bytes, the buffer leaves room.
    private const int StatfsBufferSize = 256;

    // struct statx: stx_uid (u32) at 20, stx_gid (u32) at 24, stx_ino (u64) at 32,
    // stx_dev_major/minor (u32) at 136/140.
    private const uint STATX_UID = 0x8;
    private const uint STATX_GID = 0x10;
    private const uint STATX_INO = 0x100;
    private const int StatxUidOffset = 20;
    private const int StatxInodeOffset = 32;
    private const int StatxGidOffset = 24;
    private const int StatxDevMajorOffset = 136;
    private const int StatxDevMinorOffset = 140;

    /// <summary>struct file_clone_range.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct FileCloneRange
    {
        public long SourceFd;
        public ulong SourceOffset;
        public ulong SourceLength;
        public ulong DestinationOffset;
    }

    [LibraryImport(LibC, EntryPoint = "copy_file_range", SetLastError = true)]
    private static partial nint CopyFileRangeNative(SafeHandle input, long* inputOffset, SafeHandle output, long* outputOffset, nuint length, uint flags);

    [LibraryImport(LibC, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(SafeHandle fd, nuint request, void* argument);

    [LibraryImport(LibC, EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncNative(SafeHandle fd);

    [LibraryImport(LibC, EntryPoint = "fstatfs", SetLastError = true)]
    private static partial int Fstatfs(SafeHandle fd, byte* buffer);

    [LibraryImport(LibC, EntryPoint = "fchown", SetLastError = true)]
    private static partial int Fchown(SafeHandle fd, uint owner, uint group);

    /// <summary>
    /// One <c>copy_file_range</c> call: copies up to <paramref name="length"/> bytes at the given
    /// offsets (the descriptors' own positions are not used). Returns the bytes copied (0 at the
    /// source's end), or -1 with <paramref name="errno"/> set; <c>ENOSYS</c> when the C library lacks the call.
    /// </summary>
    public static long CopyFileRange(SafeHandle source, long sourceOffset, SafeHandle destination, long destinationOffset, long length, out int errno)
    {
        long input = sourceOffset;
        long output = destinationOffset;
        while (true)
        {
            nint copied;
            try
            {
                // The offsets live on this stack frame for the duration of the call.
                copied = CopyFileRangeNative(source, &input, destination, &output, (nuint)length, 0);
            }
            catch (EntryPointNotFoundException)
            {
                errno = ENOSYS;
                return -1;
            }

            if (copied >= 0)
            {
                errno = 0;
                return copied;
            }

            errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
            {
                return -1;
            }
        }
    }

    /// <summary>
    /// Shares <paramref name="length"/> bytes of <paramref name="source"/> (0: up to its end) with
    /// <paramref name="destination"/> (<c>FICLONERANGE</c>). Offsets must be multiples of the file system's
    /// block size. Returns 0, or the errno (<c>EOPNOTSUPP</c>, <c>EXDEV</c>, <c>EINVAL</c> mean: copy instead).
    /// </summary>
    public static int CloneRange(SafeHandle source, long sourceOffset, long length, SafeHandle destination, long destinationOffset)
    {
        bool added = false;
        try
        {
            source.DangerousAddRef(ref added);
            var range = new FileCloneRange
            {
                SourceFd = source.DangerousGetHandle(),
                SourceOffset = (ulong)sourceOffset,
                SourceLength = (ulong)length,
                DestinationOffset = (ulong)destinationOffset,
            };

            // The struct lives on this stack frame; the kernel only reads it. The source descriptor is
            // kept open by the reference taken above.
            int result;
            do
            {
                result = Ioctl(destination, FICLONERANGE, &range);
            }
            while (result != 0 && Marshal.GetLastPInvokeError() == EINTR);

            return result == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        catch (EntryPointNotFoundException)
        {
            return EOPNOTSUPP;
        }
        finally
        {
            if (added)
            {
                source.DangerousRelease();
            }
        }
    }

    /// <summary><c>fsync</c>; returns 0 or the errno.</summary>
    public static int Fsync(SafeHandle fd)
    {
        int result;
        do
        {
            result = FsyncNative(fd);
        }
        while (result != 0 && Marshal.GetLastPInvokeError() == EINTR);

        return result == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>
    /// Flushes a directory's entries (a rename in it) to disk: opens it read-only and calls <c>fsync</c>.
    /// Returns 0 or the errno.
    /// </summary>
    public static int FsyncDirectory(string path)
    {
        int fd = Open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        return Fsync(handle);
    }

    /// <summary>
    /// The file system of an open file or directory: its block size and whether it can share blocks
    /// between files (XFS, btrfs, bcachefs, ZFS, OCFS2; a given mount may still refuse, which the clone reports).
    /// </summary>
    public static bool TryGetFileSystem(SafeHandle fd, out long blockSize, out bool mayShareBlocks)
    {
        blockSize = 0;
        mayShareBlocks = false;
        byte* buffer = stackalloc byte[StatfsBufferSize];
        new Span<byte>(buffer, StatfsBufferSize).Clear();
        if (Fstatfs(fd, buffer) != 0)
        {
            return false;
        }

        // The kernel filled the buffer; f_type is at 0 and f_bsize at 8 (both longs on 64-bit Linux).
        long type = *(long*)buffer & 0xFFFFFFFFL;
        blockSize = *(long*)(buffer + 8);
        mayShareBlocks = type is XfsMagic or BtrfsMagic or BcachefsMagic or ZfsMagic or Ocfs2Magic;
        return blockSize > 0;
    }

    /// <summary>The owner, group and device of an open file or directory (Linux <c>statx</c>).</summary>
    public static bool TryGetOwnership(SafeHandle fd, out uint owner, out uint group, out ulong device)
    {
        owner = group = 0;
        device = 0;
        byte* buffer = stackalloc byte[StatxSize];
        byte emptyPath = 0;
        if (Statx(fd, &emptyPath, AT_EMPTY_PATH, STATX_UID | STATX_GID, buffer) != 0)
        {
            return false;
        }

        // The kernel filled the buffer; each field is read at its fixed offset (the device is always set).
        uint mask = *(uint*)(buffer + StatxMaskOffset);
        if ((mask & (STATX_UID | STATX_GID)) != (STATX_UID | STATX_GID))
        {
            return false;
        }

        owner = *(uint*)(buffer + StatxUidOffset);
        group = *(uint*)(buffer + StatxGidOffset);
        device = ((ulong)*(uint*)(buffer + StatxDevMajorOffset) << 32) | *(uint*)(buffer + StatxDevMinorOffset);
        return true;
    }

    /// <summary>The device and inode of an open file (Linux <c>statx</c>): what names one file across paths.</summary>
    public static bool TryGetIdentity(SafeHandle fd, out ulong device, out ulong inode)
    {
        device = inode = 0;
        byte* buffer = stackalloc byte[StatxSize];
        byte emptyPath = 0;
        if (Statx(fd, &emptyPath, AT_EMPTY_PATH, STATX_INO, buffer) != 0 || (*(uint*)(buffer + StatxMaskOffset) & STATX_INO) == 0)
        {
            return false;
        }

        // The kernel filled the buffer; each field is read at its fixed offset.
        inode = *(ulong*)(buffer + StatxInodeOffset);
        device = ((ulong)*(uint*)(buffer + StatxDevMajorOffset) << 32) | *(uint*)(buffer + StatxDevMinorOffset);
        return true;
    }

    /// <summary><c>fchown</c>; returns 0 or the errno (<c>EPERM</c> for anyone but root changing the owner).</summary>
    public static int ChangeOwner(SafeHandle fd, uint owner, uint group) =>
        Fchown(fd, owner, group) == 0 ? 0 : Marshal.GetLastPInvokeError();
}
