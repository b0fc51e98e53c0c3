using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Gguf.IO;

/// <summary>The POSIX side of <see cref="MappedFile"/>: the direct Linux open, <c>pread</c> and <c>mmap</c>.</summary>
public sealed partial class MappedFile
{
    // The direct Linux open and read paths; switched off for good if the C library lacks a call.
    private static bool s_direct = OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>
    /// Linux: <c>open</c>, <c>statx</c> and <c>flock(LOCK_SH)</c> called directly, two system calls fewer per
    /// open than <see cref="File.OpenHandle"/> with <see cref="RandomAccess.GetLength"/>, with the same advisory
    /// lock .NET takes for <see cref="FileShare.Read"/>. Anything unusual (an error, not a regular file, empty,
    /// contended) returns false, and the .NET path then reports it exactly as it always has.
    /// </summary>
    private static bool TryOpenDirect(string fullPath, [NotNullWhen(true)] out SafeFileHandle? file, out long length)
    {
        file = null;
        length = 0;
        if (!s_direct || fullPath.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        int fd;
        try
        {
            fd = PosixInterop.Open(fullPath, PosixInterop.O_RDONLY | PosixInterop.O_CLOEXEC);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            s_direct = false;
            return false;
        }

        if (fd < 0)
        {
            return false;
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        bool regular;
        try
        {
            regular = PosixInterop.TryGetRegularFileSize(handle, out length);
        }
        catch (EntryPointNotFoundException)
        {
            // A C library without statx.
            s_direct = false;
            handle.Dispose();
            return false;
        }

        // Closing the descriptor also drops the advisory lock.
        if (!regular || length == 0 || PosixInterop.Flock(handle, PosixInterop.LOCK_SH | PosixInterop.LOCK_NB) != 0)
        {
            handle.Dispose();
            return false;
        }

        file = handle;
        return true;
    }

    private static unsafe int ReadAtCore(SafeFileHandle file, Span<byte> destination, long offset)
    {
        if (s_direct)
        {
            fixed (byte* buffer = destination)
            {
                nint read;
                do
                {
                    read = PosixInterop.PRead(file, buffer, (nuint)destination.Length, offset);
                }
                while (read < 0 && Marshal.GetLastPInvokeError() == PosixInterop.EINTR);

                if (read >= 0)
                {
                    return (int)read;
                }
            }
        }

        // Elsewhere, and to report a failure as .NET does.
        return RandomAccess.Read(file, destination, offset);
    }

    private static PosixMappingHandle MapPosix(SafeFileHandle file, string path, long length, ILogger logger)
    {
        bool added = false;
        try
        {
            // The descriptor must stay open while mmap reads it.
            file.DangerousAddRef(ref added);
            int fd = (int)file.DangerousGetHandle();
            IntPtr address = PosixInterop.Mmap(IntPtr.Zero, (nuint)length, PosixInterop.PROT_READ, PosixInterop.MAP_PRIVATE, fd, 0);
            if (address == PosixInterop.MapFailed)
            {
                int errno = Marshal.GetLastPInvokeError();
                (MappedFileError error, string what) = errno switch
                {
                    PosixInterop.ENOMEM => (MappedFileError.OutOfAddressSpace, $"out of memory or address space mapping {length} bytes"),
                    PosixInterop.EACCES or PosixInterop.EPERM => (MappedFileError.PermissionDenied, "permission denied mapping the file"),
                    _ => (MappedFileError.MapFailed, "mmap failed"),
                };
                throw new MappedFileException(error, path, $"{what}: {PosixInterop.Describe(errno)}", errno);
            }

            return new PosixMappingHandle(address, path, length, logger);
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
