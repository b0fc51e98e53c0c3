namespace Gguf.IO;

/// <summary>Why a file could not be opened or mapped, or a mapping operation failed.</summary>
public enum MappedFileError
{
    /// <summary>No file at the path.</summary>
    NotFound = 1,
    /// <summary>The process may not read the file.</summary>
    PermissionDenied,
    /// <summary>The path is a directory.</summary>
    IsDirectory,
    /// <summary>The file is empty.</summary>
    Empty,
    /// <summary>The kernel had no memory or address space for the mapping (ENOMEM).</summary>
    OutOfAddressSpace,
    /// <summary>The mapping failed for another reason.</summary>
    MapFailed,
    /// <summary>Locking pages into memory failed.</summary>
    LockFailed,
    /// <summary>Opening the file failed for another reason.</summary>
    OpenFailed,
    /// <summary>The file is larger than the address space of this process.</summary>
    TooLarge,
    /// <summary>The file's size changed after it was opened.</summary>
    FileChanged,
}

/// <summary>An I/O failure of the mapping layer. The message names the path and the cause.</summary>
public sealed class MappedFileException : IOException
{
    /// <summary>Creates an exception.</summary>
    public MappedFileException(MappedFileError error, string path, string message, int errorNumber = 0, Exception? innerException = null)
        : base($"{message}: '{path}'", innerException)
    {
        Error = error;
        Path = path;
        ErrorNumber = errorNumber;
    }

    /// <summary>Creates an exception.</summary>
    public MappedFileException()
        : this(MappedFileError.OpenFailed, "", "mapping failed")
    {
    }

    /// <summary>Creates an exception.</summary>
    public MappedFileException(string message)
        : this(MappedFileError.OpenFailed, "", message)
    {
    }

    /// <summary>Creates an exception.</summary>
    public MappedFileException(string message, Exception innerException)
        : this(MappedFileError.OpenFailed, "", message, 0, innerException)
    {
    }

    /// <summary>What went wrong.</summary>
    public MappedFileError Error { get; }

    /// <summary>The path of the file.</summary>
    public string Path { get; }

    /// <summary>The OS error number, or 0.</summary>
    public int ErrorNumber { get; }
}

/// <summary>Access advice for a mapped range (<c>madvise</c>).</summary>
public enum AccessAdvice
{
    /// <summary>No special treatment.</summary>
    Normal,
    /// <summary>Pages will be read in order: read ahead aggressively, drop behind.</summary>
    Sequential,
    /// <summary>Pages will be read in random order: no read-ahead.</summary>
    Random,
    /// <summary>Pages will be needed soon: start reading them in.</summary>
    WillNeed,
}
