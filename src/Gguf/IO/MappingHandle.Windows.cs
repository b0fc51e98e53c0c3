using System.IO.MemoryMappedFiles;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Gguf.IO;

/// <summary>
/// A read-only view through the BCL's memory-mapped files (Windows). Advice, locking and release are not offered:
/// the base class's no-ops stand.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class ViewMappingHandle : MappingHandle
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;

    public ViewMappingHandle(SafeFileHandle file, string path, long length, ILogger logger)
        : base(path, length, logger)
    {
        // The descriptor stays with its owner (MappedFile), which closes it after the view.
        _file = MemoryMappedFile.CreateFromFile(file, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);

        // The view starts at a page boundary; the data starts PointerOffset bytes into it.
        SetAddress((IntPtr)(pointer + _view.PointerOffset));
    }

    protected override bool ReleaseHandle()
    {
        long address = handle;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        Log.Unmapped(Logger, Path, Length, address);
        return true;
    }
}
