using System.Security.Cryptography;
using Gguf.Loading;

namespace Gguf.Cli.Commands;

/// <summary><c>gguf load --checksums</c>: the SHA-256 of every tensor as it sits in the destination.</summary>
internal static class TensorChecksums
{
    /// <summary>SHA-256 of every tensor read back from the destination, in file order.</summary>
    public static List<(string Name, string Sha256)> Compute(LoadedModel model, CancellationToken cancellationToken)
    {
        var sums = new List<(string, string)>(model.Tensors.Count);
        byte[] buffer = new byte[4 << 20];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (LoadedTensor tensor in model.Tensors)
        {
            for (long offset = 0; offset < tensor.ByteSize; offset += buffer.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int length = (int)Math.Min(buffer.Length, tensor.ByteSize - offset);
                model.CopyToHost(tensor, offset, buffer.AsSpan(0, length));
                sha.AppendData(buffer, 0, length);
            }

            sums.Add((tensor.Name, Convert.ToHexStringLower(sha.GetHashAndReset())));
        }

        return sums;
    }
}
