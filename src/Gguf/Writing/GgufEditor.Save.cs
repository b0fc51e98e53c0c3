using System.Diagnostics;
using System.Globalization;
using Gguf.Format;
using Gguf.IO;
using Gguf.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Gguf.Writing;

public sealed partial class GgufEditor
{
    /// <summary>
    /// Saves over the source's own path (symbolic links followed). Atomic by default; see
    /// <see cref="GgufSaveOptions.Mode"/> for the in-place option.
    /// </summary>
    /// <exception cref="IOException">Writing failed (a full disk, a read-only file system, ...); the file is unchanged.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory or file may not be written; the file is unchanged.</exception>
    /// <exception cref="InvalidOperationException">An in-place save does not fit, or the source was already rewritten in place.</exception>
    public GgufSaveResult Save(GgufSaveOptions? options = null, CancellationToken cancellationToken = default) =>
        SaveCore(_sourcePath, options ?? GgufSaveOptions.Default, cancellationToken);

    /// <summary>
    /// Writes the edited file to <paramref name="path"/> (replacing it atomically when it exists), leaving the
    /// source as it is unless <paramref name="path"/> is the source. In-place saves accept only the source's path.
    /// </summary>
    /// <exception cref="IOException">Writing failed; <paramref name="path"/> is unchanged.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory or file may not be written; <paramref name="path"/> is unchanged.</exception>
    public GgufSaveResult SaveAs(string path, GgufSaveOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return SaveCore(path, options ?? GgufSaveOptions.Default, cancellationToken);
    }

