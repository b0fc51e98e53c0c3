using Gguf.Format;
using Gguf.Model;
using Gguf.Tests.Support;
using Gguf.Writing;

using Gguf.Testing;

namespace Gguf.Tests.Writing;

/// <summary>The in-place option: only the header changes, the data offset and tensor offsets stay, and it is refused when it cannot.</summary>
public sealed class GgufEditorInPlaceTests : IDisposable
{
    private static readonly GgufSaveOptions InPlace = new() { Mode = GgufSaveMode.InPlace };
    private readonly TempDirectory _temp = new("gguf-inplace");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _temp.Dispose();

    private string Model(string name)
    {
        GgufWriter w = Fixtures.WithTensors();
        w.AddMetadata(GgufKeys.Name, GgufValue.String(name));
        w.AddMetadata("custom.after", GgufValue.UInt32(5));
        return _temp.Write("m.gguf", w);
    }

    [Fact]
    public void SameSize_OnlyTheHeaderChanges()
    {
        string path = Model("abcdef");
        byte[] before = File.ReadAllBytes(path);
        long dataOffset;
        GgufSaveResult result;
        using (GgufFile file = GgufFile.Open(path))
        {
            dataOffset = file.DataOffset;
            result = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("ABCDEF")).Save(InPlace, Ct);
        }

