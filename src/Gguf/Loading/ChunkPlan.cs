using Gguf.Format;
using Gguf.IO;
using Gguf.Model;

namespace Gguf.Loading;

/// <summary>One chunk of a load: a slice of one tensor, where it comes from in the file and where it lands.</summary>
/// <param name="Number">The chunk's number in file order.</param>
/// <param name="TensorIndex">The tensor's position in <see cref="ChunkPlan.Order"/>.</param>
/// <param name="Tensor">The tensor the chunk belongs to.</param>
/// <param name="OffsetInTensor">Where the chunk starts in the tensor.</param>
/// <param name="Length">The chunk's length, at most the chunk size.</param>
internal readonly record struct LoadChunk(long Number, int TensorIndex, LoadedTensor Tensor, long OffsetInTensor, int Length)
{
    /// <summary>The chunk's absolute offset in the file.</summary>
    public long FileOffset => Tensor.SourceOffset + OffsetInTensor;

    /// <summary>The chunk's offset in the destination block.</summary>
    public long DeviceOffset => Tensor.Offset + OffsetInTensor;
}

/// <summary>
/// Where every tensor goes in the destination block (each at an aligned offset) and how the load cuts them into
/// chunks: tensors in file order, chunks numbered through all of them, so that taking chunk numbers in order
/// reads the file front to back. Chunk boundaries inside a tensor fall on file offsets that are multiples of
/// the chunk size (a tensor's first chunk runs up to the first such offset), so reads line up with the file's
/// blocks and pages whatever the tensors' offsets: whole-block <c>O_DIRECT</c> reads, whole pages released.
/// </summary>
internal sealed class ChunkPlan
{
    // Where each tensor's chunks start in the global numbering; one more entry than tensors (the total).
    private readonly long[] _chunkStart;

    // The length of each tensor's first chunk when its start is not on a chunk-size multiple of the file; 0 when it is.
    private readonly long[] _head;

    public ChunkPlan(IReadOnlyList<GgufTensorInfo> tensors, int alignment, int chunkSize)
    {
        Tensors = Place(tensors, alignment, out long allocationBytes);
        AllocationBytes = allocationBytes;
        ChunkSize = chunkSize;
        Order = [.. Tensors.OrderBy(t => t.SourceOffset)];
        _chunkStart = new long[Order.Length + 1];
        _head = new long[Order.Length];
        for (int i = 0; i < Order.Length; i++)
        {
            long size = Order[i].ByteSize;
            long misalignment = Order[i].SourceOffset % chunkSize;
            long head = misalignment == 0 || size == 0 ? 0 : Math.Min(size, chunkSize - misalignment);
            _head[i] = head;
            long chunks = head > 0 ? 1 + ((size - head + chunkSize - 1) / chunkSize) : (size + chunkSize - 1) / chunkSize;
            _chunkStart[i + 1] = _chunkStart[i] + chunks;
            TensorBytes += size;
            DeviceFollowsFile &= i == 0 || Order[i].Offset >= Order[i - 1].Offset;
        }
    }

    /// <summary>
    /// Whether chunk numbers, which follow the file, also follow the destination (the tensors were given in file
    /// order, as for a whole file): then <see cref="FirstChunkAtOrAfter"/> is defined.
    /// </summary>
    public bool DeviceFollowsFile { get; } = true;

    /// <summary>The tensors in the order given, each with its place in the block.</summary>
    public IReadOnlyList<LoadedTensor> Tensors { get; }

    /// <summary>The same tensors in file order, the order they are read in.</summary>
    public LoadedTensor[] Order { get; }

    /// <summary>The block size: the sum of the aligned tensor sizes.</summary>
    public long AllocationBytes { get; }

    /// <summary>The tensor bytes to copy.</summary>
    public long TensorBytes { get; }

    /// <summary>The largest chunk.</summary>
    public int ChunkSize { get; }

    /// <summary>The number of chunks of all tensors.</summary>
    public long TotalChunks => _chunkStart[^1];

    /// <summary>The largest chunk that actually occurs (a staging buffer need not be larger).</summary>
    public int LargestChunk => (int)Math.Min(ChunkSize, Math.Max(1, Order.Length == 0 ? 1 : Order.Max(t => t.ByteSize)));

    /// <summary>The layout: each tensor at the next multiple of <paramref name="alignment"/>, taking its size rounded up to it.</summary>
    public static LoadedTensor[] Place(IReadOnlyList<GgufTensorInfo> tensors, int alignment, out long totalBytes)
    {
        var placed = new LoadedTensor[tensors.Count];
        long offset = 0;
        for (int i = 0; i < placed.Length; i++)
        {
            GgufTensorInfo info = tensors[i];
            placed[i] = new LoadedTensor(info, offset);

            // Sizes were checked against the file's length by the reader, so the sum cannot overflow.
            offset = checked(offset + Align.Up(info.ByteSize, alignment));
        }

        totalBytes = offset;
        return placed;
    }

    /// <summary>The first chunk of the tensor at <paramref name="index"/> of <see cref="Order"/>.</summary>
    public long FirstChunkOf(int index) => _chunkStart[index];

    /// <summary>The number of chunks of the tensor at <paramref name="index"/> of <see cref="Order"/>.</summary>
    public long ChunkCountOf(int index) => _chunkStart[index + 1] - _chunkStart[index];

    /// <summary>
    /// The first chunk that starts at or after <paramref name="deviceOffset"/> in the block (<see cref="TotalChunks"/>
    /// when none does); only where <see cref="DeviceFollowsFile"/>.
    /// </summary>
    public long FirstChunkAtOrAfter(long deviceOffset)
    {
        if (!DeviceFollowsFile)
        {
            throw new InvalidOperationException("the chunks do not follow the destination");
        }

        long low = 0;
        long high = TotalChunks;
        while (low < high)
        {
            long middle = low + ((high - low) / 2);
            if (Locate(middle).DeviceOffset >= deviceOffset)
            {
                high = middle;
            }
            else
            {
                low = middle + 1;
            }
        }

        return low;
    }

    /// <summary>The chunk with the given number.</summary>
    public LoadChunk Locate(long chunk)
    {
        int index = Array.BinarySearch(_chunkStart, chunk);

        // Not found: ~index is the first start greater than chunk, so the tensor is the one before it.
        // Found: several tensors may share the start (zero-size tensors); take the last, which owns chunks.
        if (index < 0)
        {
            index = ~index - 1;
        }
        else
        {
            while (index + 1 < _chunkStart.Length && _chunkStart[index + 1] == chunk)
            {
                index++;
            }
        }

        LoadedTensor tensor = Order[index];
        long k = chunk - _chunkStart[index];
        long head = _head[index];
        if (head > 0 && k == 0)
        {
            return new LoadChunk(chunk, index, tensor, 0, (int)head);
        }

        long offset = head > 0 ? head + ((k - 1) * ChunkSize) : k * ChunkSize;
        int length = (int)Math.Min(ChunkSize, tensor.ByteSize - offset);
        return new LoadChunk(chunk, index, tensor, offset, length);
    }
}
