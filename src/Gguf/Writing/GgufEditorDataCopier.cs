using System.Buffers;
using Gguf.IO;
using Gguf.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Gguf.Writing;

/// <summary>
/// Moves tensor data from the source file into the editor's new file by the fastest path that works:
/// block sharing (reflink), then <c>copy_file_range</c> (the kernel copies, nothing passes through this
/// process), then reads through the source's descriptor and writes. Reports progress and honours cancellation
/// between steps of <see cref="StepBytes"/>.
/// </summary>
internal sealed class DataCopier(
    GgufFile sourceFile,
    SafeFileHandle? source,
    SafeFileHandle destination,
    string destinationPath,
    long totalBytes,
    IProgress<GgufSaveProgress>? progress,
    ILogger logger,
    CancellationToken cancellationToken)
{
    /// <summary>The most bytes one copy step moves: progress and cancellation come between steps.</summary>
    public const int StepBytes = 16 << 20;

    /// <summary>The buffer of the read/write path.</summary>
    private const int ReadWriteBytes = 4 << 20;

    private bool _copyFileRange = source is not null && OperatingSystem.IsLinux();
    private bool _usedCopyFileRange;
    private bool _usedReadWrite;
    private long _done;

    /// <summary>Data bytes copied (not shared).</summary>
    public long Copied { get; private set; }

    /// <summary>Data bytes shared by reflink.</summary>
    public long Shared { get; private set; }

    /// <summary>The path the bulk of the data took.</summary>
    public GgufSaveMethod Method =>
        Shared > 0 && Shared >= Copied ? GgufSaveMethod.Reflink :
        _usedReadWrite ? GgufSaveMethod.ReadWrite :
        _usedCopyFileRange || _copyFileRange ? GgufSaveMethod.CopyFileRange :
        GgufSaveMethod.ReadWrite;

    public void Report(GgufSaveStage stage) => progress?.Report(new GgufSaveProgress(stage, _done, totalBytes));

    /// <summary>
    /// Shares <paramref name="length"/> bytes at <paramref name="from"/> (a block boundary) into the new file
    /// at <paramref name="to"/> (the same remainder); false when the file system cannot, and the caller copies.
    /// </summary>
    public bool TryClone(long from, long to, long length)
    {
        if (source is null || length <= 0 || !OperatingSystem.IsLinux())
        {
            return false;
        }

        cancellationToken.ThrowIfCancellationRequested();

        // A range that ends at the source's end is given as "to the end" (0): the last block may be partial.
        long request = from + length == sourceFile.FileSize ? 0 : length;
        int errno = PosixInterop.CloneRange(source, from, request, destination, to);
        if (errno == 0)
        {
            Shared += length;
            _done += length;
            Report(GgufSaveStage.CopyingData);
            return true;
        }

        if (errno is PosixInterop.ENOSPC or PosixInterop.EDQUOT or PosixInterop.EFBIG or PosixInterop.EIO)
        {
            throw new IOException($"writing '{destinationPath}' failed: {PosixInterop.Describe(errno)}");
        }

        // EOPNOTSUPP, EXDEV, EINVAL (unaligned or unsupported), ...: the copy below does the work.
        EditorLog.CloneRefused(logger, destinationPath, errno);
        return false;
    }

    /// <summary>Copies <paramref name="length"/> bytes of the source at <paramref name="from"/> to the new file at <paramref name="to"/>.</summary>
    public void Copy(long from, long to, long length)
    {
        long end = from + length;
        while (from < end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long step = Math.Min(StepBytes, end - from);
            long moved = _copyFileRange ? CopyFileRangeStep(from, to, step) : 0;
            if (moved == 0)
            {
                moved = ReadAndWrite(from, to, step);
            }

            from += moved;
            to += moved;
            Copied += moved;
            _done += moved;
            Report(GgufSaveStage.CopyingData);
        }
    }

    /// <summary>One <c>copy_file_range</c> call; 0 when it is not available here (read/write takes over for good).</summary>
    private long CopyFileRangeStep(long from, long to, long step)
    {
        long copied = PosixInterop.CopyFileRange(source!, from, destination, to, step, out int errno);
        if (copied > 0)
        {
            _usedCopyFileRange = true;
            return copied;
        }

        if (copied == 0)
        {
            throw new IOException($"'{sourceFile.Path}' ended at offset {from} while its data was being copied (was it truncated?)");
        }

        if (errno is PosixInterop.EXDEV or PosixInterop.ENOSYS or PosixInterop.EINVAL or PosixInterop.EOPNOTSUPP or PosixInterop.EBADF or PosixInterop.ETXTBSY)
        {
            // Not supported between these files (old kernels across file systems, special files, ...).
            EditorLog.CopyFileRangeRefused(logger, destinationPath, errno);
            _copyFileRange = false;
            return 0;
        }

        throw new IOException($"writing '{destinationPath}' failed: {PosixInterop.Describe(errno)}");
    }

    /// <summary>
    /// Reads a step through the source's descriptor (<c>pread</c>: a concurrent truncation is an exception,
    /// never SIGBUS) and writes it, in pieces of <see cref="ReadWriteBytes"/>.
    /// </summary>
    private long ReadAndWrite(long from, long to, long step)
    {
        _usedReadWrite = true;
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(step, ReadWriteBytes));
        try
        {
            for (long done = 0; done < step;)
            {
                int length = (int)Math.Min(buffer.Length, step - done);
                sourceFile.Mapping.Read(from + done, buffer.AsSpan(0, length));
                RandomAccess.Write(destination, buffer.AsSpan(0, length), to + done);
                done += length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return step;
    }
}
