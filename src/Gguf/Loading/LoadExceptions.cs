namespace Gguf.Loading;

/// <summary>
/// The model does not fit the destination. Raised before anything is allocated (the fit check) and when
/// the device itself runs out of memory. The message names the required and available bytes, the device
/// and, once the loader knows it, the file.
/// </summary>
public sealed class InsufficientDeviceMemoryException : IOException
{
    /// <summary>Creates an exception.</summary>
    public InsufficientDeviceMemoryException(long requiredBytes, long availableBytes, string deviceName, string? path = null, Exception? innerException = null)
        : base(Describe(requiredBytes, availableBytes, deviceName, path), innerException)
    {
        RequiredBytes = requiredBytes;
        AvailableBytes = availableBytes;
        DeviceName = deviceName;
        Path = path;
    }

    /// <summary>Creates an exception.</summary>
    public InsufficientDeviceMemoryException()
        : this(0, 0, "unknown device")
    {
    }

    /// <summary>Creates an exception.</summary>
    public InsufficientDeviceMemoryException(string message)
        : base(message)
    {
        DeviceName = "unknown device";
    }

    /// <summary>Creates an exception.</summary>
    public InsufficientDeviceMemoryException(string message, Exception innerException)
        : base(message, innerException)
    {
        DeviceName = "unknown device";
    }

    /// <summary>The bytes the model needs on the device.</summary>
    public long RequiredBytes { get; }

    /// <summary>The bytes the device had available.</summary>
    public long AvailableBytes { get; }

    /// <summary>The device.</summary>
    public string DeviceName { get; }

    /// <summary>The model file, when known.</summary>
    public string? Path { get; }

    /// <summary>The same failure, naming <paramref name="path"/>.</summary>
    public InsufficientDeviceMemoryException WithPath(string path) =>
        Path is null ? new InsufficientDeviceMemoryException(RequiredBytes, AvailableBytes, DeviceName, path, InnerException ?? this) : this;

    private static string Describe(long required, long available, string device, string? path) =>
        $"model needs {required:N0} bytes ({ByteSize.Format(required)}) but {device} has {available:N0} bytes ({ByteSize.Format(available)}) available" +
        (path is null ? "" : $": '{path}'");
}

/// <summary>What a load put on the device differs from the file: the message names the tensor.</summary>
public sealed class TensorVerificationException : IOException
{
    /// <summary>Creates an exception.</summary>
    public TensorVerificationException(string tensorName, ulong expectedHash, ulong actualHash, string deviceName, string path)
        : base($"tensor '{tensorName}' on {deviceName} differs from the file (XxHash64 {actualHash:x16}, expected {expectedHash:x16}): '{path}'")
    {
        TensorName = tensorName;
        ExpectedHash = expectedHash;
        ActualHash = actualHash;
    }

    /// <summary>Creates an exception.</summary>
    public TensorVerificationException()
        : base("tensor verification failed")
    {
        TensorName = "";
    }

    /// <summary>Creates an exception.</summary>
    public TensorVerificationException(string message)
        : base(message)
    {
        TensorName = "";
    }

    /// <summary>Creates an exception.</summary>
    public TensorVerificationException(string message, Exception innerException)
        : base(message, innerException)
    {
        TensorName = "";
    }

    /// <summary>The tensor whose bytes differ.</summary>
    public string TensorName { get; }

    /// <summary>The hash of the bytes read from the file.</summary>
    public ulong ExpectedHash { get; }

    /// <summary>The hash of the bytes read back from the device.</summary>
    public ulong ActualHash { get; }
}

/// <summary>Byte counts for people: binary units, one decimal (messages of this library and the CLI).</summary>
internal static class ByteSize
{
    /// <summary>Formats a byte count as B, KiB, MiB, GiB or TiB.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : $"{value:0.0} {units[unit]}";
    }
}
