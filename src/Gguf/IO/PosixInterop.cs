using System.Runtime.InteropServices;

namespace Gguf.IO;

/// <summary>The few libc calls the mapping layer needs (Linux and macOS share these numbers).</summary>
internal static unsafe partial class PosixInterop
{
    private const string LibC = "libc";

    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int MAP_PRIVATE = 0x02;
    public const int MADV_NORMAL = 0;
    public const int MADV_RANDOM = 1;
    public const int MADV_SEQUENTIAL = 2;
    public const int MADV_WILLNEED = 3;
    public const int MADV_DONTNEED = 4;
    public const int MADV_HUGEPAGE = 14;
    public const int MADV_POPULATE_READ = 22;
    public const int MADV_POPULATE_WRITE = 23;
    public const int EACCES = 13;
    public const int EPERM = 1;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;

    public static readonly IntPtr MapFailed = new(-1);

    // Linux values (the same on x86-64 and arm64): anonymous mappings, open flags, flock operations, statx.
    public const int MAP_ANONYMOUS = 0x20;
    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000;
    public const int LOCK_SH = 1;
    public const int LOCK_NB = 4;
    public const int AT_EMPTY_PATH = 0x1000;
    public const uint STATX_TYPE = 0x1;
    public const uint STATX_SIZE = 0x200;
    public const int EINTR = 4;
    private const int S_IFMT = 0xF000;
    private const int S_IFREG = 0x8000;

    // struct statx is the same on every Linux architecture: stx_mask at 0, stx_mode (u16) at 28,
    // stx_size (u64) at 40, 256 bytes in all.
    private const int StatxSize = 256;
    private const int StatxMaskOffset = 0;
    private const int StatxModeOffset = 28;
    private const int StatxSizeOffset = 40;

    [LibraryImport(LibC, EntryPoint = "mmap", SetLastError = true)]
    public static partial IntPtr Mmap(IntPtr address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport(LibC, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(IntPtr address, nuint length);

    [LibraryImport(LibC, EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(IntPtr address, nuint length, int advice);

    [LibraryImport(LibC, EntryPoint = "mlock", SetLastError = true)]
    public static partial int Mlock(IntPtr address, nuint length);

    [LibraryImport(LibC, EntryPoint = "munlock", SetLastError = true)]
    public static partial int Munlock(IntPtr address, nuint length);

    [LibraryImport(LibC, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags);

    [LibraryImport(LibC, EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(SafeHandle fd, int operation);

    [LibraryImport(LibC, EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(SafeHandle fd, byte* buffer, nuint count, long offset);

    [LibraryImport(LibC, EntryPoint = "statx", SetLastError = true)]
    private static partial int Statx(SafeHandle fd, byte* path, int flags, uint mask, byte* buffer);

    /// <summary>The size of an open regular file (Linux <c>statx</c>); false for any other kind of file or a failure.</summary>
    public static bool TryGetRegularFileSize(SafeHandle fd, out long size)
    {
        size = 0;
        byte* buffer = stackalloc byte[StatxSize];
        byte emptyPath = 0;
        if (Statx(fd, &emptyPath, AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, buffer) != 0)
        {
            return false;
        }

        // The kernel fills the buffer it was given; each field is read at its fixed offset.
        uint mask = *(uint*)(buffer + StatxMaskOffset);
        int mode = *(ushort*)(buffer + StatxModeOffset);
        if ((mask & (STATX_TYPE | STATX_SIZE)) != (STATX_TYPE | STATX_SIZE) || (mode & S_IFMT) != S_IFREG)
        {
            return false;
        }

        size = *(long*)(buffer + StatxSizeOffset);
        return true;
    }

    [LibraryImport(LibC, EntryPoint = "strerror")]
    private static partial IntPtr StrError(int errorNumber);

    public static string Describe(int errorNumber)
    {
        IntPtr text = StrError(errorNumber);
        return text == IntPtr.Zero ? $"errno {errorNumber}" : $"{Marshal.PtrToStringUTF8(text)} (errno {errorNumber})";
    }
}
