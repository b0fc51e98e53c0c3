using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace Gguf.IO;

/// <summary>
/// A whole file mapped read-only and private. Opening costs O(1) in the file's size: pages are read on
/// first touch. Every access is bounds- and overflow-checked with 64-bit offsets; code that reads the
/// memory beyond one call holds a <see cref="MappedFileLease"/>, so <see cref="Dispose"/> never unmaps
/// under it, and use after dispose is an <see cref="ObjectDisposedException"/>.
/// </summary>
/// <remarks>
/// A file truncated by another process while mapped makes reads of the lost pages raise SIGBUS, which
/// .NET cannot catch. Callers that load from files others may change should check
/// <see cref="EnsureUnchanged"/> before a long read; see docs/security.md.
/// </remarks>
public sealed class MappedFile : IDisposable
{
    // The direct Linux open path (TryOpenDirect); switched off for good if the C library lacks a call.
    private static bool s_directOpen = OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    private readonly ILogger _logger;
    private MappingHandle? _handle;
    private bool _transferred;

    private MappedFile(MappingHandle handle, ILogger logger)
    {
        _handle = handle;
        _logger = logger;
        Path = handle.Path;
        Length = handle.Length;
    }

    /// <summary>The path the file was opened with.</summary>
    public string Path { get; }

    /// <summary>The length of the file in bytes.</summary>
    public long Length { get; }

    /// <summary>Whether the mapping has been disposed or handed to another owner.</summary>
    public bool IsDisposed => _handle is null || _handle.IsClosed;

    /// <summary>The OS page size.</summary>
    public static int PageSize { get; } = Environment.SystemPageSize;

    /// <summary>Opens and maps a file.</summary>
    /// <exception cref="MappedFileException">Not found, permission denied, a directory, empty, or the mapping failed.</exception>
    public static MappedFile Open(string path, ILogger? logger = null) => Open(path, logger, keepFile: false, out _);

    /// <summary>
    /// Opens and maps a file. With <paramref name="keepFile"/> the descriptor stays open and is handed to
    /// the caller, who disposes it (null on Windows, where the mapping owns it), so the caller can read
    /// the head of the file without faulting in mapped pages.
    /// </summary>
    internal static MappedFile Open(string path, ILogger? logger, bool keepFile, out SafeFileHandle? keptFile)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        logger ??= NullLogger.Instance;
        string fullPath = System.IO.Path.GetFullPath(path);
        keptFile = null;
        if (s_directOpen && TryOpenDirect(path, fullPath, logger, keepFile, out MappedFile? mapped, ref keptFile))
        {
            return mapped;
        }

