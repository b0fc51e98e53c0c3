using System.Reflection;
using System.Runtime.InteropServices;

namespace Gguf.Gpu;

/// <summary>
/// Every CUDA driver API call this project makes (cuda.h), in one place: source-generated P/Invokes with blittable
/// signatures (CUresult as <see cref="int"/>, handles as <see cref="IntPtr"/>, device pointers as <see cref="ulong"/>),
/// resolved from <c>libcuda.so.1</c> (<c>nvcuda.dll</c> on Windows), so the project is trimming- and AOT-safe.
/// </summary>
internal static unsafe partial class CudaInterop
{
    public const int CUDA_SUCCESS = 0;
    public const int CUDA_ERROR_OUT_OF_MEMORY = 2;
    public const int CUDA_ERROR_NO_DEVICE = 100;
    public const uint CU_STREAM_NON_BLOCKING = 1;

    // CUpointer_attribute and CUmemorytype.
    public const int CU_POINTER_ATTRIBUTE_MEMORY_TYPE = 2;
    public const int CU_POINTER_ATTRIBUTE_IS_MANAGED = 8;
    public const int CU_MEMORYTYPE_HOST = 1;
    public const int CU_MEMORYTYPE_DEVICE = 2;
    public const int CU_MEMORYTYPE_UNIFIED = 4;

    private const string Library = "cuda";

    static CudaInterop() => NativeLibrary.SetDllImportResolver(typeof(CudaInterop).Assembly, Resolve);

    /// <summary>The file name of the driver library, for messages.</summary>
    public static string LibraryFile => OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";

    [LibraryImport(Library)]
    public static partial int cuInit(uint flags);

    [LibraryImport(Library)]
    public static partial int cuDeviceGetCount(int* count);

    [LibraryImport(Library)]
    public static partial int cuDeviceGet(int* device, int ordinal);

    [LibraryImport(Library)]
    public static partial int cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(Library)]
    public static partial int cuDeviceTotalMem_v2(nuint* bytes, int device);

    [LibraryImport(Library)]
    public static partial int cuDevicePrimaryCtxRetain(IntPtr* context, int device);

    [LibraryImport(Library)]
    public static partial int cuDevicePrimaryCtxRelease_v2(int device);

    [LibraryImport(Library)]
    public static partial int cuCtxSetCurrent(IntPtr context);

    [LibraryImport(Library)]
    public static partial int cuCtxSynchronize();

    [LibraryImport(Library)]
    public static partial int cuMemGetInfo_v2(nuint* free, nuint* total);

    [LibraryImport(Library)]
    public static partial int cuMemAlloc_v2(ulong* pointer, nuint bytes);

    [LibraryImport(Library)]
    public static partial int cuMemFree_v2(ulong pointer);

    [LibraryImport(Library)]
    public static partial int cuMemHostAlloc(IntPtr* pointer, nuint bytes, uint flags);

    [LibraryImport(Library)]
    public static partial int cuMemFreeHost(IntPtr pointer);

    [LibraryImport(Library)]
    public static partial int cuStreamCreate(IntPtr* stream, uint flags);

    [LibraryImport(Library)]
    public static partial int cuStreamSynchronize(IntPtr stream);

    [LibraryImport(Library)]
    public static partial int cuStreamDestroy_v2(IntPtr stream);

    [LibraryImport(Library)]
    public static partial int cuMemcpyHtoD_v2(ulong destination, void* source, nuint bytes);

    [LibraryImport(Library)]
    public static partial int cuMemcpyHtoDAsync_v2(ulong destination, void* source, nuint bytes, IntPtr stream);

    [LibraryImport(Library)]
    public static partial int cuMemcpyDtoH_v2(void* destination, ulong source, nuint bytes);

    [LibraryImport(Library)]
    public static partial int cuPointerGetAttribute(void* data, int attribute, ulong pointer);

    [LibraryImport(Library)]
    public static partial int cuGetErrorName(int error, byte** name);

    /// <summary>The driver's name of a CUresult (<c>CUDA_ERROR_OUT_OF_MEMORY</c>), or null when it has none.</summary>
    public static string? ErrorName(int result)
    {
        try
        {
            byte* name = null;
            return cuGetErrorName(result, &name) == CUDA_SUCCESS && name != null ? Marshal.PtrToStringUTF8((IntPtr)name) : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return IntPtr.Zero;
        }

        if (NativeLibrary.TryLoad(LibraryFile, assembly, searchPath, out IntPtr handle))
        {
            return handle;
        }

        // Some installations ship only the development symlink.
        return !OperatingSystem.IsWindows() && NativeLibrary.TryLoad("libcuda.so", assembly, searchPath, out handle) ? handle : IntPtr.Zero;
    }
}
