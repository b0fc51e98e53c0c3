using Gguf.Format;
using Gguf.Model;
using Gguf.Tests.Support;
using Gguf.Writing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

using Gguf.Testing;

namespace Gguf.Tests.Writing;

/// <summary>The editor's copy paths on their own: copy_file_range (Linux) and the read/write path every OS can take.</summary>
public sealed class GgufEditorDataCopierTests : IDisposable
{
    private readonly TempDirectory _temp = new("gguf-copier");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Copy_MovesTheExactBytes_InSteps_WithProgress(bool copyFileRange)
    {
        Assert.SkipWhen(copyFileRange && !OperatingSystem.IsLinux(), "copy_file_range is Linux's");
        var w = new GgufWriter();
        byte[] data = Fixtures.Bytes((DataCopier.StepBytes * 2L) + 12345, 7);
        w.AddTensor("t", GgmlType.I8, [data.Length], data);
        string path = _temp.Write("s.gguf", w);
        using GgufFile file = GgufFile.Open(path);
        string target = _temp.File("d.bin");
        var reports = new List<GgufSaveProgress>();

        using (SafeFileHandle destination = File.OpenHandle(target, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            var copier = new DataCopier(file, copyFileRange ? file.Mapping.FileHandle : null, destination, target, data.Length, new GgufEditorTests.SyncProgress(reports.Add), NullLogger.Instance, TestContext.Current.CancellationToken);
            copier.Copy(file.DataOffset, 100, data.Length);
            Assert.Equal(copyFileRange ? GgufSaveMethod.CopyFileRange : GgufSaveMethod.ReadWrite, copier.Method);
            Assert.Equal(data.Length, copier.Copied);
            Assert.Equal(0, copier.Shared);
        }

        byte[] written = File.ReadAllBytes(target);
        Assert.Equal(100 + data.Length, written.Length);
        Assert.Equal(data, written.AsSpan(100).ToArray());
        Assert.Equal([DataCopier.StepBytes, DataCopier.StepBytes * 2L, data.Length], reports.Select(r => r.BytesDone).ToArray());
        Assert.All(reports, r => Assert.Equal(GgufSaveStage.CopyingData, r.Stage));
    }

    [Fact]
    public void TryClone_WithoutASourceDescriptor_IsFalse()
    {
        var w = new GgufWriter();
        w.AddTensor("t", GgmlType.I8, [64], new byte[64]);
        using GgufFile file = GgufFile.Open(_temp.Write("s.gguf", w));
        string target = _temp.File("d.bin");
        using SafeFileHandle destination = File.OpenHandle(target, FileMode.CreateNew, FileAccess.ReadWrite);
        var copier = new DataCopier(file, null, destination, target, 64, null, NullLogger.Instance, TestContext.Current.CancellationToken);
        Assert.False(copier.TryClone(0, 0, 64));
    }
}
