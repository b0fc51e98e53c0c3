namespace Gguf.Gpu;

/// <summary>
/// A CUDA driver call failed: carries the driver's <c>CUresult</c> (<see cref="Result"/>), its name as
/// <c>cuGetErrorName</c> gives it (<see cref="ResultName"/>) and the call (<see cref="Call"/>). A device that
/// cannot hold a model is an <see cref="Loading.InsufficientDeviceMemoryException"/> instead, and a machine
/// without a usable GPU a <see cref="GpuUnavailableException"/>.
/// </summary>
public sealed class CudaException : IOException
{
    /// <summary>Creates an exception for a failed driver call.</summary>
    public CudaException(string call, int result, string? resultName, string deviceName)
        : base($"{call} failed on {deviceName}: {resultName ?? "CUDA error"} ({result})")
    {
        Call = call;
        Result = result;
        ResultName = resultName ?? $"CUDA error {result}";
    }

    /// <summary>Creates an exception.</summary>
    public CudaException()
        : this("a CUDA call", 999, "CUDA_ERROR_UNKNOWN", "the GPU")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public CudaException(string message)
        : this(message, null)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public CudaException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Call = "";
        Result = 999;
        ResultName = "CUDA_ERROR_UNKNOWN";
    }

    /// <summary>The driver call that failed, e.g. <c>cuMemcpyHtoDAsync_v2</c>.</summary>
    public string Call { get; }

    /// <summary>The <c>CUresult</c> the call returned, e.g. 2.</summary>
    public int Result { get; }

    /// <summary>The name of <see cref="Result"/>, e.g. <c>CUDA_ERROR_OUT_OF_MEMORY</c>.</summary>
    public string ResultName { get; }
}

/// <summary>No GPU of the requested kind is usable here (no driver, no such device); the message says why.</summary>
public sealed class GpuUnavailableException : IOException
{
    /// <summary>Creates an exception.</summary>
    public GpuUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception.</summary>
    public GpuUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception.</summary>
    public GpuUnavailableException()
        : base("no GPU is available")
    {
    }
}
