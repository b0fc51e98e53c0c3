using System.Runtime.InteropServices;

namespace Gguf.IO;

/// <summary>The few libc calls the mapping layer needs (Linux and macOS share these numbers).</summary>
internal static unsafe partial class PosixInterop
{
    private const string LibC = "libc";

    public const int PROT_READ = 0x1;
    public const int MAP_PRIVATE = 0x02;
    public const int MADV_NORMAL = 0;
    public const int MADV_RANDOM = 1;
    public const int MADV_SEQUENTIAL = 2;
    public const int MADV_WILLNEED = 3;
    public const int MADV_DONTNEED = 4;
    public const int MADV_HUGEPAGE = 14;
    public const int EACCES = 13;
    public const int EPERM = 1;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;

    public static readonly IntPtr MapFailed = new(-1);

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

    [LibraryImport(LibC, EntryPoint = "strerror")]
    private static partial IntPtr StrError(int errorNumber);

    public static string Describe(int errorNumber)
    {
        IntPtr text = StrError(errorNumber);
        return text == IntPtr.Zero ? $"errno {errorNumber}" : $"{Marshal.PtrToStringUTF8(text)} (errno {errorNumber})";
    }
}
