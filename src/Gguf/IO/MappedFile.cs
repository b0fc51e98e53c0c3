using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace Gguf.IO;

/// <summary>
/// One open file and its read-only private mapping: the single source every read of the file goes through.
/// It owns the file's descriptor for its whole life; positional reads (<see cref="Read(long, Span{byte})"/>)
/// use the descriptor and the mapping is created on first use, so opening costs O(1) in the file's size and
/// nothing ever reopens the path (a file renamed over this one meanwhile is never read by mistake).
/// Every access is bounds- and overflow-checked with 64-bit offsets; code that reads mapped memory beyond
/// one call holds a <see cref="MappedFileLease"/>, so <see cref="Dispose"/> never unmaps under it, and use
/// after dispose is an <see cref="ObjectDisposedException"/>.
/// </summary>
/// <remarks>
/// A file truncated by another process while mapped makes reads of the lost pages raise SIGBUS, which .NET
/// cannot catch. Positional reads are immune; callers that read the mapping of files others may change check
/// <see cref="EnsureUnchanged"/> before a long read. See docs/security.md.
/// </remarks>
public sealed partial class MappedFile : IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly ILogger _logger;
    private MappingHandle? _mapping;
    private int _disposed;

    private MappedFile(SafeFileHandle file, string path, long length, ILogger logger)
    {
        _file = file;
        Path = path;
        Length = length;
        _logger = logger;
    }

    /// <summary>The path the file was opened with.</summary>
    public string Path { get; }

    /// <summary>The length of the file in bytes when it was opened.</summary>
    public long Length { get; }

    /// <summary>Whether the file has been disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The OS page size.</summary>
    public static int PageSize { get; } = Environment.SystemPageSize;

    /// <summary>The open descriptor, for positional reads by the layers above; owned by this object.</summary>
    internal SafeFileHandle FileHandle
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return _file;
        }
    }

    /// <summary>Opens a file for reading. The mapping is created when it is first needed.</summary>
    /// <exception cref="MappedFileException">Not found, permission denied, a directory, empty, or too large to map.</exception>
    public static MappedFile Open(string path, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        logger ??= NullLogger.Instance;
        string fullPath = System.IO.Path.GetFullPath(path);
        (SafeFileHandle file, long length) = OpenForReading(path, fullPath);
        try
        {
            if (length == 0)
            {
                throw new MappedFileException(MappedFileError.Empty, path, "file is empty");
            }

            if ((ulong)length > nuint.MaxValue)
            {
                throw new MappedFileException(MappedFileError.TooLarge, path, $"file of {length} bytes is larger than this process's address space");
            }

            return new MappedFile(file, path, length, logger);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Takes a lease that keeps the mapping alive while its memory is read; maps the file on first use.</summary>
    /// <exception cref="ObjectDisposedException">The file was disposed.</exception>
    /// <exception cref="MappedFileException">The mapping failed.</exception>
    public MappedFileLease Acquire()
    {
        MappingHandle mapping = EnsureMapped();
        var lease = new MappedFileLease(mapping);
        if (IsDisposed)
        {
            // Dispose ran while the mapping was being created; it may not have seen it.
            lease.Dispose();
            Interlocked.CompareExchange(ref _mapping, null, mapping)?.Dispose();
            throw Disposed();
        }

        return lease;
    }

    /// <summary>
    /// Reads exactly <c>destination.Length</c> bytes at <paramref name="offset"/> through the descriptor (not the
    /// mapping, so a concurrent truncation is an exception rather than SIGBUS).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the file.</exception>
    /// <exception cref="MappedFileException">The file is shorter than when it was opened.</exception>
    public void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        while (!destination.IsEmpty)
        {
            int read = ReadAt(offset, destination);
            if (read == 0)
            {
                throw new MappedFileException(MappedFileError.FileChanged, Path, $"read at offset {offset} found the end of the file: it is shorter than the {Length} bytes it had when opened");
            }

            offset += read;
            destination = destination[read..];
        }
    }

    /// <summary>One positional read (<c>pread</c>) of up to <c>destination.Length</c> bytes; returns the bytes read, 0 at the end.</summary>
    internal int ReadAt(long offset, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return ReadAtCore(_file, destination, offset);
    }

    /// <summary>
    /// Calls <paramref name="reader"/> with the mapped bytes of a range, holding a reference on the mapping for
    /// the call only; nothing is allocated. The span must not escape the call.
    /// </summary>
    internal TResult Read<TState, TResult>(long offset, int length, TState state, SpanReader<TState, TResult> reader)
    {
        MappingHandle mapping = EnsureMapped();
        bool added = false;
        try
        {
            // Throws ObjectDisposedException once the mapping is being released.
            mapping.DangerousAddRef(ref added);
            CheckRange(offset, length);
            return reader(mapping.GetSpan(offset, length), state);
        }
        finally
        {
            if (added)
            {
                mapping.DangerousRelease();
            }
        }
    }

    /// <summary>Gives the kernel access advice for a range (whole pages covering it). A hint: failures are logged, never thrown.</summary>
    public void Advise(AccessAdvice advice, long offset = 0, long length = -1)
    {
        if (length < 0)
        {
            length = Length - offset;
        }

        CheckRange(offset, length);
        using MappedFileLease lease = Acquire();
        if (length == 0)
        {
            return;
        }

        if (lease.Mapping.Advise(advice, offset, length, out string? failure))
        {
            Log.Advised(_logger, Path, offset, length, advice);
        }
        else if (failure is not null)
        {
            Log.AdviceFailed(_logger, Path, advice, failure);
        }
    }

    /// <summary>Asks the kernel to start reading a range in (<c>MADV_WILLNEED</c>).</summary>
    public void Prefetch(long offset, long length) => Advise(AccessAdvice.WillNeed, offset, length);

    /// <summary>
    /// Maps a range's pages in with one call (<c>MADV_POPULATE_READ</c>, Linux 5.14+) before it is read
    /// sequentially: one system call instead of a page fault per few pages. A hint: failures are ignored.
    /// </summary>
    internal void PopulateForRead(long offset, long length)
    {
        CheckRange(offset, length);
        if (length == 0)
        {
            return;
        }

        using MappedFileLease lease = Acquire();
        if (lease.Mapping.PopulateForRead(offset, length))
        {
            Log.Populated(_logger, Path, offset, length);
        }
    }

    /// <summary>Locks a range into memory (<c>mlock</c>).</summary>
    /// <exception cref="MappedFileException">The lock failed; the message names RLIMIT_MEMLOCK when that is the cause.</exception>
    public void Lock(long offset, long length) => OnPages(offset, length, static (m, o, l) => m.Lock(o, l), Log.Locked);

    /// <summary>Unlocks a range locked with <see cref="Lock"/>.</summary>
    public void Unlock(long offset, long length) => OnPages(offset, length, static (m, o, l) => m.Unlock(o, l), Log.Unlocked);

    /// <summary>
    /// Drops the resident pages that lie wholly inside a range already consumed (<c>MADV_DONTNEED</c>); a later
    /// read of them faults them in again from the file. Partial pages at either end are kept, except the file's
    /// final partial page, which nothing follows.
    /// </summary>
    /// <returns>The number of bytes released.</returns>
    public long Release(long offset, long length)
    {
        CheckRange(offset, length);
        if (Volatile.Read(ref _mapping) is null)
        {
            // Nothing was ever mapped, so nothing is resident through the mapping.
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return 0;
        }

        using MappedFileLease lease = Acquire();
        long released = lease.Mapping.Release(offset, length, out long first, out string? failure);
        if (released > 0)
        {
            Log.Released(_logger, Path, first, released);
        }
        else if (failure is not null)
        {
            Log.AdviceFailed(_logger, Path, AccessAdvice.Normal, failure);
        }

        return released;
    }

    /// <summary>
    /// Checks that the open file still has the length it was opened with (through the descriptor, so it is this
    /// file and not whatever the path names now): reading the mapping cannot then fault on truncated pages.
    /// </summary>
    /// <exception cref="MappedFileException">The file's length changed.</exception>
    public void EnsureUnchanged()
    {
        long current;
        try
        {
            current = RandomAccess.GetLength(FileHandle);
        }
        catch (IOException e)
        {
            throw new MappedFileException(MappedFileError.FileChanged, Path, "file can no longer be read", 0, e);
        }

        if (current != Length)
        {
            throw new MappedFileException(MappedFileError.FileChanged, Path, $"file changed size from {Length} to {current} bytes after it was opened");
        }
    }

    /// <summary>
    /// Closes the file. The mapping goes once the last lease is released; reads in flight finish first. Idempotent
    /// and thread-safe.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Interlocked.Exchange(ref _mapping, null)?.Dispose();
        _file.Dispose();
    }

    /// <summary>Checks a range against the file's length: not negative, no overflow, not past the end.</summary>
    internal void CheckRange(long offset, long length) => MappingHandle.CheckRange(Path, Length, offset, length);

    /// <summary>Runs a page operation on a checked, non-empty range of the mapping and logs it.</summary>
    private void OnPages(long offset, long length, Action<MappingHandle, long, long> operation, Action<ILogger, string, long, long> log)
    {
        CheckRange(offset, length);
        using MappedFileLease lease = Acquire();
        if (length > 0)
        {
            operation(lease.Mapping, offset, length);
            log(_logger, Path, offset, length);
        }
    }

    private MappingHandle EnsureMapped()
    {
        MappingHandle? mapping = Volatile.Read(ref _mapping);
        if (mapping is not null)
        {
            return mapping;
        }

        ObjectDisposedException.ThrowIf(IsDisposed, this);
        MappingHandle created = Map(FileHandle, Path, Length, _logger);
        mapping = Interlocked.CompareExchange(ref _mapping, created, null);
        if (mapping is not null)
        {
            // Another thread mapped the file first; use its mapping.
            created.Dispose();
            return mapping;
        }

        Log.Mapped(_logger, Path, Length, created.Address);
        return created;
    }

    private ObjectDisposedException Disposed() => new(nameof(MappedFile), $"'{Path}' was disposed");

    private static MappingHandle Map(SafeFileHandle file, string path, long length, ILogger logger)
    {
        if (OperatingSystem.IsWindows())
        {
            return MapWithView(file, path, length, logger);
        }

        return MapPosix(file, path, length, logger);
    }

    /// <summary>
    /// Opens the file for reading with the advisory lock .NET takes for <see cref="FileShare.Read"/>, and returns
    /// its length. A directory fails to open as a file; it is told apart only then, which saves a stat per open.
    /// </summary>
    private static (SafeFileHandle File, long Length) OpenForReading(string path, string fullPath)
    {
        if (TryOpenDirect(fullPath, out SafeFileHandle? direct, out long directLength))
        {
            return (direct, directLength);
        }

        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
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

        try
        {
            return (file, RandomAccess.GetLength(file));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