        // A directory fails to open as a file; it is told apart only then, which saves a stat per open.
        SafeFileHandle file = OpenHandle(path, fullPath);
        MappingHandle? handle = null;
        try
        {
            long length = RandomAccess.GetLength(file);
            if (length == 0)
            {
                throw new MappedFileException(MappedFileError.Empty, path, "file is empty");
            }

            if ((ulong)length > nuint.MaxValue)
            {
                throw new MappedFileException(MappedFileError.TooLarge, path, $"file of {length} bytes is larger than this process's address space");
            }

            handle = OperatingSystem.IsWindows() ? MapWithView(file, path, length, logger) : MapPosix(file, path, length, logger);
            Log.Mapped(logger, path, length, handle.Address);
            return new MappedFile(handle, logger);
        }
        finally
        {
            // The mapping keeps its own reference to the file; the descriptor is not needed any more,
            // unless the caller asked to read through it.
            if (handle is not null && keepFile && !OperatingSystem.IsWindows())
            {
                keptFile = file;
            }
            else if (handle is null || !OperatingSystem.IsWindows())
            {
                file.Dispose();
            }
        }
    }

    /// <summary>
    /// Reads up to <c>destination.Length</c> bytes at <paramref name="offset"/> of a file kept open by
    /// <see cref="Open(string, ILogger?, bool, out SafeFileHandle?)"/>; returns the bytes read, 0 at the end.
    /// </summary>
    internal static unsafe int ReadAt(SafeFileHandle file, Span<byte> destination, long offset)
    {
        if (s_directOpen)
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

    /// <summary>Takes a lease that keeps the mapping alive while its memory is read.</summary>
    /// <exception cref="ObjectDisposedException">The file was disposed or its ownership transferred.</exception>
    public MappedFileLease Acquire() => new(Handle);

    /// <summary>Copies <c>destination.Length</c> bytes at <paramref name="offset"/> into <paramref name="destination"/>.</summary>
    public void Read(long offset, Span<byte> destination)
    {
        using MappedFileLease lease = Acquire();
        lease.GetSpan(offset, destination.Length).CopyTo(destination);
    }

    /// <summary>Gives the kernel access advice for a range (whole pages covering it).</summary>
    public void Advise(AccessAdvice advice, long offset = 0, long length = -1)
    {
        int code = advice switch
        {
            AccessAdvice.Sequential => PosixInterop.MADV_SEQUENTIAL,
            AccessAdvice.Random => PosixInterop.MADV_RANDOM,
            AccessAdvice.WillNeed => PosixInterop.MADV_WILLNEED,
            _ => PosixInterop.MADV_NORMAL,
        };
        if (length < 0)
        {
            length = Length - offset;
        }

        using MappedFileLease lease = Acquire();
        CheckRange(Handle, offset, length);
        if (OperatingSystem.IsWindows() || length == 0)
        {
            return;
        }

        (IntPtr start, nuint size) = OuterPages(lease.DangerousGetAddress(), offset, length);

        // Advice is a hint: a failure is logged, never thrown.
        if (PosixInterop.Madvise(start, size, code) != 0)
        {
            LogAdviceFailed(advice, Marshal.GetLastPInvokeError());
            return;
        }

        Log.Advised(_logger, Path, offset, length, advice);
    }

    /// <summary>
    /// Maps a range's pages in with one call (<c>MADV_POPULATE_READ</c>, Linux 5.14+) before it is read
    /// sequentially: one system call instead of a page fault per few pages. A hint: failures are ignored.
    /// </summary>
    internal void PopulateForRead(long offset, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return;
        }

        using MappedFileLease lease = Acquire();
        CheckRange(Handle, offset, length);
        (IntPtr start, nuint size) = OuterPages(lease.DangerousGetAddress(), offset, length);
        if (PosixInterop.Madvise(start, size, PosixInterop.MADV_POPULATE_READ) == 0)
        {
            Log.Populated(_logger, Path, offset, length);
        }
    }

    /// <summary>Asks the kernel to start reading a range in (<c>MADV_WILLNEED</c>).</summary>
    public void Prefetch(long offset, long length) => Advise(AccessAdvice.WillNeed, offset, length);

    /// <summary>Locks a range into memory (<c>mlock</c>).</summary>
    /// <exception cref="MappedFileException">The lock failed; the message names RLIMIT_MEMLOCK when that is the cause.</exception>
    public void Lock(long offset, long length)
    {
        using MappedFileLease lease = Acquire();
        CheckRange(Handle, offset, length);
        if (OperatingSystem.IsWindows() || length == 0)
        {
            return;
        }

        (IntPtr start, nuint size) = OuterPages(lease.DangerousGetAddress(), offset, length);
        if (PosixInterop.Mlock(start, size) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string hint = errno is PosixInterop.ENOMEM or PosixInterop.EPERM or PosixInterop.EAGAIN
                ? "; the process's RLIMIT_MEMLOCK is too low (raise it with 'ulimit -l' or the container's memlock limit)"
                : "";
            throw new MappedFileException(MappedFileError.LockFailed, Path, $"mlock of {length} bytes at offset {offset} failed: {PosixInterop.Describe(errno)}{hint}", errno);
        }

        Log.Locked(_logger, Path, offset, length);
    }

    /// <summary>Unlocks a range locked with <see cref="Lock"/>.</summary>
    public void Unlock(long offset, long length)
    {
        using MappedFileLease lease = Acquire();
        CheckRange(Handle, offset, length);
        if (OperatingSystem.IsWindows() || length == 0)
        {
            return;
        }

        (IntPtr start, nuint size) = OuterPages(lease.DangerousGetAddress(), offset, length);
        _ = PosixInterop.Munlock(start, size);
        Log.Unlocked(_logger, Path, offset, length);
    }

    /// <summary>
    /// Drops the resident pages that lie wholly inside a range already consumed (<c>MADV_DONTNEED</c>);
    /// a later read of them faults them in again from the file. Partial pages at either end are kept.
    /// </summary>
    /// <returns>The number of bytes released.</returns>
    public long Release(long offset, long length)
    {
        using MappedFileLease lease = Acquire();
        CheckRange(Handle, offset, length);
        long address = lease.DangerousGetAddress();
        long first = AlignUp(address + offset, PageSize);
        long last = AlignDown(address + offset + length, PageSize);

        // The final partial page of the file may be released whole: nothing follows it.
        if (offset + length == Length)
        {
            last = AlignUp(address + offset + length, PageSize);
        }

        if (last <= first || OperatingSystem.IsWindows())
        {
            return 0;
        }

        if (PosixInterop.Madvise(new IntPtr(first), (nuint)(last - first), PosixInterop.MADV_DONTNEED) != 0)
        {
            LogAdviceFailed(AccessAdvice.Normal, Marshal.GetLastPInvokeError());
            return 0;
        }

        Log.Released(_logger, Path, first - address, last - first);
        return last - first;
    }

    /// <summary>
    /// Checks that the file on disk still has the length it was mapped with, so that reading the mapping
    /// cannot fault on pages a truncation removed.
    /// </summary>
    /// <exception cref="MappedFileException">The file is gone or its length changed.</exception>
    public void EnsureUnchanged()
    {
        long current;
        try
        {
            current = new FileInfo(Path).Length;
        }
        catch (IOException e)
        {
            throw new MappedFileException(MappedFileError.FileChanged, Path, "file can no longer be read", 0, e);
        }

        if (current != Length)
        {
            throw new MappedFileException(MappedFileError.FileChanged, Path, $"file changed size from {Length} to {current} bytes after it was mapped");
        }
    }

    /// <summary>
    /// Moves the mapping to a new owner. The returned object keeps working; this one behaves as disposed
    /// and its <see cref="Dispose"/> no longer unmaps.
    /// </summary>
    public MappedFile TransferOwnership()
    {
        MappingHandle handle = Handle;
        _handle = null;
        _transferred = true;
        Log.Transferred(_logger, Path);
        return new MappedFile(handle, _logger);
    }

    /// <summary>Unmaps the file once the last lease is released. Idempotent.</summary>
    public void Dispose()
    {
        MappingHandle? handle = Interlocked.Exchange(ref _handle, null);
        handle?.Dispose();
    }

    private void LogAdviceFailed(AccessAdvice advice, int errno)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
