using Gguf.Format;
using Gguf.IO;
using Gguf.Model;
using Gguf.Tests.Support;
using Gguf.Writing;

namespace Gguf.Tests.Model;

public sealed class GgufFileTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Open_ExposesHeaderMetadataAndTensorsInFileOrder()
    {
        string path = _temp.Write("m.gguf", Fixtures.WithTensors());
        using GgufFile file = GgufFile.Open(path);

        Assert.Equal(path, file.Path);
        Assert.Equal(new FileInfo(path).Length, file.FileSize);
        Assert.Equal(3u, file.Version);
        Assert.Equal(32u, file.Alignment);
        Assert.Equal("test", file.Architecture);
        Assert.Equal("test", file.Metadata.GetStringOrNull(GgufKeys.Architecture));
        Assert.Equal(Enumerable.Range(0, 11), file.Tensors.Select(t => t.Index));
        Assert.Same(file.Tensors[3], file.GetTensor("t3.I8"));
        Assert.Throws<KeyNotFoundException>(() => file.GetTensor("nope"));
    }

    [Fact]
    public void GetTensorData_RawBytes_EqualWhatWasWritten()
    {
        var w = new GgufWriter();
        byte[] q4 = Fixtures.Bytes(18 * 4, 5);
        byte[] q6 = Fixtures.Bytes(210, 6);
        w.AddTensor("q4", GgmlType.Q4_0, [64, 2], q4);
        w.AddTensor("q6", GgmlType.Q6_K, [256], q6);
        using GgufFile file = GgufFile.Open(_temp.Write("raw.gguf", w));

        using (GgufTensorData data = file.GetTensorData(file.GetTensor("q4")))
        {
            Assert.Equal(q4, data.Bytes.ToArray());
        }

        using (GgufTensorData data = file.GetTensorData(file.GetTensor("q6")))
        {
            Assert.Equal(q6, data.Bytes.ToArray());
            Assert.Equal(q6[100..110], data.GetChunk(100, 10).ToArray());
        }

        var copy = new byte[20];
        file.CopyTensorData(file.GetTensor("q6"), 190, copy);
        Assert.Equal(q6[190..], copy);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.CopyTensorData(file.GetTensor("q6"), 191, copy));
    }

    [Fact]
    public void GetTensorData_TypedSpans_ForPlainTypes()
    {
        float[] f32 = [1.5f, -2f, float.Epsilon];
        Half[] f16 = [(Half)1, (Half)(-0.5)];
        ushort[] bf16 = [0x3F80, 0xC000];
        sbyte[] i8 = [-1, 2, -3];
        short[] i16 = [-300, 300];
        int[] i32 = [int.MinValue, 7];
        long[] i64 = [long.MaxValue];
        double[] f64 = [Math.E, -0.0];
        var w = new GgufWriter();
        w.AddTensor("f32", GgmlType.F32, [3], AsBytes(f32));
        w.AddTensor("f16", GgmlType.F16, [2], AsBytes(f16));
        w.AddTensor("bf16", GgmlType.BF16, [2], AsBytes(bf16));
        w.AddTensor("i8", GgmlType.I8, [3], AsBytes(i8));
        w.AddTensor("i16", GgmlType.I16, [2], AsBytes(i16));
        w.AddTensor("i32", GgmlType.I32, [2], AsBytes(i32));
        w.AddTensor("i64", GgmlType.I64, [1], AsBytes(i64));
        w.AddTensor("f64", GgmlType.F64, [2], AsBytes(f64));
        w.AddTensor("q8", GgmlType.Q8_0, [32], new byte[34]);
        using GgufFile file = GgufFile.Open(_temp.Write("typed.gguf", w));

        Assert.Equal(f32, Read<float>(file, "f32"));
        Assert.Equal(f16, Read<Half>(file, "f16"));
        Assert.Equal(bf16, Read<ushort>(file, "bf16"));
        Assert.Equal(i8, Read<sbyte>(file, "i8"));
        Assert.Equal(i16, Read<short>(file, "i16"));
        Assert.Equal(i32, Read<int>(file, "i32"));
        Assert.Equal(i64, Read<long>(file, "i64"));
        Assert.Equal(f64, Read<double>(file, "f64"));
        // The same exception as a wrong-typed metadata getter: TypeMismatch at the tensor's type field, naming it.
        var q8 = Assert.Throws<GgufFormatException>(() => Read<float>(file, "q8"));
        Assert.Equal(GgufErrorCode.TypeMismatch, q8.Code);
        Assert.Equal("q8", q8.TensorName);
        var f32Tensor = file.GetTensor("f32");
        var e = Assert.Throws<GgufFormatException>(() => Read<int>(file, "f32"));
        Assert.Equal(GgufErrorCode.TypeMismatch, e.Code);
        Assert.Equal(f32Tensor.InfoOffset + 8 + 3 + 4 + (8 * f32Tensor.Dimensions.Count), e.Offset);
        Assert.Equal(0, BitConverter.ToInt32(File.ReadAllBytes(file.Path), (int)e.Offset));
    }

    [Fact]
    public void GetTensorData_AfterDispose_ThrowsObjectDisposed()
    {
        GgufFile file = GgufFile.Open(_temp.Write("d.gguf", Fixtures.WithTensors()));
        GgufTensorInfo tensor = file.Tensors[0];
        file.Dispose();

        Assert.Throws<ObjectDisposedException>(() => { using GgufTensorData d = file.GetTensorData(tensor); });
        Assert.Throws<ObjectDisposedException>(() => file.Metadata["general.architecture"].GetString());
    }

    [Fact]
    public void TensorView_HeldAcrossDispose_StaysReadable()
    {
        byte[] bytes = Fixtures.Bytes(84, 9);
        var w = new GgufWriter();
        w.AddTensor("x", GgmlType.F32, [21], bytes);
        GgufFile file = GgufFile.Open(_temp.Write("held.gguf", w));
        using GgufTensorData data = file.GetTensorData(file.Tensors[0]);
        file.Dispose();

        Assert.Equal(bytes, data.Bytes.ToArray());
    }

    [Fact]
    public void GetTensorData_TensorOfAnotherFile_Throws()
    {
        using GgufFile a = GgufFile.Open(_temp.Write("a.gguf", Fixtures.WithTensors()));
        using GgufFile b = GgufFile.Open(_temp.Write("b.gguf", Fixtures.WithTensors()));
        Assert.Throws<ArgumentException>(() => { using GgufTensorData d = a.GetTensorData(b.Tensors[0]); });
    }

    [Fact]
    public void Open_Malformed_ThrowsFormatAndUnmaps()
    {
        byte[] bytes = Fixtures.WithTensors().ToBytes();
        string path = _temp.WriteBytes("trunc.gguf", bytes.AsSpan(0, bytes.Length - 30));
        var logger = new CapturingLogger();

        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path, logger: logger));
        Assert.Equal(GgufErrorCode.TensorDataPastEnd, e.Code);

        // The header is read through the descriptor; any mapping made on the way is gone again.
        Assert.Equal(logger.Count("Mapped '"), logger.Count("Unmapped '"));
    }

    [Fact]
    public void Open_MissingFile_ThrowsMappedFileException()
    {
        var e = Assert.Throws<MappedFileException>(() => GgufFile.Open(_temp.File("none.gguf")));
        Assert.Equal(MappedFileError.NotFound, e.Error);
    }

    [Fact]
    public void Open_ManyArraysAndStrings_DecodesLazilyAndConsistently()
    {
        string path = _temp.Write("every.gguf", Fixtures.EveryValueType());
        using GgufFile file = GgufFile.Open(path);
        GgufHeader fromMemory = GgufReader.Read(File.ReadAllBytes(path));

        foreach (GgufMetadataEntry entry in file.Metadata)
        {
            GgufMetadataEntry other = fromMemory.Metadata[entry.Key];
            Assert.Equal(other.Type, entry.Type);
            Assert.Equal(other.ValueOffset, entry.ValueOffset);
            Assert.Equal(other.ValueLength, entry.ValueLength);
        }

        Assert.Equal(["", "a", "ünïcode", "line\nbreak"], file.Metadata["a.str"].GetArray().ToStringArray());
    }

    private static T[] Read<T>(GgufFile file, string name) where T : unmanaged
    {
        using GgufTensorData data = file.GetTensorData(file.GetTensor(name));
        return data.AsSpan<T>().ToArray();
    }

    private static byte[] AsBytes<T>(T[] values) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}
