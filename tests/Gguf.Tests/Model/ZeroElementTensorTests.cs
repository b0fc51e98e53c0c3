using Gguf.Format;
using Gguf.Loading;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;
using Gguf.Writing;

namespace Gguf.Tests.Model;

/// <summary>
/// Zero-element tensors (any dimension 0) are valid by default: size 0, an empty view, placed by the loader without
/// taking room; the strict option rejects them.
/// </summary>
public sealed class ZeroElementTensorTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string WriteModel()
    {
        byte[] before = Fixtures.Bytes(64, 3);
        byte[] after = Fixtures.Bytes(34 * 2, 4);
        var w = new GgufWriter();
        w.AddMetadata("general.architecture", GgufValue.String("test"));
        w.AddTensor("before", GgmlType.F32, [16], before);
        w.AddTensor("empty.first", GgmlType.F32, [0, 4], ReadOnlyMemory<byte>.Empty);
        w.AddTensor("empty.later", GgmlType.Q8_0, [32, 0, 2], ReadOnlyMemory<byte>.Empty);
        w.AddTensor("empty.scalarless", GgmlType.F16, [0], ReadOnlyMemory<byte>.Empty);
        w.AddTensor("after", GgmlType.Q8_0, [64], after);
        return _temp.Write("zero.gguf", w);
    }

    [Fact]
    public void Open_ZeroElementTensors_HaveSizeZeroAndEmptyViews()
    {
        using GgufFile file = GgufFile.Open(WriteModel());

        GgufTensorInfo first = file.GetTensor("empty.first");
        GgufTensorInfo later = file.GetTensor("empty.later");
        Assert.Equal(0, first.ByteSize);
        Assert.Equal(0, first.ElementCount);
        Assert.Equal([32L, 0, 2], later.Dimensions);
        Assert.Equal(0, later.ByteSize);

        // The empty tensors take no room: the next tensor sits where they point.
        Assert.Equal(first.Offset, file.GetTensor("after").Offset);
        using (GgufTensorData data = file.GetTensorData(first))
        {
            Assert.True(data.Bytes.IsEmpty);
            Assert.True(data.AsSpan<float>().IsEmpty);
            Assert.True(data.GetChunk(0, 0).IsEmpty);
        }

        file.CopyTensorData(later, 0, Span<byte>.Empty);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.CopyTensorData(later, 0, new byte[1]));
    }

    [Fact]
    public void Open_StrictOption_RejectsZeroDimensionAtItsField()
    {
        string path = WriteModel();
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path, new GgufReaderOptions { AllowZeroDimensions = false }).Dispose());
        Assert.Equal(GgufErrorCode.ZeroDimension, e.Code);
        Assert.Equal("empty.first", e.TensorName);
        Assert.Equal(0, BitConverter.ToInt64(File.ReadAllBytes(path), (int)e.Offset));
    }

    [Fact]
    public void Load_ZeroElementTensors_ArePlacedAndVerified()
    {
        using GgufFile file = GgufFile.Open(WriteModel());
        using var arena = new HostArenaDestination();
        var loader = new ModelLoader(arena, new LoadOptions { Verify = true, ChunkSize = 4096 });
        using LoadedModel loaded = loader.Load(file, progress: null, TestContext.Current.CancellationToken);

        Assert.Equal(5, loaded.Tensors.Count);
        Assert.Equal(0, loaded.GetTensor("empty.later").ByteSize);
        LoadedTensor after = loaded.GetTensor("after");
        var bytes = new byte[after.ByteSize];
        loaded.CopyToHost(after, 0, bytes);
        var expected = new byte[after.ByteSize];
        file.CopyTensorData(file.GetTensor("after"), 0, expected);
        Assert.Equal(expected, bytes);
        Assert.True(loaded.Statistics.Verified);
    }
}
