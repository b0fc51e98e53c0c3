using Gguf.IO;
using Gguf.Model;
using Microsoft.Win32.SafeHandles;

namespace Gguf.Loading;

/// <summary>What the loader asks the OS about cold files: page-cache residency, and an <c>O_DIRECT</c> descriptor.</summary>
internal static class DirectIo
{
    /// <summary>
    /// The fraction of the file's tensor data that is in the page cache (<c>mincore</c> over the mapping), or null
    /// where it cannot be measured (not Linux, or the call failed).
    /// </summary>
    public static double? ResidentFraction(GgufFile file, MappedFileLease lease)
    {
        long length = file.FileSize - file.DataOffset;
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return null;
        }

        long start = file.DataOffset & ~(long)(MappedFile.PageSize - 1);
        long resident = PosixInterop.CountResidentBytes(lease.DangerousGetAddress() + (nint)start, file.FileSize - start, MappedFile.PageSize);
        return resident < 0 ? null : Math.Clamp((double)resident / (file.FileSize - start), 0, 1);
    }

    /// <summary>
    /// A second descriptor of the file with <c>O_DIRECT</c>, or null with the reason where the file system (or the OS)
    /// refuses it; the caller owns the handle.
    /// </summary>
    public static SafeFileHandle? TryOpen(GgufFile file, bool simulateRefusal, out string? refusal)
    {
        if (simulateRefusal)
        {
            refusal = "O_DIRECT refused (simulated)";
            return null;
        }

        if (!OperatingSystem.IsLinux())
        {
            refusal = "O_DIRECT is only used on Linux";
            return null;
        }

        SafeFileHandle? handle = PosixInterop.TryReopenDirect(file.Mapping.FileHandle, out int errno);
        refusal = handle is null ? PosixInterop.Describe(errno) : null;
        return handle;
    }

    /// <summary>
    /// Drops the file from the page cache (benchmarks of cold loads): this process's own mapped pages first, which
    /// the kernel would keep, then every cached page (<c>posix_fadvise(DONTNEED)</c> after <c>fsync</c>). Returns the
    /// fraction still resident afterwards (<c>mincore</c>), or null off Linux.
    /// </summary>
    public static double? EvictFromPageCache(GgufFile file)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        _ = file.Mapping.Release(0, file.FileSize);
        _ = PosixInterop.EvictFromPageCache(file.Mapping.FileHandle);
        using MappedFileLease lease = file.Mapping.Acquire();
        return ResidentFraction(file, lease);
    }
}
