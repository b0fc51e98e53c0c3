using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using Gguf.IO;

namespace Gguf.Format;

// The tensor half of the parser: tensor infos, then the layout of the data section.
public static partial class GgufReader
{
    private static GgufTensorInfo ReadTensorInfo(ref GgufCursor cursor, GgufReaderOptions options, int index, DataSectionOrigin origin)
    {
        long infoOffset = cursor.Position;
        string name = ReadName(ref cursor, options, options.MaxTensorNameBytes, isKey: false, tensorName: null);

        long dimsOffset = cursor.Position;
        uint dimensionCount = cursor.ReadUInt32("tensor.n_dims", tensorName: name);
        if (dimensionCount > (uint)options.MaxDimensions)
        {
            ThrowHelper.Format(GgufErrorCode.TooManyDimensions, dimsOffset, $"{dimensionCount} dimensions, above the limit of {options.MaxDimensions}", "tensor.n_dims", tensorName: name);
        }

        var dimensions = new long[dimensionCount];
        long elementCount = 1;
        for (int d = 0; d < dimensions.Length; d++)
        {
            long dimensionOffset = cursor.Position;
            long ne = cursor.ReadInt64("tensor.ne", tensorName: name);
            if (ne < 0)
            {
                ThrowHelper.Format(GgufErrorCode.NegativeDimension, dimensionOffset, $"dimension {d} is {ne}", "tensor.ne", tensorName: name);
            }

            if (ne == 0 && !options.AllowZeroDimensions)
            {
                ThrowHelper.Format(GgufErrorCode.ZeroDimension, dimensionOffset, $"dimension {d} is 0", "tensor.ne", tensorName: name);
            }

            // llama.cpp requires the element count to stay below INT64_MAX.
            if (!GgmlTypeInfo.TryMultiply(elementCount, ne, out elementCount) || elementCount == long.MaxValue)
            {
                ThrowHelper.Format(GgufErrorCode.ElementCountOverflow, dimensionOffset, $"the element count overflows at dimension {d} ({ne})", "tensor.ne", tensorName: name);
            }

            dimensions[d] = ne;
        }

        long typeOffset = cursor.Position;
        int typeId = cursor.ReadInt32("tensor.type", tensorName: name);
        if (!GgmlTypeInfo.TryGet(typeId, out GgmlTypeInfo typeInfo))
        {
            if (GgmlTypeInfo.IsRemoved(typeId))
            {
                ThrowHelper.Format(GgufErrorCode.RemovedTensorType, typeOffset, $"ggml type {typeId} was removed from ggml", "tensor.type", tensorName: name);
            }

            ThrowHelper.Format(GgufErrorCode.InvalidTensorType, typeOffset, $"invalid ggml type {typeId}; types are 0 to {GgmlTypeInfo.TypeIdCount - 1}", "tensor.type", tensorName: name);
        }

        long ne0 = dimensions.Length > 0 ? dimensions[0] : 1;
        if (ne0 % typeInfo.BlockSize != 0)
        {
            // Point at ne[0] itself; a scalar (n_dims 0) has no ne[0], so point at n_dims.
            ThrowHelper.Format(GgufErrorCode.NotBlockMultiple, dimensions.Length > 0 ? dimsOffset + 4 : dimsOffset, $"{ne0} elements per row is not a multiple of the {typeInfo.Name} block size {typeInfo.BlockSize}", "tensor.ne", tensorName: name);
        }

        if (!typeInfo.TryGetByteSize(dimensions, out long byteSize))
        {
            ThrowHelper.Format(GgufErrorCode.TensorSizeOverflow, dimsOffset, $"the size in bytes of shape [{string.Join(", ", dimensions)}] of {typeInfo.Name} does not fit in 63 bits", "tensor.ne", tensorName: name);
        }

        long offsetOffset = cursor.Position;
        ulong offset = cursor.ReadUInt64("tensor.offset", tensorName: name);
        if (offset > long.MaxValue)
        {
            ThrowHelper.Format(GgufErrorCode.TensorDataPastEnd, offsetOffset, $"offset {offset} is past any file", "tensor.offset", tensorName: name);
        }

        return new GgufTensorInfo(index, name, dimensions, typeInfo, (long)offset, origin, byteSize, elementCount, infoOffset);
    }