    private GgufSaveResult SaveCore(string path, GgufSaveOptions options, CancellationToken cancellationToken)
    {
        ThrowIfStale();
        cancellationToken.ThrowIfCancellationRequested();
        long started = Stopwatch.GetTimestamp();
        string target = ResolveLinks(path);
        if (options.Mode == GgufSaveMode.InPlace)
        {
            if (!string.Equals(target, ResolveLinks(_sourcePath), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
            {
                throw new ArgumentException($"an in-place save rewrites the source '{_sourcePath}' itself; it cannot write '{path}'", nameof(path));
            }

            return SaveInPlace(target, options, started, cancellationToken);
        }

        return SaveAtomic(target, options, started, cancellationToken);
    }

    /// <summary>The full path, with a symbolic link at the end resolved: the link stays, the file it names is replaced.</summary>
    private static string ResolveLinks(string path)
    {
        string full = Path.GetFullPath(path);
        try
        {
            return File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException)
        {
            // A dangling or looping link: the rename replaces the link itself, as it would any file.
            return full;
        }
    }

    private GgufSaveResult SaveAtomic(string target, GgufSaveOptions options, long started, CancellationToken cancellationToken)
    {
        string directory = Path.GetDirectoryName(target) ?? throw new ArgumentException($"'{target}' has no directory", nameof(target));
        string name = Path.GetFileName(target);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"cannot save '{target}': the directory '{directory}' does not exist");
        }

        int stale = GgufEditorTempFiles.RemoveStale(directory, name);
        if (stale > 0)
        {
            EditorLog.RemovedStale(_logger, directory, stale);
        }

        EnsureWritable(target);
        GgufHeader old = _source.Header;
        EncodedHeader parts = Encode();
        SafeFileHandle? source = CopySource();
        long blockSize = !parts.Relaid && old.Tensors.Count > 0 && source is not null ? ShareableBlockSize(source, directory) : 0;

        // Reflink shares whole blocks, so the data can only be shared when its offset keeps its remainder
        // modulo the block size. GGUF places the data right after the header (aligned), so the header's
        // length decides; the padding entry makes up the difference (docs/editing.md).
        long padding = 0;
        if (blockSize > 0 && options.AllowPadding && DataOffsetFor(parts.UnpaddedLength, parts) % blockSize != old.DataOffset % blockSize)
        {
            long remainder = old.DataOffset % blockSize;
            long minimumEnd = parts.UnpaddedLength + MinimumPaddingBytes;
            long end = minimumEnd + ((((remainder - (minimumEnd % blockSize)) % blockSize) + blockSize) % blockSize);
            padding = end - parts.UnpaddedLength;
            EditorLog.Padded(_logger, target, padding, blockSize);
        }

        byte[] header = Assemble(parts, padding);
        long dataOffset = DataOffsetFor(header.Length, parts);
        long fileSize = dataOffset + parts.DataBytes;
        CheckHeader(header, parts, dataOffset, fileSize);

        bool mayClone = blockSize > 0 && dataOffset % blockSize == old.DataOffset % blockSize && parts.DataBytes > blockSize;
        cancellationToken.ThrowIfCancellationRequested();

        // Preallocating reserves the space up front, so a full disk fails before any data is copied.
        (string tempPath, SafeFileHandle temp) = CreateTemp(directory, name, target, mayClone ? 0 : fileSize);
        var copier = new DataCopier(_source, source, temp, tempPath, parts.DataBytes, options.Progress, _logger, cancellationToken);
        bool closed = false;
        bool renamed = false;
        try
        {
            CopyOwnership(target, temp);
            copier.Report(GgufSaveStage.TempFileCreated);
            RandomAccess.Write(temp, header, 0);
            WriteZeros(temp, header.Length, dataOffset - header.Length);
            copier.Report(GgufSaveStage.HeaderWritten);

            CopyData(copier, parts, dataOffset, mayClone ? blockSize : 0);
            if (RandomAccess.GetLength(temp) != fileSize)
            {
                // The padding after the last re-laid tensor (holes read as zeros).
                RandomAccess.SetLength(temp, fileSize);
            }

            copier.Report(GgufSaveStage.DataCopied);
            if (options.FlushToDisk)
            {
                FlushToDisk(temp, tempPath);
            }

            temp.Dispose();
            closed = true;
            copier.Report(GgufSaveStage.Flushed);
            cancellationToken.ThrowIfCancellationRequested();

            // rename(2): the path holds the old file until this call and the new one after it. Windows'
            // ReplaceFile keeps the old file's attributes and ACLs.
            if (OperatingSystem.IsWindows() && File.Exists(target))
            {
                File.Replace(tempPath, target, destinationBackupFileName: null, ignoreMetadataErrors: true);
            }
            else
            {
                File.Move(tempPath, target, overwrite: true);
            }
            renamed = true;
            copier.Report(GgufSaveStage.Replaced);
        }
        catch (Exception e) when (!renamed)
        {
            if (!closed)
            {
                temp.Dispose();
            }

            TryDelete(tempPath);
            throw e switch
            {
                IOException io => new IOException($"saving '{target}' failed, the file is unchanged: {io.Message}", io),
                UnauthorizedAccessException denied => new UnauthorizedAccessException($"saving '{target}' failed, the file is unchanged: {denied.Message}", denied),
                _ => e,
            };
        }

        if (options.FlushToDisk && OperatingSystem.IsLinux())
        {
            // The rename itself is durable only once the directory is.
            int errno = PosixInterop.FsyncDirectory(directory);
            if (errno != 0)
            {
                throw new IOException($"'{target}' was replaced, but flushing its directory to disk failed: {PosixInterop.Describe(errno)}");
            }
        }

        copier.Report(GgufSaveStage.Completed);
        var result = new GgufSaveResult
        {
            Path = target,
            Method = copier.Method,
            BytesWritten = dataOffset + copier.Copied,
            BytesShared = copier.Shared,
            HeaderBytes = header.Length,
            PaddingBytes = padding,
            DataOffset = dataOffset,
            Alignment = parts.Alignment,
            FileSize = fileSize,
            Relaid = parts.Relaid,
            StaleFilesRemoved = stale,
            Elapsed = Stopwatch.GetElapsedTime(started),
        };
        EditorLog.Saved(_logger, target, result.Method, result.BytesWritten, result.BytesShared, result.Elapsed.TotalMilliseconds);
        return result;
    }

