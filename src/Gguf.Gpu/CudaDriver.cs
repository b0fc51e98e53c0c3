using System.Runtime.InteropServices;
using Gguf.Loading;
using ILGPU.Runtime;

namespace Gguf.Gpu;

/// <summary>
/// The one CUDA driver call ILGPU does not expose publicly: <c>cuPointerGetAttribute</c>, to tell device memory
/// from host, managed or unknown memory after a load.
/// </summary>
internal static partial class CudaDriver
{
    // cuda.h: CUpointer_attribute and CUmemorytype.
    private const int CU_POINTER_ATTRIBUTE_MEMORY_TYPE = 2;
    private const int CU_POINTER_ATTRIBUTE_IS_MANAGED = 8;
    private const int CU_MEMORYTYPE_HOST = 1;
    private const int CU_MEMORYTYPE_DEVICE = 2;
    private const int CU_MEMORYTYPE_UNIFIED = 4;

    public static DeviceMemoryKind QueryMemoryKind(Accelerator accelerator, IntPtr pointer)
    {
        // The driver answers for the context current on this thread.
        ScopedAcceleratorBinding binding = accelerator.BindScoped();
        try
        {
            return QueryMemoryKind(pointer);
        }
        finally
        {
            binding.Recover();
        }
    }

    /// <summary>The kind of memory at <paramref name="pointer"/>, for the CUDA context current on this thread.</summary>
    public static DeviceMemoryKind QueryMemoryKind(IntPtr pointer)
    {
        try
        {
            if (GetAttribute(out int managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, (ulong)pointer) == 0 && managed != 0)
            {
                return DeviceMemoryKind.Managed;
            }

            if (GetAttribute(out int type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (ulong)pointer) != 0)
            {
                return DeviceMemoryKind.Unknown;
            }

            return type switch
            {
                CU_MEMORYTYPE_DEVICE => DeviceMemoryKind.Device,
                CU_MEMORYTYPE_HOST => DeviceMemoryKind.Host,
                CU_MEMORYTYPE_UNIFIED => DeviceMemoryKind.Managed,
                _ => DeviceMemoryKind.Unknown,
            };
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return DeviceMemoryKind.Unknown;
        }
    }

    private static int GetAttribute(out int value, int attribute, ulong pointer)
    {
        value = 0;
        return OperatingSystem.IsWindows() ? PointerGetAttributeWindows(out value, attribute, pointer) : PointerGetAttributeUnix(out value, attribute, pointer);
    }

    [LibraryImport("libcuda.so.1", EntryPoint = "cuPointerGetAttribute")]
    private static partial int PointerGetAttributeUnix(out int data, int attribute, ulong pointer);

    [LibraryImport("nvcuda", EntryPoint = "cuPointerGetAttribute")]
    private static partial int PointerGetAttributeWindows(out int data, int attribute, ulong pointer);
}