#pragma warning disable CA1873 // Guarded by IsEnabled just above.
            Log.AdviceFailed(_logger, Path, advice, PosixInterop.Describe(errno));
#pragma warning restore CA1873
        }
    }

    internal static void CheckRange(MappingHandle handle, long offset, long length)
    {
        if (offset < 0 || length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"offset {offset} and length {length} must not be negative ('{handle.Path}')");
        }

        if (length > long.MaxValue - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"offset {offset} + length {length} overflows ('{handle.Path}')");
        }

        if (offset + length > handle.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"range [{offset}, {offset + length}) is past the end of the {handle.Length}-byte file '{handle.Path}'");
        }
    }

    private MappingHandle Handle =>
        _handle ?? throw new ObjectDisposedException(nameof(MappedFile), _transferred ? $"ownership of the mapping of '{Path}' was transferred" : $"the mapping of '{Path}' was disposed");

    private static SafeFileHandle OpenHandle(string path, string fullPath)
    {
        try
        {
            return File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && Directory.Exists(fullPath))
        {
            throw new MappedFileException(MappedFileError.IsDirectory, path, "is a directory, not a file");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new MappedFileException(MappedFileError.NotFound, path, "file not found", 0, e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new MappedFileException(MappedFileError.PermissionDenied, path, "permission denied", PosixInterop.EACCES, e);
        }
        catch (IOException e)
        {
            throw new MappedFileException(MappedFileError.OpenFailed, path, $"cannot open file ({e.Message})", 0, e);
        }
    }

    /// <summary>
    /// Linux: <c>open</c>, <c>statx</c>, <c>flock(LOCK_SH)</c> and <c>mmap</c> called directly, two system
    /// calls fewer per open than <see cref="File.OpenHandle"/> with <see cref="RandomAccess.GetLength"/>
    /// (a second fstat and an explicit unlock before close), with the same advisory lock .NET takes for
    /// <see cref="FileShare.Read"/>. Anything unusual (an error, not a regular file, empty, contended)
    /// returns false before any mapping exists, and the .NET path then reports it exactly as it always has.
    /// </summary>
    private static bool TryOpenDirect(string path, string fullPath, ILogger logger, bool keepFile, [NotNullWhen(true)] out MappedFile? mapped, ref SafeFileHandle? keptFile)
    {
        mapped = null;
        if (fullPath.Contains('\0', StringComparison.Ordinal))
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
            s_directOpen = false;
            return false;
        }

        if (fd < 0)
        {
            return false;
        }

        var file = new SafeFileHandle(fd, ownsHandle: true);
        bool kept = false;
        try
        {
            bool regular;
            long length;
            try
            {
                regular = PosixInterop.TryGetRegularFileSize(file, out length);
            }
            catch (EntryPointNotFoundException)
            {
                // A C library without statx.
                s_directOpen = false;
                return false;
            }

            if (!regular || length == 0 || PosixInterop.Flock(file, PosixInterop.LOCK_SH | PosixInterop.LOCK_NB) != 0)
            {
                return false;
            }

            IntPtr address = PosixInterop.Mmap(IntPtr.Zero, (nuint)length, PosixInterop.PROT_READ, PosixInterop.MAP_PRIVATE, fd, 0);
            if (address == PosixInterop.MapFailed)
            {
                return false;
            }

            var handle = new PosixMappingHandle(address, path, length, logger);
            Log.Mapped(logger, path, length, handle.Address);
            mapped = new MappedFile(handle, logger);
            if (keepFile)
            {
                keptFile = file;
                kept = true;
            }

            return true;
        }
        finally
        {
            // Closing the descriptor also drops the advisory lock.
            if (!kept)
            {
                file.Dispose();
            }
        }
    }

    private static PosixMappingHandle MapPosix(SafeFileHandle file, string path, long length, ILogger logger)
    {
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

    private static ViewMappingHandle MapWithView(SafeFileHandle file, string path, long length, ILogger logger)
    {
        try
        {
            return new ViewMappingHandle(new FileStream(file, FileAccess.Read, 1), path, length, logger);
        }
        catch (IOException e)
        {
            throw new MappedFileException(MappedFileError.MapFailed, path, $"mapping failed ({e.Message})", 0, e);
        }
    }

    private static (IntPtr Start, nuint Size) OuterPages(IntPtr baseAddress, long offset, long length)
    {
        long start = AlignDown(baseAddress + offset, PageSize);
        long end = AlignUp(baseAddress + offset + length, PageSize);
        return (new IntPtr(start), (nuint)(end - start));
    }

    private static long AlignDown(long value, long alignment) => value & ~(alignment - 1);

    private static long AlignUp(long value, long alignment) => (value + alignment - 1) & ~(alignment - 1);
}
