namespace Gguf.Loading;

/// <summary>
/// Device memory that a <see cref="ModelLoader"/> fills: a host arena, a GPU, or anything else that can
/// hold one block of bytes and copy host memory into it. Implementations are thread-safe for calls on
/// different staging buffers; one staging buffer is used by one thread at a time. Implementations derive from
/// <see cref="TensorDestination"/>, whose remarks give the contract of <see cref="IDisposable.Dispose"/>: it ends
/// the use of the destination and of everything it allocated (later calls throw <see cref="ObjectDisposedException"/>),
/// while each block's memory stays owned by its buffer until that buffer is disposed.
/// </summary>
public interface ITensorDestination : IDisposable
{
    /// <summary>A human name of the device, for messages and summaries (e.g. <c>host</c>, <c>NVIDIA H100 (cuda:0)</c>).</summary>
    string DeviceName { get; }

    /// <summary>
    /// Whether allocations are ordinary host memory that the loader may write in place (see
    /// <see cref="IDeviceBuffer.TryGetHostSpan"/>); otherwise every byte goes through a staging buffer.
    /// </summary>
    bool IsHostMemory { get; }

    /// <summary>The kind of memory an allocation must be; checked after every load.</summary>
    DeviceMemoryKind ExpectedMemoryKind { get; }

    /// <summary>The device's total memory in bytes.</summary>
    long TotalBytes { get; }

    /// <summary>The bytes one allocation may take now (free device memory, or the arena's remaining capacity).</summary>
    long AvailableBytes { get; }

    /// <summary>The alignment of the start of every allocation, a power of two of at least 256.</summary>
    int Alignment { get; }

    /// <summary>Allocates one block of <paramref name="length"/> bytes. Its contents are unspecified.</summary>
    /// <exception cref="InsufficientDeviceMemoryException">The device cannot hold the block.</exception>
    IDeviceBuffer Allocate(long length);

    /// <summary>
    /// Allocates a host staging buffer for <see cref="IDeviceBuffer.EnqueueCopyFromHost"/>: page-locked for a GPU,
    /// so that copies from it run asynchronously.
    /// </summary>
    IStagingBuffer AllocateStaging(int length);
}

/// <summary>One block of device memory. <see cref="IDisposable.Dispose"/> frees it (after pending copies finish).</summary>
public interface IDeviceBuffer : IDisposable
{
    /// <summary>The length in bytes.</summary>
    long Length { get; }

    /// <summary>Copies <paramref name="source"/> to <paramref name="offset"/> and returns when the bytes have landed.</summary>
    void CopyFromHost(long offset, ReadOnlySpan<byte> source);

    /// <summary>
    /// Enqueues a copy of the first <paramref name="length"/> bytes of <paramref name="source"/> to
    /// <paramref name="offset"/> and returns, possibly before the copy ran. The staging buffer must not be
    /// written again until its <see cref="IStagingBuffer.WaitForCopies"/> (or <see cref="Synchronize"/>) returned.
    /// </summary>
    void EnqueueCopyFromHost(long offset, IStagingBuffer source, int length);

    /// <summary>Waits until every copy enqueued to this buffer has landed.</summary>
    void Synchronize();

    /// <summary>Reads <c>destination.Length</c> bytes at <paramref name="offset"/> back to host memory.</summary>
    void CopyToHost(long offset, Span<byte> destination);

    /// <summary>
    /// For host memory, a writable span over <paramref name="length"/> bytes at <paramref name="offset"/>, valid
    /// until the buffer is disposed; false for device memory the host cannot address.
    /// </summary>
    bool TryGetHostSpan(long offset, int length, out Span<byte> span);

    /// <summary>What kind of memory the block actually is, as the driver reports it.</summary>
    DeviceMemoryKind QueryMemoryKind();
}

/// <summary>A host buffer that copies to a device start from; tracks the copies still reading it.</summary>
public interface IStagingBuffer : IDisposable
{
    /// <summary>The length in bytes.</summary>
    int Length { get; }

    /// <summary>The writable bytes; do not write while a copy from this buffer is pending.</summary>
    Span<byte> Span { get; }

    /// <summary>Waits until every copy enqueued from this buffer has read it, so it can be written again.</summary>
    void WaitForCopies();
}

/// <summary>What kind of memory an allocation is.</summary>
public enum DeviceMemoryKind
{
    /// <summary>Not known (the driver cannot say).</summary>
    Unknown,

    /// <summary>Ordinary (pageable or pinned) host memory.</summary>
    Host,

    /// <summary>Memory on the device itself.</summary>
    Device,

    /// <summary>Unified/managed memory that migrates between host and device.</summary>
    Managed,
}
