using System.Buffers;
using System.Runtime.CompilerServices;
using Gguf.Format;
using Gguf.Model;

namespace Gguf.Quantization;

/// <summary>Receives one chunk of a streamed tensor: the index of its first element and the values.</summary>
/// <typeparam name="T">The element type the tensor is decoded to.</typeparam>
public delegate void DequantizedChunkHandler<T>(long firstElement, ReadOnlySpan<T> values);

/// <summary>
/// Decodes tensors of every ggml type a file may hold (F32, F16, BF16, the integer and F64 types, every
/// block-quantized type) to <see cref="float"/>, with the same bits as ggml's own <c>to_float</c>, and to
/// <see cref="Half"/> or bfloat16 from there. Reads straight from the file's mapping in chunks: nothing the
/// size of the tensor is allocated, and tensors over 2 GiB decode by element or row range, or as a stream.
/// </summary>
/// <remarks>
/// The integer types and F64 convert as a C cast does (<c>(float)value</c>, round to nearest even); F32
/// is copied bit for bit. Q8_1 and Q8_K, which ggml's type traits give no <c>to_float</c>, follow their
/// block definitions (x = d·q). docs/quantization.md lists each type's formula.
/// </remarks>
public static class Dequantizer
{
    // A worker's unit of work: small enough to balance two to sixteen threads, large enough to amortize
    // the scheduling (about 0.1 ms of decoding).
    private const int ParallelChunkElements = 256 * 1024;

    // Half and bfloat16 outputs decode through a float buffer of this many elements.
    private const int ConversionChunkElements = 16 * 1024;

    // At most this many source bytes are viewed at once (a span holds at most int.MaxValue).
    private const int MaxSourceChunkBytes = 1 << 30;

    /// <summary>Whether <paramref name="type"/> can be decoded (every type a file may hold).</summary>
    public static bool IsSupported(GgmlType type) => DequantKernels.IsSupported(type);

    /// <summary>
    /// Decodes whole blocks of <paramref name="type"/> to floats. <paramref name="source"/> must be a whole
    /// number of blocks and <paramref name="destination"/> exactly as long as the elements they hold.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths do not match, or the type is not a ggml type.</exception>
    public static void Dequantize(GgmlType type, ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckBlocks(type, source.Length, destination.Length, nameof(source), nameof(destination));
        DequantKernels.Get(type)(source, destination);
    }

    /// <summary>Decodes whole blocks of <paramref name="type"/> to IEEE halves (from float, rounded to nearest even).</summary>
    /// <exception cref="ArgumentException">The lengths do not match, or the type is not a ggml type.</exception>
    public static void Dequantize(GgmlType type, ReadOnlySpan<byte> source, Span<Half> destination)
    {
        CheckBlocks(type, source.Length, destination.Length, nameof(source), nameof(destination));
        DecodeConverted(DequantKernels.Get(type), type, source, MemoryMarshalCast(destination), OutputFormat.Half);
    }

    /// <summary>
    /// Decodes whole blocks of <paramref name="type"/> to bfloat16, as raw bits (from float, rounded to
    /// nearest even as ggml's <c>ggml_fp32_to_bf16</c> does; a NaN stays a quiet NaN).
    /// </summary>
    /// <exception cref="ArgumentException">The lengths do not match, or the type is not a ggml type.</exception>
    public static void DequantizeToBFloat16(GgmlType type, ReadOnlySpan<byte> source, Span<ushort> destination)
    {
        CheckBlocks(type, source.Length, destination.Length, nameof(source), nameof(destination));
        DecodeConverted(DequantKernels.Get(type), type, source, destination, OutputFormat.BFloat16);
    }

