using Microsoft.Extensions.Logging;

namespace Gguf.IO;

/// <summary>Source-generated Debug events for every mapping and native memory operation.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Mapped '{Path}': {Length} bytes at 0x{Address:X} (read-only, private)")]
    public static partial void Mapped(ILogger logger, string path, long length, long address);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Unmapped '{Path}': {Length} bytes at 0x{Address:X}")]
    public static partial void Unmapped(ILogger logger, string path, long length, long address);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Advised '{Path}' [{Offset}, +{Length}): {Advice}")]
    public static partial void Advised(ILogger logger, string path, long offset, long length, AccessAdvice advice);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Locked '{Path}' [{Offset}, +{Length})")]
    public static partial void Locked(ILogger logger, string path, long offset, long length);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Unlocked '{Path}' [{Offset}, +{Length})")]
    public static partial void Unlocked(ILogger logger, string path, long offset, long length);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Released '{Path}' [{Offset}, +{Length}) from memory")]
    public static partial void Released(ILogger logger, string path, long offset, long length);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "Advice {Advice} for '{Path}' failed: {Reason}")]
    public static partial void AdviceFailed(ILogger logger, string path, AccessAdvice advice, string reason);

    [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "Populated '{Path}' [{Offset}, +{Length}) for reading")]
    public static partial void Populated(ILogger logger, string path, long offset, long length);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Allocated {Kind} memory: {Length} bytes at 0x{Address:X} ({How})")]
    public static partial void HostMemoryAllocated(ILogger logger, string kind, long length, long address, string how);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "Freed {Kind} memory: {Length} bytes at 0x{Address:X}")]
    public static partial void HostMemoryFreed(ILogger logger, string kind, long length, long address);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "MADV_POPULATE_WRITE unavailable (errno {Errno}: a kernel before Linux 5.14); touching pages instead")]
    public static partial void PopulateWriteUnavailable(ILogger logger, int errno);
}
