namespace Gguf.Loading;

/// <summary>How the loader reads the file.</summary>
public enum LoadMode
{
    /// <summary>
    /// Chosen per file from how much of it is in the page cache (<c>mincore</c>, Linux): <see cref="Read"/> when at
    /// least half of the tensor data is cached, <see cref="Direct"/> otherwise (docs/loading.md); <see cref="Read"/>
    /// where residency cannot be measured. <see cref="LoadStatistics"/> says what was chosen and why.
    /// </summary>
    Auto,

    /// <summary>
    /// Copy straight from the memory mapping, with sequential and will-need advice, releasing consumed pages.
    /// A file truncated by another process during the load raises SIGBUS; see docs/loading.md.
    /// </summary>
    Mmap,

    /// <summary>Positional reads (<c>pread</c>) into the destination or the staging buffers; immune to truncation.</summary>
    Read,

    /// <summary>
    /// <c>O_DIRECT</c> reads past the page cache into aligned buffers, then copied to the destination: disk speed for
    /// files that are not cached, without filling the cache. Where the file system refuses <c>O_DIRECT</c> (or off
    /// Linux) the load runs as <see cref="Read"/> and says so (<see cref="LoadStatistics.DirectIoRefused"/>).
    /// </summary>
    Direct,
}

/// <summary>How the loader measures the process's peak resident memory during a load (a diagnostic of the CLI and benchmarks).</summary>
internal enum PeakMemoryTracking
{
    /// <summary>Not measured.</summary>
    None,

    /// <summary>Sampled from <c>/proc/self/statm</c> with each progress tick and at the end (no side effects).</summary>
    Sampled,

    /// <summary>
    /// Exact: resets the process's high-water mark (<c>/proc/self/clear_refs</c>) before the load and reads
    /// <c>VmHWM</c> after it. Changes what other observers of this process's VmHWM see.
    /// </summary>
    HighWaterMark,
}

/// <summary>How the pages a chunk needs are brought in before the chunk is copied (see <see cref="ReadAheadWorker"/>).</summary>
internal enum ReadAheadMode
{
    /// <summary>Page faults during the copy; <see cref="LoadMode.Mmap"/> asks for read-ahead (<c>MADV_WILLNEED</c>) one chunk ahead.</summary>
    Off,

    /// <summary>Each reader maps its chunk of the file in with one <c>MADV_POPULATE_READ</c> before copying it (<see cref="LoadMode.Mmap"/>).</summary>
    InReader,

    /// <summary>
    /// A helper thread runs up to a window ahead of the readers, mapping the file's pages in (<see cref="LoadMode.Mmap"/>)
    /// and faulting the host destination's pages in (in-place writes); a reader that overtakes it does its own chunk.
    /// </summary>
    Helper,
}

/// <summary>Options of <see cref="ModelLoader"/>.</summary>
public sealed record LoadOptions
{
    /// <summary>The default options.</summary>
    public static LoadOptions Default { get; } = new();

    /// <summary>The largest number of bytes copied in one step: 1 MiB by default, at least 4 KiB, at most 1 GiB.</summary>
    public int ChunkSize { get; init; } = 1 << 20;

    /// <summary>How the file is read.</summary>
    public LoadMode Mode { get; init; } = LoadMode.Auto;

    /// <summary>
    /// Staging buffers per reader thread (2–64, default 4). Reading the next chunk into one buffer overlaps the
    /// copy of the previous one to the device; chunks in flight never exceed <c>Readers × RingSize</c>.
    /// </summary>
    public int RingSize { get; init; } = 4;

    /// <summary>
    /// Reader threads (1–64); 0 (the default) picks <see cref="HostReaders"/> for loads into host memory,
    /// <see cref="DefaultReaders"/> for staged ones, and for <see cref="LoadMode.Direct"/> at least <see cref="DirectReaders"/>. Staged GPU loads are bound by the readers' copies out of the page cache
    /// and scale with them (docs/benchmarks-load.md).
    /// </summary>
    public int Readers { get; init; }

    /// <summary>The reader threads of <see cref="Readers"/> = 0 for staged (GPU) loads: half the processors, between 1 and 8.</summary>
    public static int DefaultReaders => Math.Clamp(Environment.ProcessorCount / 2, 1, 8);

    /// <summary>
    /// The reader threads of <see cref="Readers"/> = 0 for <see cref="LoadMode.Read"/> and <see cref="LoadMode.Mmap"/>
    /// loads into host memory: two per processor, between 2 and 8. Each reader faults in the region of the block it
    /// fills next, so first-touching the destination and copying run side by side; a second reader per processor
    /// keeps it busy while the other waits on a fault (docs/benchmarks-load.md).
    /// </summary>
    public static int HostReaders => Math.Clamp(2 * Environment.ProcessorCount, 2, 8);

    /// <summary>
    /// The fewest reader threads of a <see cref="LoadMode.Direct"/> load with <see cref="Readers"/> = 0: they mostly
    /// wait for the disk, so more requests in flight than processors pay off.
    /// </summary>
    public static int DirectReaders => 4;

