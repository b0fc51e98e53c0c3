using System.Diagnostics;
using System.Text;
using Gguf.Format;
using Gguf.Model;
using Gguf.Tests.Support;
using Gguf.Writing;

namespace Gguf.Tests.Bench;

/// <summary>
/// A 150,000-entry string array (a tokenizer's size) is indexed lazily: opening allocates nothing per
/// element, the first access builds a small offset index once, and every access after that costs the same
/// whatever the index.
/// </summary>
public sealed class StringArrayAccessTests : IClassFixture<StringArrayAccessTests.LargeArrayFile>
{
    private const int Count = 150_000;
    private const string Key = "tokenizer.ggml.tokens";
    private readonly LargeArrayFile _file;

    public StringArrayAccessTests(LargeArrayFile file) => _file = file;

    public static string Token(int i) => (i % 3 == 0 ? "Ġ" : "") + new string((char)('a' + (i % 26)), 1 + (i % 9)) + i;

    [Fact]
    public void Open_DoesNotIndexOrAllocatePerElement()
    {
        // Warm: JIT, the pooled head buffer.
        using (GgufFile.Open(_file.Path))
        {
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        using GgufFile file = GgufFile.Open(_file.Path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, file.Metadata[Key].GetArray().IndexLength);

        // One offset per element would be 600 KB or more.
        Assert.True(allocated < 64 * 1024, $"open allocated {allocated} bytes");
    }

    [Fact]
    public void FirstAccess_BuildsOneSmallIndex_ThatLaterAccessesReuse()
    {
        using GgufFile file = GgufFile.Open(_file.Path);
        GgufArray array = file.Metadata[Key].GetArray();

        Assert.Equal(Token(Count - 1), array.GetString(Count - 1));
        int entries = array.IndexLength;
        Assert.Equal((Count + GgufArray.StringIndexStride - 1) / GgufArray.StringIndexStride, entries);

        Assert.Equal(Token(0), array.GetString(0));
        Assert.Equal(Token(75_001), array.GetString(75_001));
        Assert.Equal(entries, array.IndexLength);
    }

    [Fact]
    public void GetString_AnyIndex_ReturnsThatElement()
    {
        using GgufFile file = GgufFile.Open(_file.Path);
        GgufArray array = file.Metadata[Key].GetArray();
        var random = new Random(5);

        foreach (int i in Enumerable.Range(0, 2000).Select(_ => random.Next(Count)).Concat([0, 1, 15, 16, 17, Count - 17, Count - 16, Count - 1]))
        {
            Assert.Equal(Token(i), array.GetString(i));
            Assert.Equal(Encoding.UTF8.GetBytes(Token(i)), array.GetStringBytes(i));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => array.GetString(Count));
    }

    [Fact]
    public void GetString_AfterFirstTouch_LastElementCostsAboutAsMuchAsTheFirst()
    {
        using GgufFile file = GgufFile.Open(_file.Path);
        GgufArray array = file.Metadata[Key].GetArray();
        _ = array.GetString(0);

        double first = FastestPerCall(() => array.GetString(0));
        double last = FastestPerCall(() => array.GetString(Count - 1));
        double middle = FastestPerCall(() => array.GetString((Count / 2) + 7));

        // A walk from the start would make the last element thousands of times slower than the first;
        // the bound leaves room for a noisy machine.
        Assert.True(last < 10 * first + 1e-3, $"first {first * 1e3:F0} ns, last {last * 1e3:F0} ns");
        Assert.True(middle < 10 * first + 1e-3, $"first {first * 1e3:F0} ns, middle {middle * 1e3:F0} ns");
    }

    [Fact]
    public void ToStringArray_MatchesEveryElement()
    {
        using GgufFile file = GgufFile.Open(_file.Path);
        string[] all = file.Metadata[Key].GetArray().ToStringArray();

        Assert.Equal(Count, all.Length);
        Assert.Equal(Token(0), all[0]);
        Assert.Equal(Token(12_345), all[12_345]);
        Assert.Equal(Token(Count - 1), all[^1]);
    }

    /// <summary>Microseconds per call: the fastest of several batches.</summary>
    private static double FastestPerCall(Func<string> call)
    {
        double best = double.MaxValue;
        for (int batch = 0; batch < 7; batch++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < 2000; i++)
            {
                _ = call();
            }

            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMicroseconds / 2000);
        }

        return best;
    }

    /// <summary>The 150,000-entry file, written once for the class.</summary>
    public sealed class LargeArrayFile : IDisposable
    {
        private readonly TempDirectory _temp = new();

        public LargeArrayFile()
        {
            var writer = new GgufWriter();
            writer.AddMetadata("general.architecture", GgufValue.String("llama"));
            writer.AddMetadata(Key, GgufValue.FromStrings(Enumerable.Range(0, Count).Select(Token)));
            writer.AddMetadata("tokenizer.ggml.token_type", GgufValue.FromArray(new int[Count]));
            Path = _temp.Write("strings-150k.gguf", writer);
        }

        public string Path { get; }

        public void Dispose() => _temp.Dispose();
    }
}