    /// <summary>
    /// Decodes a whole tensor of <paramref name="file"/> to floats; <paramref name="destination"/> holds
    /// exactly <see cref="GgufTensorInfo.ElementCount"/> values. With <paramref name="maxDegreeOfParallelism"/>
    /// above 1, large tensors are split into chunks decoded by that many threads.
    /// </summary>
    /// <exception cref="ArgumentException">The destination's length is not the tensor's element count, or the tensor is not the file's.</exception>
    public static void Dequantize(GgufFile file, GgufTensorInfo tensor, Span<float> destination, int maxDegreeOfParallelism = 1)
    {
        CheckTensor(file, tensor, maxDegreeOfParallelism);
        CheckLength(destination.Length, tensor.ElementCount, tensor, nameof(destination));
        DecodeElements(file, tensor, 0, destination, maxDegreeOfParallelism);
    }

    /// <summary>Decodes a whole tensor to IEEE halves.</summary>
    /// <exception cref="ArgumentException">The destination's length is not the tensor's element count, or the tensor is not the file's.</exception>
    public static void Dequantize(GgufFile file, GgufTensorInfo tensor, Span<Half> destination, int maxDegreeOfParallelism = 1)
    {
        CheckTensor(file, tensor, maxDegreeOfParallelism);
        CheckLength(destination.Length, tensor.ElementCount, tensor, nameof(destination));
        DecodeElements(file, tensor, 0, destination, maxDegreeOfParallelism);
    }

    /// <summary>Decodes a whole tensor to bfloat16 bits.</summary>
    /// <exception cref="ArgumentException">The destination's length is not the tensor's element count, or the tensor is not the file's.</exception>
    public static void DequantizeToBFloat16(GgufFile file, GgufTensorInfo tensor, Span<ushort> destination, int maxDegreeOfParallelism = 1)
    {
        CheckTensor(file, tensor, maxDegreeOfParallelism);
        CheckLength(destination.Length, tensor.ElementCount, tensor, nameof(destination));
        DecodeElements(file, tensor, 0, destination, maxDegreeOfParallelism);
    }

    /// <summary>The number of rows of a tensor: its elements divided by the first dimension (ne0).</summary>
    public static long RowCount(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        long rowLength = RowLength(tensor);
        return rowLength == 0 ? 0 : tensor.ElementCount / rowLength;
    }

    /// <summary>
    /// Decodes rows <c>[firstRow, firstRow + rowCount)</c> of a tensor (a row is the first dimension, ne0
    /// elements) into <paramref name="destination"/>, which holds exactly <c>rowCount · ne0</c> values.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The rows are outside the tensor.</exception>
    /// <exception cref="ArgumentException">The destination's length does not match.</exception>
    public static void DequantizeRows(GgufFile file, GgufTensorInfo tensor, long firstRow, long rowCount, Span<float> destination, int maxDegreeOfParallelism = 1)
    {
        CheckTensor(file, tensor, maxDegreeOfParallelism);
        long rows = RowCount(tensor);
        if (firstRow < 0 || rowCount < 0 || firstRow > rows || rowCount > rows - firstRow)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows [{firstRow}, +{rowCount}) are outside tensor '{tensor.Name}' of {rows} rows");
        }

