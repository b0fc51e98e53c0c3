using Gguf.IO;
using Xunit;

namespace Gguf.Tests.IO;

public sealed class StreamingCopyTests
{
    public static TheoryData<int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int>();
        int[] lengths = [0, 1, StreamingCopy.Threshold - 1, StreamingCopy.Threshold, StreamingCopy.Threshold + 1, StreamingCopy.Threshold + 127, (1 << 20) + 33];
        foreach (int length in lengths)
        {
            // Misaligned sources and destinations: the streaming body needs an aligned destination, the head and tail do not.
            foreach ((int from, int to) in new[] { (0, 0), (1, 0), (0, 1), (7, 31), (33, 17), (64, 63) })
            {
                data.Add(length, from, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Copy_EveryByteLandsAndNothingOutsideIsTouched(int length, int sourceOffset, int destinationOffset)
    {
        byte[] source = new byte[length + sourceOffset];
        new Random(length ^ (sourceOffset << 20) ^ (destinationOffset << 26)).NextBytes(source);
        byte[] destination = new byte[length + destinationOffset + 64];
        destination.AsSpan().Fill(0xA5);

        StreamingCopy.Copy(source.AsSpan(sourceOffset, length), destination.AsSpan(destinationOffset, length + 64));

        Assert.True(source.AsSpan(sourceOffset, length).SequenceEqual(destination.AsSpan(destinationOffset, length)), "the copied bytes differ from the source");
        Assert.All(destination.AsSpan(0, destinationOffset).ToArray(), b => Assert.Equal(0xA5, b));
        Assert.All(destination.AsSpan(destinationOffset + length).ToArray(), b => Assert.Equal(0xA5, b));
    }

    [Fact]
    public void Copy_ShortDestination_Throws()
    {
        byte[] source = new byte[StreamingCopy.Threshold * 2];
        Assert.Throws<ArgumentException>(() => StreamingCopy.Copy(source, new byte[source.Length - 1]));
    }

    [Fact]
    public void IsSupported_OnX86_ReportsTheStreamingStores()
    {
        // Every x64 processor has SSE2; elsewhere the copy falls back to CopyTo and says so.
        Assert.Equal(System.Runtime.Intrinsics.X86.Sse2.IsSupported, StreamingCopy.IsSupported);
    }
}