        byte[] after = File.ReadAllBytes(path);
        Assert.Equal(GgufSaveMethod.InPlace, result.Method);
        Assert.Equal(0, result.PaddingBytes);
        Assert.Equal(dataOffset, result.BytesWritten);
        Assert.Equal(before.Length, after.Length);
        Assert.Equal(before.AsSpan((int)dataOffset).ToArray(), after.AsSpan((int)dataOffset).ToArray());
        using GgufFile edited = GgufFile.Open(path);
        Assert.Equal("ABCDEF", edited.Metadata[GgufKeys.Name].GetString());
        Assert.Equal(dataOffset, edited.DataOffset);
    }

    [Fact]
    public void ShrunkHeader_PaddingEntryFillsTheGap_SameDataOffsetAndTensorOffsets()
    {
        string path = Model(new string('n', 500));
        Dictionary<string, ulong> hashes = GgufEditorTests.TensorHashes(path);
        long dataOffset;
        long[] offsets;
        GgufSaveResult result;
        using (GgufFile file = GgufFile.Open(path))
        {
            dataOffset = file.DataOffset;
            offsets = file.Tensors.Select(t => t.Offset).ToArray();
            result = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("short")).Save(InPlace, Ct);
        }

        Assert.True(result.PaddingBytes >= GgufEditor.MinimumPaddingBytes);
        using (GgufFile edited = GgufFile.Open(path))
        {
            Assert.Equal(dataOffset, edited.DataOffset);
            Assert.Equal(dataOffset, edited.Header.HeaderEnd); // the padding entry ends exactly at the data
            Assert.Equal(offsets, edited.Tensors.Select(t => t.Offset).ToArray());
            Assert.Equal("short", edited.Metadata[GgufKeys.Name].GetString());
            GgufMetadataEntry padding = edited.Metadata[GgufEditor.PaddingKey];
            Assert.Equal(GgufValueType.UInt8, padding.ElementType);
            Assert.All(padding.GetArray().ToArray<byte>(), b => Assert.Equal(0, b));
            Assert.Equal(GgufEditor.PaddingKey, edited.Metadata[^1].Key);
        }

        Assert.Equal(hashes, GgufEditorTests.TensorHashes(path));
        Assert.Equal("ok", CliRunner.Run("verify", path).Out.Trim());

        // The padding absorbs a later, longer value, in place again.
        using (GgufFile file = GgufFile.Open(path))
        {
            result = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String(new string('m', 300))).Save(InPlace, Ct);
        }

        using (GgufFile edited = GgufFile.Open(path))
        {
            Assert.Equal(new string('m', 300), edited.Metadata[GgufKeys.Name].GetString());
            Assert.Equal(dataOffset, edited.DataOffset);
        }

        // Without padding allowed, an atomic save drops the entry.
        using (GgufFile file = GgufFile.Open(path))
        {
            new GgufEditor(file).Save(new GgufSaveOptions { AllowPadding = false }, Ct);
        }

        using (GgufFile edited = GgufFile.Open(path))
        {
            Assert.False(edited.Metadata.ContainsKey(GgufEditor.PaddingKey));
        }

        Assert.Equal(hashes, GgufEditorTests.TensorHashes(path));
    }

    [Fact]
    public void GapTooSmallForAPaddingEntry_IsRefused_FileUnchanged()
    {
        string name = new string('n', 200);
        string path = Model(name);
        byte[] before = File.ReadAllBytes(path);
        using GgufFile file = GgufFile.Open(path);

        // Shrink so the gap before the data is 35 bytes: above the 31 bytes of alignment padding, below
        // the 43 bytes of the smallest padding entry.
        long alignmentPadding = file.DataOffset - file.Header.HeaderEnd;
        string shorter = name[..(int)(name.Length - (35 - alignmentPadding))];
        var editor = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String(shorter));
        var e = Assert.Throws<InvalidOperationException>(() => editor.Save(InPlace, Ct));

        Assert.Contains("gap of 35 bytes", e.Message);
        Assert.Contains("save atomically", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void GrownHeader_IsRefused_FileUnchanged()
    {
        string path = Model("x");
        byte[] before = File.ReadAllBytes(path);
        using GgufFile file = GgufFile.Open(path);
        var editor = new GgufEditor(file).Set(GgufKeys.ChatTemplate, GgufValue.String(new string('t', 1000)));
        var e = Assert.Throws<InvalidOperationException>(() => editor.Save(InPlace, Ct));
        Assert.Contains("fit before the tensor data", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));

        // The same editor still saves atomically.
        editor.Save(null, Ct);
        using GgufFile edited = GgufFile.Open(path);
        Assert.Equal(1000, edited.Metadata[GgufKeys.ChatTemplate].GetString().Length);
    }

    [Fact]
    public void PaddingNotAllowed_GapIsRefused()
    {
        string path = Model(new string('n', 300));
        using GgufFile file = GgufFile.Open(path);
        var editor = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("s"));
        var e = Assert.Throws<InvalidOperationException>(() => editor.Save(InPlace with { AllowPadding = false }, Ct));
        Assert.Contains("padding is not allowed", e.Message);
    }

    [Fact]
    public void AlignmentChange_IsRefused()
    {
        string path = Model("x");
        using GgufFile file = GgufFile.Open(path);
        var editor = new GgufEditor(file).Set(GgufKeys.Alignment, GgufValue.UInt32(64));
        var e = Assert.Throws<InvalidOperationException>(() => editor.Save(InPlace, Ct));
        Assert.Contains("re-lays the tensor data", e.Message);
    }

    [Fact]
    public void OtherPath_IsRefused()
    {
        string path = Model("x");
        using GgufFile file = GgufFile.Open(path);
        Assert.Throws<ArgumentException>(() => new GgufEditor(file).SaveAs(_temp.File("other.gguf"), InPlace, Ct));
    }

    [Fact]
    public void AfterAnInPlaceSave_TheEditorRefusesAnotherSave()
    {
        string path = Model("abc");
        using GgufFile file = GgufFile.Open(path);
        var editor = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("xyz"));
        editor.Save(InPlace, Ct);
        var e = Assert.Throws<InvalidOperationException>(() => editor.Save(null, Ct));
        Assert.Contains("reopen it", e.Message);
    }

    [Fact]
    public void PathReplacedByAnotherFile_IsRefused_ThatFileUntouched()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the exact identity check (device and inode of the mapping) is Linux's; elsewhere the header decides");
        string path = Model("abc");
        using GgufFile file = GgufFile.Open(path);

        // Another file with the same length and header takes the path (a new inode).
        string other = _temp.File("other.gguf");
        byte[] otherBytes = File.ReadAllBytes(path);
        otherBytes[^1] ^= 0xFF;
        File.WriteAllBytes(other, otherBytes);
        File.Move(other, path, overwrite: true);

        var editor = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("xyz"));
        var e = Assert.Throws<InvalidOperationException>(() => editor.Save(InPlace, Ct));
        Assert.Contains("no longer the file", e.Message);
        Assert.Equal(otherBytes, File.ReadAllBytes(path));
    }
}
