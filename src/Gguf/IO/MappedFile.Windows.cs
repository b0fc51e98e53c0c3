using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Gguf.IO;

/// <summary>The Windows side of <see cref="MappedFile"/>: a read-only view through the BCL's memory-mapped files.</summary>
public sealed partial class MappedFile
{
    [SupportedOSPlatform("windows")]
    private static ViewMappingHandle MapWithView(SafeFileHandle file, string path, long length, ILogger logger)
    {
        try
        {
            return new ViewMappingHandle(file, path, length, logger);
        }
        catch (IOException e)
        {
            throw new MappedFileException(MappedFileError.MapFailed, path, $"mapping failed ({e.Message})", 0, e);
        }
    }
}