        long rowLength = RowLength(tensor);
        CheckLength(destination.Length, rowCount * rowLength, tensor, nameof(destination));
        DecodeElements(file, tensor, firstRow * rowLength, destination, maxDegreeOfParallelism);
    }

    /// <summary>
    /// Decodes <c>destination.Length</c> elements of a tensor starting at <paramref name="firstElement"/>.
    /// Both ends must fall on block boundaries (the end may also be the tensor's end); this is the way to
    /// decode a tensor larger than one span piece by piece, without copying it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the tensor.</exception>
    /// <exception cref="ArgumentException">A bound is not on a block boundary.</exception>
    public static void DequantizeElements(GgufFile file, GgufTensorInfo tensor, long firstElement, Span<float> destination, int maxDegreeOfParallelism = 1)
    {
        CheckTensor(file, tensor, maxDegreeOfParallelism);
        CheckElementRange(tensor, firstElement, destination.Length);
        DecodeElements(file, tensor, firstElement, destination, maxDegreeOfParallelism);
    }

    /// <summary>
    /// Streams a tensor of any size: decodes it into <paramref name="buffer"/> (at least one block long) one
    /// buffer at a time and hands each chunk to <paramref name="onChunk"/>, in order.
    /// </summary>
    /// <exception cref="ArgumentException">The buffer is shorter than one block.</exception>
    public static void DequantizeChunks(GgufFile file, GgufTensorInfo tensor, Span<float> buffer, DequantizedChunkHandler<float> onChunk, int maxDegreeOfParallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(onChunk);
        CheckTensor(file, tensor, maxDegreeOfParallelism);
        int blockSize = tensor.TypeInfo.BlockSize;
        int chunk = buffer.Length / blockSize * blockSize;
        if (chunk == 0)
        {
            throw new ArgumentException($"the buffer holds {buffer.Length} elements, less than one {tensor.TypeInfo.Name} block of {blockSize}", nameof(buffer));
        }

        for (long first = 0; first < tensor.ElementCount; first += chunk)
        {
            int count = (int)Math.Min(chunk, tensor.ElementCount - first);
            Span<float> values = buffer[..count];
            DecodeElements(file, tensor, first, values, maxDegreeOfParallelism);
            onChunk(first, values);
        }
    }

    // ---- checks

    private static void CheckBlocks(GgmlType type, int sourceBytes, int destinationElements, string sourceName, string destinationName)
    {
        if (!GgmlTypeInfo.TryGet((int)type, out GgmlTypeInfo info) || !DequantKernels.IsSupported(type))
        {
            throw new ArgumentException($"{type} is not a ggml type that files may use", nameof(type));
        }

        if (sourceBytes % info.BytesPerBlock != 0)
        {
            throw new ArgumentException($"the source holds {sourceBytes} bytes, not a whole number of {info.Name} blocks of {info.BytesPerBlock} bytes", sourceName);
        }

        long elements = (long)(sourceBytes / info.BytesPerBlock) * info.BlockSize;
        if (destinationElements != elements)
        {
            throw new ArgumentException($"the source holds {elements} {info.Name} elements; the destination has room for {destinationElements}", destinationName);
        }
    }

    private static void CheckTensor(GgufFile file, GgufTensorInfo tensor, int maxDegreeOfParallelism)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDegreeOfParallelism, 1);
        if (!file.TryGetTensor(tensor.Name, out GgufTensorInfo? own) || !ReferenceEquals(own, tensor))
        {
            throw new ArgumentException($"tensor '{tensor.Name}' does not belong to '{file.Path}'", nameof(tensor));
        }

        if (!DequantKernels.IsSupported(tensor.Type))
        {
            throw new ArgumentException($"tensor '{tensor.Name}' has type {tensor.Type}, which cannot be decoded", nameof(tensor));
        }
    }

    private static void CheckLength(int destinationLength, long expected, GgufTensorInfo tensor, string destinationName)
    {
        if (destinationLength != expected)
        {
            string hint = expected > int.MaxValue ? "; the tensor is larger than a span holds, decode it by rows, element ranges or DequantizeChunks" : "";
            throw new ArgumentException($"the destination has room for {destinationLength} elements; tensor '{tensor.Name}' needs {expected}{hint}", destinationName);
        }
    }

    private static void CheckElementRange(GgufTensorInfo tensor, long firstElement, int count)
    {
        if (firstElement < 0 || firstElement > tensor.ElementCount || count > tensor.ElementCount - firstElement)
        {
            throw new ArgumentOutOfRangeException(nameof(firstElement), $"elements [{firstElement}, +{count}) are outside tensor '{tensor.Name}' of {tensor.ElementCount} elements");
        }

        int blockSize = tensor.TypeInfo.BlockSize;
        long end = firstElement + count;
        if (firstElement % blockSize != 0 || (end % blockSize != 0 && end != tensor.ElementCount))
        {
            throw new ArgumentException($"elements [{firstElement}, {end}) of tensor '{tensor.Name}' do not start and end on {tensor.TypeInfo.Name} block boundaries (every {blockSize} elements)", nameof(firstElement));
        }
    }

    private static long RowLength(GgufTensorInfo tensor) => tensor.Dimensions.Count > 0 ? tensor.Dimensions[0] : 1;

    // ---- decoding

    private enum OutputFormat
    {
        Single,
        Half,
        BFloat16,
    }

    /// <summary>A destination of floats, halves or bfloat16 bits, as 32- or 16-bit elements.</summary>
    private readonly ref struct Output
    {
        public Output(Span<float> singles)
        {
            Singles = singles;
            Format = OutputFormat.Single;
        }

        public Output(Span<ushort> halves, OutputFormat format)
        {
            Halves = halves;
            Format = format;
        }

        public Span<float> Singles { get; }

        public Span<ushort> Halves { get; }

        public OutputFormat Format { get; }

        public int Length => Format == OutputFormat.Single ? Singles.Length : Halves.Length;

        public Output Slice(int start, int length) =>
            Format == OutputFormat.Single ? new Output(Singles.Slice(start, length)) : new Output(Halves.Slice(start, length), Format);
    }

    private static Span<ushort> MemoryMarshalCast(Span<Half> halves) => System.Runtime.InteropServices.MemoryMarshal.Cast<Half, ushort>(halves);

    private static void DecodeElements(GgufFile file, GgufTensorInfo tensor, long firstElement, Span<float> destination, int threads) =>
        DecodeElements(file, tensor, firstElement, new Output(destination), threads);

    private static void DecodeElements(GgufFile file, GgufTensorInfo tensor, long firstElement, Span<Half> destination, int threads) =>
        DecodeElements(file, tensor, firstElement, new Output(MemoryMarshalCast(destination), OutputFormat.Half), threads);

    private static void DecodeElements(GgufFile file, GgufTensorInfo tensor, long firstElement, Span<ushort> bfloat16, int threads) =>
        DecodeElements(file, tensor, firstElement, new Output(bfloat16, OutputFormat.BFloat16), threads);

    private static void DecodeElements(GgufFile file, GgufTensorInfo tensor, long firstElement, Output destination, int threads)
    {
        if (destination.Length == 0)
        {
            return;
        }

        // The kernel is chosen once, so every chunk of one call runs the same path.
        DequantKernel kernel = DequantKernels.Get(tensor.Type);
        if (threads > 1 && destination.Length >= 2 * ParallelChunkElements)
        {
            DecodeParallel(file, tensor, firstElement, destination, threads, kernel);
            return;
        }

        using GgufTensorData data = file.GetTensorData(tensor);
        DecodeRange(in data, tensor, firstElement, destination, kernel);
    }

    /// <summary>Decodes elements <c>[firstElement, +destination.Length)</c>, viewing at most 1 GiB of the source at a time.</summary>
    private static void DecodeRange(in GgufTensorData data, GgufTensorInfo tensor, long firstElement, Output destination, DequantKernel kernel)
    {
        GgmlTypeInfo info = tensor.TypeInfo;
        int blocksPerChunk = MaxSourceChunkBytes / info.BytesPerBlock;
        long firstBlock = firstElement / info.BlockSize;
        long blocks = destination.Length / info.BlockSize; // a whole number: ranges are checked to be block-aligned
        int written = 0;
        for (long block = 0; block < blocks; block += blocksPerChunk)
        {
            int count = (int)Math.Min(blocksPerChunk, blocks - block);
            ReadOnlySpan<byte> source = data.GetChunk((firstBlock + block) * info.BytesPerBlock, count * info.BytesPerBlock);
            int elements = count * info.BlockSize;
            DecodeBlocks(kernel, info, source, destination.Slice(written, elements));
            written += elements;
        }
    }

    /// <summary>
    /// The destination is pinned while the workers run; each worker decodes whole chunks of
    /// <see cref="ParallelChunkElements"/>, reading its own view of the mapping, so memory stays bounded
    /// by the destination the caller gave.
    /// </summary>
    private static unsafe void DecodeParallel(GgufFile file, GgufTensorInfo tensor, long firstElement, Output destination, int threads, DequantKernel kernel)
    {
        int blockSize = tensor.TypeInfo.BlockSize;
        int chunk = ParallelChunkElements / blockSize * blockSize;
        int length = destination.Length;
        int chunks = (length + chunk - 1) / chunk;
        OutputFormat format = destination.Format;
        fixed (float* singles = destination.Singles)
        fixed (ushort* halves = destination.Halves)
        {
            // Only the pointer of the destination in use is non-null. Both stay pinned until Parallel.For
            // returns, and each worker writes only its own [start, start + count) within the length.
            nint singlesAddress = (nint)singles, halvesAddress = (nint)halves;
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, index =>
            {
                int start = index * chunk;
                int count = Math.Min(chunk, length - start);
                Output part = format == OutputFormat.Single
                    ? new Output(new Span<float>((float*)singlesAddress + start, count))
                    : new Output(new Span<ushort>((ushort*)halvesAddress + start, count), format);
                using GgufTensorData data = file.GetTensorData(tensor);
                DecodeRange(in data, tensor, firstElement + start, part, kernel);
            });
        }
    }

    /// <summary>Decodes whole blocks into floats, or through floats into halves or bfloat16.</summary>
    private static void DecodeBlocks(DequantKernel kernel, GgmlTypeInfo info, ReadOnlySpan<byte> source, Output destination)
    {
        if (destination.Format == OutputFormat.Single)
        {
            kernel(source, destination.Singles);
        }
        else
        {
            DecodeConverted(kernel, info.Type, source, destination.Halves, destination.Format);
        }
    }

    /// <summary>Half and bfloat16 outputs: the same type is a copy of the bits; others go through floats in small chunks.</summary>
    private static void DecodeConverted(DequantKernel kernel, GgmlType type, ReadOnlySpan<byte> source, Span<ushort> destination, OutputFormat format)
    {
        if ((format == OutputFormat.Half && type == GgmlType.F16) || (format == OutputFormat.BFloat16 && type == GgmlType.BF16))
        {
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(source).CopyTo(destination);
            return;
        }

        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        int blocksPerChunk = Math.Max(1, ConversionChunkElements / info.BlockSize);
        float[] rented = ArrayPool<float>.Shared.Rent(blocksPerChunk * info.BlockSize);
        try
        {
            int blocks = source.Length / info.BytesPerBlock;
            for (int block = 0; block < blocks; block += blocksPerChunk)
            {
                int count = Math.Min(blocksPerChunk, blocks - block);
                Span<float> floats = rented.AsSpan(0, count * info.BlockSize);
                kernel(source.Slice(block * info.BytesPerBlock, count * info.BytesPerBlock), floats);
                Span<ushort> target = destination.Slice(block * info.BlockSize, count * info.BlockSize);
                if (format == OutputFormat.Half)
                {
                    ToHalf(floats, target);
                }
                else
                {
                    ToBFloat16(floats, target);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    private static void ToHalf(ReadOnlySpan<float> values, Span<ushort> destination)
    {
        for (int i = 0; i < values.Length; i++)
        {
            destination[i] = BitConverter.HalfToUInt16Bits((Half)values[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ushort SingleToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
        {
            return (ushort)((bits >> 16) | 0x40); // a NaN stays NaN, made quiet
        }

        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    private static void ToBFloat16(ReadOnlySpan<float> values, Span<ushort> destination)
    {
        for (int i = 0; i < values.Length; i++)
        {
            destination[i] = SingleToBFloat16(values[i]);
        }
    }
}
