using Gguf.IO;
using Microsoft.Extensions.Logging;

namespace Gguf.Writing;

/// <summary>Source-generated events of the metadata editor.</summary>
internal static partial class EditorLog
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Saved '{Path}' by {Method}: {BytesWritten} bytes written, {BytesShared} bytes shared, {Milliseconds:F1} ms")]
    public static partial void Saved(ILogger logger, string path, GgufSaveMethod method, long bytesWritten, long bytesShared, double milliseconds);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Removed {Count} temporary file(s) of interrupted saves in '{Directory}'")]
    public static partial void RemovedStale(ILogger logger, string directory, int count);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Padding '{Path}' by {Bytes} bytes so its data keeps its offset modulo the {BlockSize}-byte block for reflink")]
    public static partial void Padded(ILogger logger, string path, long bytes, long blockSize);

    public static void CloneRefused(ILogger logger, string path, int errno)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
#pragma warning disable CA1873 // Guarded by IsEnabled just above.
            CloneRefusedCore(logger, path, PosixInterop.Describe(errno));
#pragma warning restore CA1873
        }
    }

    public static void CopyFileRangeRefused(ILogger logger, string path, int errno)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
#pragma warning disable CA1873 // Guarded by IsEnabled just above.
            CopyFileRangeRefusedCore(logger, path, PosixInterop.Describe(errno));
#pragma warning restore CA1873
        }
    }

    [LoggerMessage(EventId = 104, Level = LogLevel.Debug, Message = "Reflink into '{Path}' refused ({Reason}); copying instead")]
    private static partial void CloneRefusedCore(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 105, Level = LogLevel.Debug, Message = "copy_file_range into '{Path}' refused ({Reason}); reading and writing instead")]
    private static partial void CopyFileRangeRefusedCore(ILogger logger, string path, string reason);
}
