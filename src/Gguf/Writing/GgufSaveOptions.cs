namespace Gguf.Writing;

/// <summary>How <see cref="GgufEditor"/> writes its result.</summary>
public enum GgufSaveMode
{
    /// <summary>
    /// Crash-safe: a new file is written next to the target, flushed to disk and renamed over it. A crash
    /// at any moment leaves the complete old file or the complete new one.
    /// </summary>
    Atomic,

    /// <summary>
    /// Rewrites only the header of the source file, in place, when the new header fits before the tensor
    /// data. Fast (milliseconds for any model size) but NOT crash-safe: a crash or a full disk during the
    /// write can leave a broken header. Refused with <see cref="InvalidOperationException"/> when the header
    /// does not fit or the alignment changes.
    /// </summary>
    InPlace,
}

/// <summary>How the tensor data reached the new file.</summary>
public enum GgufSaveMethod
{
    /// <summary>Only the header was rewritten, in the source file itself.</summary>
    InPlace,

    /// <summary>The data's blocks are shared with the old file (<c>FICLONERANGE</c>): no data was copied.</summary>
    Reflink,

    /// <summary>The kernel copied the data (<c>copy_file_range</c>), without a pass through this process.</summary>
    CopyFileRange,

    /// <summary>The data was read (<c>pread</c>) and written by this process (no faster path was available).</summary>
    ReadWrite,
}

/// <summary>The stages of a save, in order, as reported to <see cref="GgufSaveOptions.Progress"/>.</summary>
public enum GgufSaveStage
{
    /// <summary>The temporary file exists, still empty.</summary>
    TempFileCreated,

    /// <summary>The header (and, in place, the whole change) is written.</summary>
    HeaderWritten,

    /// <summary>A step of the tensor data was copied; reported after each step (16 MiB or one clone).</summary>
    CopyingData,

    /// <summary>All tensor data is in the new file.</summary>
    DataCopied,

    /// <summary>The new file is on disk (<c>fsync</c>) and closed.</summary>
    Flushed,

    /// <summary>The new file was renamed over the target: the path now holds it.</summary>
    Replaced,

    /// <summary>The directory entry is on disk too; the save is complete.</summary>
    Completed,
}

/// <summary>Where a save stands.</summary>
/// <param name="Stage">The stage just reached.</param>
/// <param name="BytesDone">Tensor data bytes in the new file so far.</param>
/// <param name="BytesTotal">Tensor data bytes in all.</param>
public readonly record struct GgufSaveProgress(GgufSaveStage Stage, long BytesDone, long BytesTotal);

/// <summary>Options of <see cref="GgufEditor.Save"/> and <see cref="GgufEditor.SaveAs"/>.</summary>
public sealed record GgufSaveOptions
{
    /// <summary>The default options: atomic, flushed to disk, padding allowed.</summary>
    public static GgufSaveOptions Default { get; } = new();

    /// <summary>Atomic (the default) or in place.</summary>
    public GgufSaveMode Mode { get; init; } = GgufSaveMode.Atomic;

    /// <summary>
    /// Whether the new file (and, after the rename, its directory) is flushed to disk before the save
    /// returns (default true). Without it a power loss soon after the save can leave the old file, the
    /// new one, or on some file systems an empty file; a process crash still cannot.
    /// </summary>
    public bool FlushToDisk { get; init; } = true;

    /// <summary>
    /// Whether the editor may add its padding entry (<see cref="GgufEditor.PaddingKey"/>, an array of zero
    /// bytes) to the metadata: to keep the data offset's remainder modulo the file system block size so the
    /// data can be shared by reflink, and to fill the gap an in-place save leaves when the header shrinks.
    /// Default true. When false an existing padding entry is dropped and none is added.
    /// </summary>
    public bool AllowPadding { get; init; } = true;

    /// <summary>Told of each stage, synchronously, on the saving thread.</summary>
    public IProgress<GgufSaveProgress>? Progress { get; init; }
}

/// <summary>What a save did.</summary>
public sealed record GgufSaveResult
{
    /// <summary>The path written (symbolic links resolved).</summary>
    public required string Path { get; init; }

    /// <summary>How the tensor data got there.</summary>
    public required GgufSaveMethod Method { get; init; }

    /// <summary>Bytes this save wrote: header, padding and copied data (shared blocks not counted).</summary>
    public required long BytesWritten { get; init; }

    /// <summary>Tensor data bytes shared with the old file by reflink.</summary>
    public required long BytesShared { get; init; }

    /// <summary>The size of the new header (metadata and tensor infos) in bytes.</summary>
    public required long HeaderBytes { get; init; }

    /// <summary>The bytes of the padding entry in the new header (0 when there is none).</summary>
    public required long PaddingBytes { get; init; }

    /// <summary>The absolute offset of the tensor data in the new file.</summary>
    public required long DataOffset { get; init; }

    /// <summary>The alignment of the new file.</summary>
    public required uint Alignment { get; init; }

    /// <summary>The size of the new file.</summary>
    public required long FileSize { get; init; }

    /// <summary>Whether the tensor data was re-laid for a new alignment.</summary>
    public required bool Relaid { get; init; }

    /// <summary>Temporary files of earlier, interrupted saves that this save removed.</summary>
    public required int StaleFilesRemoved { get; init; }

    /// <summary>How long the save took.</summary>
    public required TimeSpan Elapsed { get; init; }
}
