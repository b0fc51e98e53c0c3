using System.Diagnostics.CodeAnalysis;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Loading;

/// <summary>Where one tensor sits in the destination.</summary>
/// <param name="Info">The tensor's description from the file.</param>
/// <param name="Offset">The tensor's offset in the destination block, a multiple of the tensor alignment.</param>
public sealed record LoadedTensor(GgufTensorInfo Info, long Offset)
{
    /// <summary>The tensor's name.</summary>
    public string Name => Info.Name;

    /// <summary>The position of the tensor in the file's tensor list.</summary>
    public int Index => Info.Index;

    /// <summary>The ggml type.</summary>
    public GgmlType Type => Info.Type;

    /// <summary>The size in bytes.</summary>
    public long ByteSize => Info.ByteSize;

    /// <summary>The absolute offset of the tensor's bytes in the file.</summary>
    public long SourceOffset => Info.AbsoluteOffset;
}

/// <summary>What a load did and what it cost.</summary>
public sealed record LoadStatistics
{
    /// <summary>The device the model was loaded to.</summary>
    public required string DeviceName { get; init; }

    /// <summary>The mode that ran (never <see cref="LoadMode.Auto"/>).</summary>
    public required LoadMode Mode { get; init; }

    /// <summary>The mode the options asked for; <see cref="LoadMode.Auto"/> chose <see cref="Mode"/>.</summary>
    public LoadMode RequestedMode { get; init; }

    /// <summary>
    /// For <see cref="LoadMode.Auto"/>: the fraction of the file's tensor data found in the page cache before the load,
    /// which chose the mode; null for other modes or where it cannot be measured.
    /// </summary>
    public double? ResidentFraction { get; init; }

    /// <summary>Whether <see cref="LoadMode.Direct"/> was wanted but the file system refused <c>O_DIRECT</c>, so the load ran as <see cref="LoadMode.Read"/>.</summary>
    public bool DirectIoRefused { get; init; }

    /// <summary>The chunk size in bytes.</summary>
    public required int ChunkSize { get; init; }

    /// <summary>Reader threads.</summary>
    public required int Readers { get; init; }

    /// <summary>Staging buffers per reader, or 0 when the loader wrote the destination in place.</summary>
    public required int RingSize { get; init; }

    /// <summary>Number of tensors.</summary>
    public required int Tensors { get; init; }

    /// <summary>Tensor bytes copied.</summary>
    public required long Bytes { get; init; }

    /// <summary>Bytes allocated on the device (tensors plus alignment padding).</summary>
    public required long AllocatedBytes { get; init; }

    /// <summary>Time from the fit check to the last byte landed, verification excluded.</summary>
    public required TimeSpan LoadTime { get; init; }

    /// <summary>Time spent reading back and comparing; zero without verification.</summary>
    public required TimeSpan VerifyTime { get; init; }

    /// <summary>Whether every tensor was read back and matched the file.</summary>
    public required bool Verified { get; init; }

    /// <summary>The kind of memory the allocation is, as the driver reported after the load.</summary>
    public required DeviceMemoryKind MemoryKind { get; init; }

    /// <summary>The process's peak resident memory during the load, when measured.</summary>
    public long? PeakRssBytes { get; init; }

    /// <summary>The mapping's resident bytes after the load, when measured (Linux).</summary>
    public long? MappingResidentBytes { get; init; }

    /// <summary>Load throughput in GB/s (10^9 bytes per second).</summary>
    public double GigabytesPerSecond => LoadTime > TimeSpan.Zero ? Bytes / LoadTime.TotalSeconds / 1e9 : 0;
}

/// <summary>
/// A model in device memory: one block holding every tensor at an aligned offset. Disposing it frees the
/// block. Thread-safe for reads.
/// </summary>
public sealed class LoadedModel : IDisposable
{
    private readonly Dictionary<string, LoadedTensor> _byName;
    private IDeviceBuffer? _buffer;

    internal LoadedModel(ITensorDestination destination, IDeviceBuffer buffer, string path, IReadOnlyList<LoadedTensor> tensors, LoadStatistics statistics)
    {
        Destination = destination;
        _buffer = buffer;
        Path = path;
        Tensors = tensors;
        Statistics = statistics;
        _byName = new Dictionary<string, LoadedTensor>(tensors.Count, StringComparer.Ordinal);
        foreach (LoadedTensor tensor in tensors)
        {
            _byName[tensor.Name] = tensor;
        }
    }

    /// <summary>The destination that holds the block.</summary>
    public ITensorDestination Destination { get; }

    /// <summary>The block of device memory.</summary>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    public IDeviceBuffer Buffer => _buffer ?? throw new ObjectDisposedException(nameof(LoadedModel), $"the model loaded from '{Path}' was disposed");

    /// <summary>The file the model was loaded from.</summary>
    public string Path { get; }

    /// <summary>The tensors in file order.</summary>
    public IReadOnlyList<LoadedTensor> Tensors { get; }

    /// <summary>What the load did and cost.</summary>
    public LoadStatistics Statistics { get; }

    /// <summary>Looks up a tensor by name.</summary>
    public bool TryGetTensor(string name, [NotNullWhen(true)] out LoadedTensor? tensor) => _byName.TryGetValue(name, out tensor);

    /// <summary>The tensor with the given name.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    public LoadedTensor GetTensor(string name) =>
        TryGetTensor(name, out LoadedTensor? tensor) ? tensor : throw new KeyNotFoundException($"tensor '{name}' is not in the model loaded from '{Path}'");

    /// <summary>Reads <c>destination.Length</c> bytes of a tensor, starting <paramref name="offset"/> bytes into it, back from the device.</summary>
    public void CopyToHost(LoadedTensor tensor, long offset, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_byName.TryGetValue(tensor.Name, out LoadedTensor? own) || !ReferenceEquals(own, tensor))
        {
            throw new ArgumentException($"tensor '{tensor.Name}' does not belong to this model", nameof(tensor));
        }

        if (offset < 0 || offset > tensor.ByteSize || destination.Length > tensor.ByteSize - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{destination.Length}) is outside tensor '{tensor.Name}' of {tensor.ByteSize} bytes");
        }

        Buffer.CopyToHost(tensor.Offset + offset, destination);
    }

    /// <summary>Frees the device memory. Idempotent.</summary>
    public void Dispose() => Interlocked.Exchange(ref _buffer, null)?.Dispose();
}
