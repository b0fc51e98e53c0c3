using Gguf.Format;
using Gguf.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gguf.Loading;

/// <summary>
/// Copies every tensor of a <see cref="GgufFile"/> into one block of device memory, in bounded chunks, each
/// tensor at an aligned offset. See docs/loading.md for the pipeline, the modes and the memory guarantees.
/// </summary>
/// <remarks>
/// <para>
/// Host-memory destinations are written in place: the loader reads each chunk straight into the block
/// (<see cref="LoadMode.Read"/>) or copies it from the mapping (<see cref="LoadMode.Mmap"/>), while the host
/// arena faults its pages in ahead of the writes. Other destinations go through a ring of staging buffers per
/// reader thread: the next chunk is read into one buffer while the copy of the previous one to the device is
/// still running, and a buffer is reused only after the copies from it finished.
/// </para>
/// <para>
/// <see cref="Load(GgufFile, IProgress{LoadProgress}?, CancellationToken)"/> blocks the calling thread (and uses up to <see cref="LoadOptions.Readers"/> threads) until
/// the model is on the device; cancellation is checked between chunks. A load that fails or is cancelled frees
/// everything it allocated before the exception leaves <see cref="Load(GgufFile, IProgress{LoadProgress}?, CancellationToken)"/>.
/// </para>
/// </remarks>
public sealed partial class ModelLoader
{
    private readonly ILogger _logger;

    /// <summary>Creates a loader for a destination.</summary>
    public ModelLoader(ITensorDestination destination, LoadOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        options ??= LoadOptions.Default;
        options.Validate();
        Destination = destination;
        Options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The destination.</summary>
    public ITensorDestination Destination { get; }

    /// <summary>The options.</summary>
    public LoadOptions Options { get; }

    /// <summary>
    /// The layout of a file's tensors in one destination block: tensors in file order, each at an offset that is
    /// a multiple of <paramref name="alignment"/>, each taking its size rounded up to the alignment.
    /// </summary>
    /// <param name="file">The file.</param>
    /// <param name="alignment">A power of two.</param>
    /// <param name="totalBytes">The block size: the sum of the aligned tensor sizes.</param>
    public static IReadOnlyList<LoadedTensor> Plan(GgufFile file, int alignment, out long totalBytes)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (alignment < 1 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "the alignment must be a power of two");
        }

