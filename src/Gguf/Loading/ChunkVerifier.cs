using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;

namespace Gguf.Loading;

/// <summary>
/// Verification of a load: the XxHash64 of every chunk's source bytes, recorded as the chunks are read, compared
/// after the load with the hash of what landed on the device, read back chunk by chunk. 8 bytes per chunk.
/// </summary>
internal sealed class ChunkVerifier(ChunkPlan plan, string deviceName, string path)
{
    private readonly ulong[] _sourceHashes = new ulong[plan.TotalChunks];

    /// <summary>Records the hash of a chunk's bytes as read from the file. Thread-safe for distinct chunks.</summary>
    public void Record(in LoadChunk chunk, ReadOnlySpan<byte> sourceBytes) => _sourceHashes[chunk.Number] = XxHash64.HashToUInt64(sourceBytes);

    /// <summary>Reads every chunk back from <paramref name="buffer"/> and compares its hash with the file's.</summary>
    /// <param name="buffer">The loaded block.</param>
    /// <param name="scratch">Host memory of at least one chunk for read-backs, or empty to rent some.</param>
    /// <param name="cancellationToken">Checked before every chunk.</param>
    /// <exception cref="TensorVerificationException">A tensor differs; the first one in file order.</exception>
    public void VerifyAll(IDeviceBuffer buffer, Span<byte> scratch, CancellationToken cancellationToken)
    {
        byte[]? rented = null;
        try
        {
            if (scratch.Length < plan.LargestChunk)
            {
                rented = ArrayPool<byte>.Shared.Rent(plan.ChunkSize);
                scratch = rented;
            }

            Span<byte> pair = stackalloc byte[8];
            for (int index = 0; index < plan.Order.Length; index++)
            {
                LoadedTensor tensor = plan.Order[index];
                long first = plan.FirstChunkOf(index);
                long count = plan.ChunkCountOf(index);
                var expected = new XxHash64();
                var actual = new XxHash64();
                bool same = true;
                for (long c = 0; c < count; c++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    LoadChunk chunk = plan.Locate(first + c);
                    long offset = chunk.OffsetInTensor;
                    int length = chunk.Length;
                    ulong hash;
                    if (buffer.TryGetHostSpan(tensor.Offset + offset, length, out Span<byte> inPlace))
                    {
                        hash = XxHash64.HashToUInt64(inPlace);
                    }
                    else
                    {
                        Span<byte> back = scratch[..length];
                        buffer.CopyToHost(tensor.Offset + offset, back);
                        hash = XxHash64.HashToUInt64(back);
                    }

                    // A digest of the tensor's chunk hashes on each side names the difference in the message.
                    ulong source = _sourceHashes[first + c];
                    same &= hash == source;
                    BinaryPrimitives.WriteUInt64LittleEndian(pair, source);
                    expected.Append(pair);
                    BinaryPrimitives.WriteUInt64LittleEndian(pair, hash);
                    actual.Append(pair);
                }

                if (!same)
                {
                    throw new TensorVerificationException(tensor.Name, expected.GetCurrentHashAsUInt64(), actual.GetCurrentHashAsUInt64(), deviceName, path);
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