    /// <summary>Checks alignment, packing, bounds and overlap of the tensor data; returns the data section's size.</summary>
    private static long ValidateTensorData(List<GgufTensorInfo> tensors, long dataOffset, uint alignment, long fileSize, GgufReaderOptions options)
    {
        // The alignment is a validated power of two and offsets and sizes are not negative, so masks
        // stand in for the remainders (a 64-bit division per use otherwise).
        long mask = alignment - 1L;
        long running = 0;
        foreach (GgufTensorInfo tensor in tensors)
        {
            // The offset field's position is only needed for an error, so it is computed there.
            if ((tensor.Offset & mask) != 0)
            {
                ThrowHelper.Format(GgufErrorCode.TensorOffsetMisaligned, OffsetFieldPosition(tensor), $"offset {tensor.Offset} is not a multiple of the alignment {alignment}", "tensor.offset", tensorName: tensor.Name);
            }

            if (options.RequirePackedTensors && tensor.Offset != running)
            {
                ThrowHelper.Format(GgufErrorCode.TensorOffsetNotPacked, OffsetFieldPosition(tensor), $"offset {tensor.Offset} is not the packed offset {running}", "tensor.offset", tensorName: tensor.Name);
            }

            // Padding is computed with checked arithmetic: GGML_PAD can wrap to 0 (reference gap G2).
            long padded = tensor.ByteSize + (-tensor.ByteSize & mask);
            if (padded < 0)
            {
                // Same field as the unpadded size overflow: the shape, which starts at n_dims.
                ThrowHelper.Format(GgufErrorCode.TensorSizeOverflow, DimensionsFieldPosition(tensor), $"size {tensor.ByteSize} padded to {alignment} overflows", "tensor.ne", tensorName: tensor.Name);
            }

            long start = dataOffset + tensor.Offset;
            if (start < 0 || start > fileSize || tensor.ByteSize > fileSize - start)
            {
                ThrowHelper.Format(GgufErrorCode.TensorDataPastEnd, OffsetFieldPosition(tensor), $"data [{(decimal)dataOffset + tensor.Offset}, {(decimal)dataOffset + tensor.Offset + tensor.ByteSize}) is not within the {fileSize}-byte file", "tensor.offset", tensorName: tensor.Name);
            }

            long next = running + padded;
            if (next < 0)
            {
                ThrowHelper.Format(GgufErrorCode.RunningSizeOverflow, OffsetFieldPosition(tensor), $"the data section size overflows when adding {padded} bytes to {running}", "tensor.offset", tensorName: tensor.Name);
            }

            running = next;
        }

        if (!options.RequirePackedTensors)
        {
            CheckOverlaps(tensors);
        }

        return running;
    }

    private static void CheckOverlaps(List<GgufTensorInfo> tensors)
    {
        // A zero-byte tensor occupies no bytes, so it overlaps nothing wherever it points.
        int[] byOffset = [.. Enumerable.Range(0, tensors.Count).Where(i => tensors[i].ByteSize > 0)];
        Array.Sort(byOffset, (a, b) => tensors[a].Offset != tensors[b].Offset ? tensors[a].Offset.CompareTo(tensors[b].Offset) : a.CompareTo(b));
        for (int i = 1; i < byOffset.Length; i++)
        {
            GgufTensorInfo previous = tensors[byOffset[i - 1]];
            GgufTensorInfo current = tensors[byOffset[i]];
            if (current.Offset < previous.Offset + previous.ByteSize)
            {
                ThrowHelper.Format(GgufErrorCode.TensorOverlap, OffsetFieldPosition(current), $"data overlaps tensor '{previous.Name}'", "tensor.offset", tensorName: current.Name);
            }
        }
    }

    /// <summary>The n_dims field follows the name.</summary>
    private static long DimensionsFieldPosition(GgufTensorInfo tensor) =>
        tensor.InfoOffset + 8 + Encoding.UTF8.GetByteCount(tensor.Name);

    /// <summary>The offset field is the last 8 bytes of a tensor info.</summary>
    private static long OffsetFieldPosition(GgufTensorInfo tensor) =>
        tensor.InfoOffset + 8 + Encoding.UTF8.GetByteCount(tensor.Name) + 4 + (8L * tensor.DimensionsSpan.Length) + 4;
}