        return Plan(file.Tensors, alignment, out totalBytes);
    }

    /// <summary>
    /// The layout of some of a file's tensors in one destination block (a device's share of a split model): the tensors in
    /// the order given, each at an aligned offset, each taking its size rounded up to the alignment.
    /// </summary>
    /// <param name="tensors">Tensors of one file.</param>
    /// <param name="alignment">A power of two.</param>
    /// <param name="totalBytes">The block size: the sum of the aligned tensor sizes.</param>
    public static IReadOnlyList<LoadedTensor> Plan(IReadOnlyList<GgufTensorInfo> tensors, int alignment, out long totalBytes)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (alignment < 1 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "the alignment must be a power of two");
        }

        return ChunkPlan.Place(tensors, alignment, out totalBytes);
    }

    /// <summary>
    /// The mode <see cref="LoadMode.Auto"/> stands for with a destination when no file is looked at: <see cref="LoadMode.Read"/>,
    /// measured faster than <see cref="LoadMode.Mmap"/> for the host arena and for staged GPU copies. A load decides per
    /// file from its residency (<see cref="LoadStatistics.Mode"/> says what it chose).
    /// </summary>
    public static LoadMode ResolveMode(LoadMode mode, ITensorDestination destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return mode == LoadMode.Auto ? LoadMode.Read : mode;
    }

    /// <summary>Loads every tensor of <paramref name="file"/> into a new block of the destination.</summary>
    /// <param name="file">An open file; it must stay open during the load and may be disposed afterwards.</param>
    /// <param name="progress">
    /// Receives reports from the loading threads, serialized and monotonic, at most every
    /// <see cref="LoadOptions.ProgressInterval"/>, plus a first and a final one; keep it fast.
    /// </param>
    /// <param name="cancellationToken">Checked between chunks.</param>
    /// <exception cref="InsufficientDeviceMemoryException">The model does not fit; nothing was allocated.</exception>
    /// <exception cref="Gguf.IO.MappedFileException">The file changed size, or a read came up short.</exception>
    /// <exception cref="TensorVerificationException">With <see cref="LoadOptions.Verify"/>: a tensor on the device differs from the file.</exception>
    /// <exception cref="OperationCanceledException">The load was cancelled; everything it allocated was freed.</exception>
    public LoadedModel Load(GgufFile file, IProgress<LoadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        using var run = new LoadRun(this, file, file.Tensors, progress, cancellationToken);
        return run.Execute();
    }

    /// <summary>Loads some of the tensors of <paramref name="file"/> (a device's share of a split model) into a new block of the destination.</summary>
    /// <param name="file">An open file; it must stay open during the load.</param>
    /// <param name="tensors">Tensors of <paramref name="file"/>, each at most once; they are laid out in this order.</param>
    /// <param name="progress">As for <see cref="Load(GgufFile, IProgress{LoadProgress}?, CancellationToken)"/>.</param>
    /// <param name="cancellationToken">Checked between chunks.</param>
    /// <exception cref="ArgumentException">A tensor is not one of the file's, or appears twice.</exception>
    public LoadedModel Load(GgufFile file, IReadOnlyList<GgufTensorInfo> tensors, IProgress<LoadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(tensors);
        var seen = new HashSet<int>();
        foreach (GgufTensorInfo t in tensors)
        {
            if (t.Index < 0 || t.Index >= file.Tensors.Count || !ReferenceEquals(file.Tensors[t.Index], t) || !seen.Add(t.Index))
            {
                throw new ArgumentException($"tensor '{t.Name}' is not a distinct tensor of '{file.Path}'", nameof(tensors));
            }
        }

        using var run = new LoadRun(this, file, tensors, progress, cancellationToken);
        return run.Execute();
    }

    // Auto reads with O_DIRECT when less than this fraction of the file is cached (docs/loading.md).
    private const double AutoDirectBelowResidency = 0.5;

    // The read-ahead helper prepares up to this much ahead of the readers (direct mode: the whole block), this much per step.
    private const long ReadAheadWindow = 32L << 20;
    private const long ReadAheadBatch = 8L << 20;

    // Readers with region claims take the chunks that start in one 8 MiB region of the block at a time: four of the
    // host arena's 2 MiB pre-faulting regions, which the reader faults in one by one just before filling each.
    private const long ClaimRegion = 8L << 20;

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Loading {Tensors} tensors ({Bytes} bytes) from '{Path}' to {Device}: mode {Mode}, chunk {ChunkSize}, {Readers} reader(s), {Staging}")]
    private static partial void LogStarting(ILogger logger, int tensors, long bytes, string path, string device, LoadMode mode, int chunkSize, int readers, string staging);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Loaded '{Path}' to {Device} in {Seconds:F3} s ({GigabytesPerSecond:F2} GB/s){Verified}")]
    private static partial void LogCompleted(ILogger logger, string path, string device, double seconds, double gigabytesPerSecond, string verified);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Load of '{Path}' cancelled after {BytesDone} of {Bytes} bytes; everything allocated was freed")]
    private static partial void LogCancelled(ILogger logger, string path, long bytesDone, long bytes);

    [LoggerMessage(EventId = 204, Level = LogLevel.Error, Message = "Load of '{Path}' failed; everything allocated was freed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 205, Level = LogLevel.Debug, Message = "Freeing after a failed load failed as well")]
    private static partial void LogCleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 206, Level = LogLevel.Debug, Message = "Auto mode chose {Mode} for '{Path}': {Residency}")]
    private static partial void LogAutoChose(ILogger logger, string path, LoadMode mode, string residency);

    [LoggerMessage(EventId = 207, Level = LogLevel.Debug, Message = "O_DIRECT refused for '{Path}' ({Reason}); reading through the page cache instead")]
    private static partial void LogDirectRefused(ILogger logger, string path, string reason);
}