    /// <summary>
    /// Read every tensor back after the load and compare its XxHash64 with that of the bytes read from the file;
    /// a mismatch throws <see cref="TensorVerificationException"/>.
    /// </summary>
    public bool Verify { get; init; }

    /// <summary>In <see cref="LoadMode.Mmap"/>, drop consumed pages of the mapping so resident memory stays near the destination's size.</summary>
    public bool ReleaseConsumedRanges { get; init; } = true;

    /// <summary>
    /// For host-memory destinations, read straight into the destination (no staging copy). Benchmarks and tests
    /// turn it off to force the staging ring, as for a GPU.
    /// </summary>
    internal bool DirectHostWrites { get; init; } = true;

    /// <summary>The alignment of every tensor in the destination: a power of two, 256 by default.</summary>
    public int TensorAlignment { get; init; } = 256;

    /// <summary>The least time between two progress reports (the first and the final report are always sent).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How peak resident memory is measured (<see cref="LoadStatistics.PeakRssBytes"/>): sampled by default; the CLI asks for the exact high-water mark.</summary>
    internal PeakMemoryTracking PeakMemory { get; init; } = PeakMemoryTracking.Sampled;

    /// <summary>
    /// How the pages a chunk needs are brought in before the chunk is copied; benchmarks compare the choices.
    /// Null: <see cref="ReadAheadMode.Helper"/> (it measured 0.91–1.09× read mode against 0.65–0.91× for each reader
    /// mapping its own chunk in).
    /// </summary>
    internal ReadAheadMode? ReadAhead { get; init; }

    /// <summary>
    /// Whether <see cref="LoadMode.Mmap"/> and <see cref="LoadMode.Direct"/> copy chunks into host memory written in
    /// place with streaming (non-temporal) stores, which bypass the cache (a benchmark knob; <see cref="LoadMode.Read"/>'s
    /// copy is the kernel's, and staging buffers always get cached stores). Default: yes (docs/benchmarks-load.md).
    /// </summary>
    internal bool StreamingStores { get; init; } = true;

    /// <summary>Tests: behave as on a file system that refuses <c>O_DIRECT</c> (tmpfs before Linux 6.6), to exercise the fallback.</summary>
    internal bool SimulateDirectIoRefusal { get; init; }

    /// <summary>
    /// Whether readers of an in-place host load take whole 8 MiB regions of the block (the chunks that start in one)
    /// instead of single chunks (a benchmark knob). Null: yes, except in <see cref="LoadMode.Direct"/>, whose
    /// chunks follow the file's blocks, and when the tensors were not given in file order.
    /// </summary>
    internal bool? RegionClaims { get; init; }

    /// <summary>
    /// How far ahead of the readers the read-ahead helper works (a benchmark knob). Null: the whole block in
    /// <see cref="LoadMode.Direct"/> (disk-bound readers), 32 MiB otherwise (the mapping's resident pages stay bounded,
    /// and freshly zeroed destination pages are still cached when the copy writes them).
    /// </summary>
    internal long? ReadAheadWindow { get; init; }


    internal int EffectiveReaders(LoadMode mode, bool inPlaceHost) =>
        Readers > 0 ? Readers
        : mode == LoadMode.Direct ? Math.Max(DefaultReaders, DirectReaders)
        : inPlaceHost ? HostReaders
        : DefaultReaders;

    internal void Validate()
    {
        if (ChunkSize < 4096 || ChunkSize > 1 << 30)
        {
            throw new ArgumentOutOfRangeException(nameof(ChunkSize), ChunkSize, "the chunk size must be between 4 KiB and 1 GiB");
        }

        if (RingSize is < 2 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(RingSize), RingSize, "the ring holds 2 to 64 staging buffers");
        }

        if (Readers is < 0 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(Readers), Readers, "use 1 to 64 reader threads, or 0 for automatic");
        }

        if (TensorAlignment < 1 || (TensorAlignment & (TensorAlignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(TensorAlignment), TensorAlignment, "the tensor alignment must be a power of two");
        }

        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "unknown load mode");
        }

        if (ProgressInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ProgressInterval), ProgressInterval, "the progress interval must not be negative");
        }
    }
}

/// <summary>A progress report of a load.</summary>
/// <param name="BytesDone">Tensor bytes that have been copied (enqueued copies count once enqueued).</param>
/// <param name="BytesTotal">Tensor bytes in the model.</param>
/// <param name="TensorsDone">Tensors whose every chunk has been copied.</param>
/// <param name="TensorsTotal">Tensors in the model.</param>
/// <param name="CurrentTensor">The tensor being copied, or null before the first and after the last.</param>
/// <param name="Elapsed">Time since the load started.</param>
public readonly record struct LoadProgress(long BytesDone, long BytesTotal, int TensorsDone, int TensorsTotal, string? CurrentTensor, TimeSpan Elapsed)
{
    /// <summary>The fraction done, 0 to 1.</summary>
    public double Fraction => BytesTotal == 0 ? (TensorsTotal == 0 ? 1 : (double)TensorsDone / TensorsTotal) : (double)BytesDone / BytesTotal;
}