    private GgufSaveResult SaveInPlace(string target, GgufSaveOptions options, long started, CancellationToken cancellationToken)
    {
        GgufHeader old = _source.Header;
        EncodedHeader parts = Encode();
        if (parts.Relaid)
        {
            throw new InvalidOperationException($"changing general.alignment from {old.Alignment} to {parts.Alignment} re-lays the tensor data, which an in-place save cannot do; save atomically instead");
        }

        // llama.cpp (and our reader) put the data at the header's end rounded up to the alignment: the new
        // header must end in the same alignment window as the old one, or be padded up to the data.
        long limit = old.DataOffset;
        long unpadded = parts.UnpaddedLength;
        long padding;
        if (unpadded <= limit && DataOffsetFor(unpadded, parts) == limit)
        {
            padding = 0;
        }
        else if (options.AllowPadding && unpadded + MinimumPaddingBytes <= limit)
        {
            padding = limit - unpadded;
        }
        else
        {
            string why = unpadded > limit
                ? $"the new header needs {unpadded} bytes but only {limit} fit before the tensor data"
                : options.AllowPadding
                    ? $"the new header leaves a gap of {limit - unpadded} bytes before the tensor data, more than the alignment padding allows ({parts.Alignment - 1}) and less than a padding entry needs ({MinimumPaddingBytes})"
                    : $"the new header leaves a gap of {limit - unpadded} bytes before the tensor data, and padding is not allowed";
            throw new InvalidOperationException($"cannot save '{target}' in place: {why}; save atomically instead");
        }

        byte[] header = Assemble(parts, padding);
        long dataOffset = DataOffsetFor(header.Length, parts);
        CheckHeader(header, parts, dataOffset, _source.FileSize);

        string directory = Path.GetDirectoryName(target)!;
        int stale = GgufEditorTempFiles.RemoveStale(directory, Path.GetFileName(target));
        using SafeFileHandle file = OpenForInPlace(target);
        if (!IsSourceFile(file))
        {
            throw new InvalidOperationException($"'{target}' is no longer the file that was opened (it was replaced or changed since); nothing was written");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var reporter = new DataCopier(_source, null, file, target, 0, options.Progress, _logger, CancellationToken.None);

        // From here the source's parsed header no longer describes the file.
        _sourceStale = true;
        RandomAccess.Write(file, header, 0);
        WriteZeros(file, header.Length, dataOffset - header.Length);
        reporter.Report(GgufSaveStage.HeaderWritten);
        if (options.FlushToDisk)
        {
            FlushToDisk(file, target);
        }

        reporter.Report(GgufSaveStage.Flushed);
        reporter.Report(GgufSaveStage.Completed);
        var result = new GgufSaveResult
        {
            Path = target,
            Method = GgufSaveMethod.InPlace,
            BytesWritten = dataOffset,
            BytesShared = 0,
            HeaderBytes = header.Length,
            PaddingBytes = padding,
            DataOffset = dataOffset,
            Alignment = parts.Alignment,
            FileSize = _source.FileSize,
            Relaid = false,
            StaleFilesRemoved = stale,
            Elapsed = Stopwatch.GetElapsedTime(started),
        };
        EditorLog.Saved(_logger, target, result.Method, result.BytesWritten, 0, result.Elapsed.TotalMilliseconds);
        return result;
    }

    private long DataOffsetFor(long headerLength, EncodedHeader parts) =>
        _source.Tensors.Count > 0 ? AlignUp(headerLength, parts.Alignment) : headerLength;

    private void CopyData(DataCopier copier, EncodedHeader parts, long dataOffset, long cloneBlockSize)
    {
        GgufHeader old = _source.Header;
        if (parts.Relaid)
        {
            for (int i = 0; i < old.Tensors.Count; i++)
            {
                GgufTensorInfo tensor = old.Tensors[i];
                copier.Copy(tensor.AbsoluteOffset, dataOffset + parts.Offsets[i], tensor.ByteSize);
            }

            return;
        }

        long from = old.DataOffset;
        long length = parts.DataBytes;
        if (cloneBlockSize > 0)
        {
            // The partial block before the first block boundary is copied; the whole blocks after it are shared.
            long head = Math.Min(length, (cloneBlockSize - (from % cloneBlockSize)) % cloneBlockSize);
            copier.Copy(from, dataOffset, head);
            if (copier.TryClone(from + head, dataOffset + head, length - head))
            {
                return;
            }

            from += head;
            dataOffset += head;
            length -= head;
        }

        copier.Copy(from, dataOffset, length);
    }

    private static (string Path, SafeFileHandle Handle) CreateTemp(string directory, string name, string target, long preallocationSize)
    {
        try
        {
            return GgufEditorTempFiles.Create(directory, name, preallocationSize);
        }
        catch (IOException e)
        {
            throw new IOException($"saving '{target}' failed, the file is unchanged: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"saving '{target}' failed, the file is unchanged: cannot create a file in '{directory}' ({e.Message})", e);
        }
    }

    /// <summary>
    /// The source's own descriptor, for <c>copy_file_range</c> and reflink (Linux only; null elsewhere, where
    /// the data is read and written). It belongs to the source's <see cref="MappedFile"/>: the path is never
    /// reopened, so a file renamed over it meanwhile (an earlier save) is never copied by mistake.
    /// </summary>
    private SafeFileHandle? CopySource() => OperatingSystem.IsLinux() ? _source.Mapping.FileHandle : null;

    /// <summary>
    /// Whether an open file is the source's file: on Linux the same device and inode as the source's
    /// descriptor; elsewhere the same length and header bytes.
    /// </summary>
    private bool IsSourceFile(SafeFileHandle file)
    {
        if (RandomAccess.GetLength(file) != _source.FileSize)
        {
            return false;
        }

        if (OperatingSystem.IsLinux()
            && PosixInterop.TryGetIdentity(_source.Mapping.FileHandle, out ulong device, out ulong inode)
            && PosixInterop.TryGetIdentity(file, out ulong fileDevice, out ulong fileInode))
        {
            return fileDevice == device && fileInode == inode;
        }

        var buffer = new byte[64 * 1024];
        var source = new byte[buffer.Length];
        for (long offset = 0; offset < _source.Header.HeaderEnd; offset += buffer.Length)
        {
            int length = (int)Math.Min(buffer.Length, _source.Header.HeaderEnd - offset);
            if (RandomAccess.Read(file, buffer.AsSpan(0, length), offset) != length)
            {
                return false;
            }

            _source.Mapping.Read(offset, source.AsSpan(0, length));
            if (!buffer.AsSpan(0, length).SequenceEqual(source.AsSpan(0, length)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The block size to keep the data congruent to, when the target directory is on a file system that
    /// can share blocks and on the same device as the source; 0 otherwise.
    /// </summary>
    private static long ShareableBlockSize(SafeFileHandle source, string directory)
    {
        int fd = PosixInterop.Open(directory, PosixInterop.O_RDONLY | PosixInterop.O_CLOEXEC);
        if (fd < 0)
        {
            return 0;
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        return PosixInterop.TryGetFileSystem(handle, out long blockSize, out bool mayShare)
            && mayShare
            && PosixInterop.TryGetOwnership(handle, out _, out _, out ulong directoryDevice)
            && PosixInterop.TryGetOwnership(source, out _, out _, out ulong sourceDevice)
            && directoryDevice == sourceDevice
            ? blockSize
            : 0;
    }

    /// <summary>Gives the new file the old one's permissions and, where allowed, its owner.</summary>
    private static void CopyOwnership(string target, SafeFileHandle temp)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(target))
        {
            return;
        }

        if (OperatingSystem.IsLinux())
        {
            int fd = PosixInterop.Open(target, PosixInterop.O_RDONLY | PosixInterop.O_CLOEXEC);
            if (fd >= 0)
            {
                using var existing = new SafeFileHandle(fd, ownsHandle: true);
                if (PosixInterop.TryGetOwnership(existing, out uint owner, out uint group, out _)
                    && PosixInterop.TryGetOwnership(temp, out uint tempOwner, out uint tempGroup, out _)
                    && (owner != tempOwner || group != tempGroup))
                {
                    // Only root may give a file away; anyone else keeps the new file as their own.
                    _ = PosixInterop.ChangeOwner(temp, owner, group);
                }
            }
        }

        // After the owner: changing the owner clears set-id bits.
        File.SetUnixFileMode(temp, File.GetUnixFileMode(target));
    }

    private static SafeFileHandle OpenForInPlace(string target)
    {
        try
        {
            return File.OpenHandle(target, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"cannot save '{target}' in place: it may not be written ({e.Message}); it is unchanged", e);
        }
        catch (IOException e)
        {
            throw new IOException($"cannot save '{target}' in place: {e.Message}; it is unchanged", e);
        }
    }

    /// <summary>
    /// Refuses to replace a file this process may not write (read-only by permission, immutable, or on a
    /// read-only mount), although the rename alone would only need the directory to be writable.
    /// </summary>
    private static void EnsureWritable(string target)
    {
        if (!File.Exists(target))
        {
            return;
        }

        try
        {
            // Opening for writing without truncation changes nothing, not even the modification time.
            using SafeFileHandle probe = File.OpenHandle(target, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"cannot save '{target}': it may not be written ({e.Message}); it is unchanged", e);
        }
        catch (IOException e)
        {
            throw new IOException($"cannot save '{target}': it may not be written ({e.Message}); it is unchanged", e);
        }
    }

    private static void FlushToDisk(SafeFileHandle file, string path)
    {
        if (OperatingSystem.IsLinux())
        {
            int errno = PosixInterop.Fsync(file);
            if (errno != 0)
            {
                throw new IOException($"flushing '{path}' to disk failed: {PosixInterop.Describe(errno)}");
            }

            return;
        }

        // FileStream.Flush(true) is fsync (F_FULLFSYNC on macOS, FlushFileBuffers on Windows). Disposing the
        // stream closes the handle, which the caller closes next anyway.
        using var stream = new FileStream(file, FileAccess.ReadWrite, bufferSize: 0);
        stream.Flush(flushToDisk: true);
    }

    private static void WriteZeros(SafeFileHandle file, long offset, long count)
    {
        if (count <= 0)
        {
            return;
        }

        var zeros = new byte[(int)Math.Min(count, 64 * 1024)];
        for (long done = 0; done < count; done += zeros.Length)
        {
            RandomAccess.Write(file, zeros.AsSpan(0, (int)Math.Min(zeros.Length, count - done)), offset + done);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The next save removes it (GgufEditorTempFiles.RemoveStale).
        }
    }
}
