using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;
using Gguf.Writing;

namespace Gguf.Tests.Model;

public sealed class GgufModelTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string WriteSplits(int count, Action<int, GgufWriter>? tweak = null, int tensorsPerSplit = 2)
    {
        string first = "";
        for (int i = 0; i < count; i++)
        {
            var w = new GgufWriter();
            if (i == 0)
            {
                w.AddMetadata(GgufKeys.Architecture, GgufValue.String("llama"));
            }

            w.AddMetadata(GgufKeys.SplitNo, GgufValue.UInt16((ushort)i));
            w.AddMetadata(GgufKeys.SplitCount, GgufValue.UInt16((ushort)count));
            if (i == 0)
            {
                w.AddMetadata(GgufKeys.SplitTensorsCount, GgufValue.Int32(count * tensorsPerSplit));
            }

            for (int t = 0; t < tensorsPerSplit; t++)
            {
                w.AddTensor($"s{i}.t{t}", GgmlType.F32, [4], Fixtures.Bytes(16, (i * 10) + t));
            }

            tweak?.Invoke(i, w);
            string path = _temp.Write($"model-{i + 1:D5}-of-{count:D5}.gguf", w);
            if (i == 0)
            {
                first = path;
            }
        }

        return first;
    }

    [Fact]
    public void Open_SplitModel_IndexesTensorsOfEveryPart()
    {
        using GgufModel model = GgufModel.Open(WriteSplits(3));

        Assert.Equal(3, model.Parts.Count);
        Assert.Equal(6, model.Tensors.Count);
        Assert.Equal("llama", model.Main.Architecture);
        Assert.True(model.TryGetTensor("s2.t1", out GgufModelTensor? t));
        Assert.Same(model.Parts[2], t.File);
        using GgufTensorData data = t.File.GetTensorData(t.Info);
        Assert.Equal(Fixtures.Bytes(16, 21), data.Bytes.ToArray());
    }

    [Fact]
    public void Open_SingleFile_IsAOnePartModel()
    {
        using GgufModel model = GgufModel.Open(_temp.Write("one.gguf", Fixtures.WithTensors()));
        Assert.Single(model.Parts);
        Assert.Equal(11, model.Tensors.Count);
    }

    [Fact]
    public void Open_NotTheFirstSplit_Rejected()
    {
        WriteSplits(2);
        var e = Assert.Throws<GgufFormatException>(() => GgufModel.Open(_temp.File("model-00002-of-00002.gguf")));
        Assert.Equal(GgufErrorCode.SplitMismatch, e.Code);
        Assert.Equal(GgufKeys.SplitNo, e.Key);
    }

    [Fact]
    public void Open_MissingPart_ThrowsIo()
    {
        string first = WriteSplits(3);
        File.Delete(_temp.File("model-00003-of-00003.gguf"));
        Assert.Throws<Gguf.IO.MappedFileException>(() => GgufModel.Open(first));
    }

    [Fact]
    public void Open_TensorCountMismatch_Rejected()
    {
        string first = WriteSplits(2, tensorsPerSplit: 1, tweak: (i, w) =>
        {
            if (i == 1)
            {
                w.AddTensor("extra", GgmlType.F32, [1], new byte[4]);
            }
        });
        var e = Assert.Throws<GgufFormatException>(() => GgufModel.Open(first));
        Assert.Equal(GgufErrorCode.SplitMismatch, e.Code);
        Assert.Equal(GgufKeys.SplitTensorsCount, e.Key);
    }

    [Fact]
    public void Open_DuplicateTensorAcrossSplits_Rejected()
    {
        string first = WriteSplits(2, tensorsPerSplit: 1, tweak: (i, w) => w.AddTensor("dup", GgmlType.F32, [1], new byte[4]));
        var e = Assert.Throws<GgufFormatException>(() => GgufModel.Open(first));
        Assert.Equal(GgufErrorCode.SplitMismatch, e.Code);
        Assert.Equal("dup", e.TensorName);
    }

    [Fact]
    public void Open_SplitNumberOfWrongType_Rejected()
    {
        var w = new GgufWriter();
        w.AddMetadata(GgufKeys.SplitCount, GgufValue.UInt32(2));
        var e = Assert.Throws<GgufFormatException>(() => GgufModel.Open(_temp.Write("x-00001-of-00002.gguf", w)));
        Assert.Equal(GgufErrorCode.SplitMismatch, e.Code);
        Assert.Contains("uint16", e.Message);
    }
}
