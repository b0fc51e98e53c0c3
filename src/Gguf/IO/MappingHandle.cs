using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Gguf.IO;

/// <summary>
/// Owns one mapping. <see cref="SafeHandle"/> reference counting gives the lease semantics: a reader
/// holds a reference while it touches the memory, and the mapping is released only when the last
/// reference goes, so a concurrent Dispose never unmaps under a running copy.
/// </summary>
internal abstract class MappingHandle : SafeHandle
{
    protected MappingHandle(string path, long length, ILogger logger)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        Path = path;
        Length = length;
        Logger = logger;
    }

    public string Path { get; }

    public long Length { get; }

    protected ILogger Logger { get; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public IntPtr Address => handle;

    protected void SetAddress(IntPtr address) => SetHandle(address);
}

/// <summary>A <c>mmap(PROT_READ, MAP_PRIVATE)</c> mapping, released with <c>munmap</c>.</summary>
internal sealed class PosixMappingHandle : MappingHandle
{
    public PosixMappingHandle(IntPtr address, string path, long length, ILogger logger)
        : base(path, length, logger) => SetAddress(address);

    protected override bool ReleaseHandle()
    {
        long address = handle;
        bool ok = PosixInterop.Munmap(handle, (nuint)Length) == 0;
        Log.Unmapped(Logger, Path, Length, address);
        return ok;
    }
}

/// <summary>A read-only view through the BCL's memory-mapped files (Windows).</summary>
internal sealed unsafe class ViewMappingHandle : MappingHandle
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;

    public ViewMappingHandle(FileStream stream, string path, long length, ILogger logger)
        : base(path, length, logger)
    {
        _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
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
