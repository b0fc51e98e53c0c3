using System.IO.Hashing;
using System.Text;
using Gguf.Format;
using Gguf.Model;
using Gguf.Tests.Support;
using Gguf.Writing;

using Gguf.Testing;

namespace Gguf.Tests.Writing;

/// <summary>The editor's model: set, replace, remove, key order, types, alignment re-lay, and what a save leaves.</summary>
public sealed class GgufEditorTests : IDisposable
{
    private readonly TempDirectory _temp = new("gguf-editor");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _temp.Dispose();

    /// <summary>XxHash64 of every tensor's bytes, by name.</summary>
    internal static Dictionary<string, ulong> TensorHashes(string path)
    {
        using GgufFile file = GgufFile.Open(path);
        var hashes = new Dictionary<string, ulong>();
        foreach (GgufTensorInfo tensor in file.Tensors)
        {
            using GgufTensorData data = file.GetTensorData(tensor);
            hashes[tensor.Name] = XxHash64.HashToUInt64(data.Bytes);
        }

        return hashes;
    }

    /// <summary>The files in a folder other than the ones named.</summary>
    internal static string[] Leftovers(string directory, params string[] expected) =>
        Directory.GetFiles(directory).Select(Path.GetFileName).Where(n => !expected.Contains(n)).ToArray()!;

    private string Model(string name = "m.gguf", uint alignment = 32)
    {
        GgufWriter w = Fixtures.WithTensors(alignment);
        w.AddMetadata(GgufKeys.Name, GgufValue.String("before"));
        w.AddMetadata("tokenizer.ggml.eos_token_id", GgufValue.UInt32(2));
        w.AddMetadata("custom.list", GgufValue.FromArray(new[] { 1, 2, 3 }));
        return _temp.Write(name, w);
    }

    [Fact]
    public void Set_ReplacesInPlaceOfTheKeyAndAppendsNewKeys_TensorBytesIdentical()
    {
        string path = Model();
        Dictionary<string, ulong> before = TensorHashes(path);
        string[] keysBefore;
        GgufSaveResult result;
        using (GgufFile file = GgufFile.Open(path))
        {
            keysBefore = file.Metadata.Select(e => e.Key).ToArray();
            var editor = new GgufEditor(file);
            editor.Set(GgufKeys.Name, GgufValue.String("after, and longer than before"));
            editor.Set("custom.new", GgufValue.FromStrings(["a", "b"]));
            editor.Set("custom.list", GgufValue.Float64(2.5)); // a free key may change its type
            result = editor.Save(null, Ct);
        }

        using GgufFile edited = GgufFile.Open(path);
        Assert.Equal([.. keysBefore, "custom.new"], edited.Metadata.Select(e => e.Key).ToArray());
        Assert.Equal("after, and longer than before", edited.Metadata[GgufKeys.Name].GetString());
        Assert.Equal(2.5, edited.Metadata["custom.list"].GetFloat64());
        Assert.Equal(["a", "b"], edited.Metadata["custom.new"].GetArray().ToStringArray());
        Assert.Equal(2u, edited.Metadata["tokenizer.ggml.eos_token_id"].GetUInt32());
        Assert.Equal(before, TensorHashes(path));
        Assert.Equal(edited.DataOffset, result.DataOffset);
        Assert.Equal(edited.FileSize, result.FileSize);
        Assert.Equal(new FileInfo(path).Length, result.FileSize);
        Assert.Empty(Leftovers(_temp.Path, "m.gguf"));
        Assert.Equal(0, CliRunner.Run("verify", path).Code);
    }

    [Fact]
    public void Remove_DropsTheKey_KeepsTheRestInOrder()
    {
        string path = Model();
        string[] expected;
        using (GgufFile file = GgufFile.Open(path))
        {
            expected = file.Metadata.Select(e => e.Key).Where(k => k != GgufKeys.Name).ToArray();
            var editor = new GgufEditor(file);
            Assert.True(editor.Remove(GgufKeys.Name));
            Assert.False(editor.Remove("no.such.key"));
            Assert.False(editor.ContainsKey(GgufKeys.Name));
            Assert.Equal(expected, editor.Keys);
            editor.Save(null, Ct);
        }

        using GgufFile edited = GgufFile.Open(path);
        Assert.Equal(expected, edited.Metadata.Select(e => e.Key).ToArray());
    }

    [Fact]
    public void Set_EveryValueType_RoundTripsExactly()
    {
        GgufWriter reference = Fixtures.EveryValueType();
        reference.AddMetadata("t.badutf8", GgufValue.FromUtf8([0xC3, 0x28, 0x41]));
        string path = Model();
        using (GgufFile file = GgufFile.Open(path))
        {
            var editor = new GgufEditor(file);
            foreach ((string key, GgufValue value) in reference.Metadata)
            {
                editor.Set("e." + key, value);
            }

            editor.Save(null, Ct);
        }

        // The same values written by the writer and set by the editor encode to the same bytes.
        byte[] expected = reference.ToBytes();
        using GgufFile edited = GgufFile.Open(path);
        GgufHeader written = GgufReader.Read(expected);
        foreach (GgufMetadataEntry want in written.Metadata)
        {
            GgufMetadataEntry got = edited.Metadata["e." + want.Key];
            Assert.Equal(want.Type, got.Type);
            byte[] wantBytes = expected.AsSpan((int)want.ValueOffset, want.ValueLength).ToArray();
            byte[] gotBytes = new byte[got.ValueLength];
            edited.Mapping.Read(got.ValueOffset, gotBytes);
            Assert.Equal(wantBytes, gotBytes);
        }
    }

    [Theory]
    [InlineData(GgufKeys.Alignment, "uint32, a power of two")]
    [InlineData("tokenizer.ggml.eos_token_id", "uint32")]
    [InlineData("tokenizer.ggml.fim_pre_token_id", "uint32")]
    [InlineData(GgufKeys.Architecture, "string")]
    [InlineData(GgufKeys.SplitNo, "uint16")]
    [InlineData(GgufKeys.SplitCount, "uint16")]
    [InlineData(GgufKeys.SplitTensorsCount, "int32")]
    [InlineData(GgufKeys.TokenizerTokens, "array of string")]
    [InlineData("tokenizer.ggml.add_bos_token", "bool")]
    public void Set_WellKnownKeyOfTheWrongType_ThrowsNamingKeyAndType_NothingWritten(string key, string required)
    {
        string path = Model();
        byte[] before = File.ReadAllBytes(path);
        using (GgufFile file = GgufFile.Open(path))
        {
            var editor = new GgufEditor(file);
            var e = Assert.Throws<ArgumentException>(() => editor.Set(key, GgufValue.Int64(3)));
            Assert.Contains($"'{key}'", e.Message);
            Assert.Contains(required, e.Message);
            Assert.False(editor.HasChanges);
        }

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Empty(Leftovers(_temp.Path, "m.gguf"));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(48u)]
    public void Set_AlignmentNotAPowerOfTwo_Throws(uint alignment)
    {
        using GgufFile file = GgufFile.Open(Model());
        var e = Assert.Throws<ArgumentException>(() => new GgufEditor(file).Set(GgufKeys.Alignment, GgufValue.UInt32(alignment)));
        Assert.Contains("power of two", e.Message);
    }

    [Fact]
    public void Set_WellKnownKeyOfTheRightType_IsAccepted()
    {
        using GgufFile file = GgufFile.Open(Model());
        var editor = new GgufEditor(file);
        editor.Set("tokenizer.ggml.eos_token_id", GgufValue.UInt32(7));
        editor.Set(GgufKeys.SplitCount, GgufValue.UInt16(1));
        editor.Set(GgufKeys.TokenizerScores, GgufValue.FromArray(new[] { 0.5f }));
        Assert.True(editor.HasChanges);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a\0b")]
    [InlineData(GgufEditor.PaddingKey)]
    public void Set_InvalidOrReservedKey_Throws(string key)
    {
        using GgufFile file = GgufFile.Open(Model());
        Assert.ThrowsAny<ArgumentException>(() => new GgufEditor(file).Set(key, GgufValue.UInt8(1)));
    }

    [Fact]
    public void Set_KeyWithALoneSurrogate_Throws()
    {
        using GgufFile file = GgufFile.Open(Model());
        string key = "bad." + new string('\ud800', 1);
        var e = Assert.Throws<ArgumentException>(() => new GgufEditor(file).Set(key, GgufValue.UInt8(1)));
        Assert.Contains("not valid UTF-16", e.Message);
    }

    [Fact]
    public void Set_ArraysNestedBeyondTheReadersLimit_Throws()
    {
        GgufValue value = GgufValue.FromArray(new[] { 1 });
        for (int i = 0; i < GgufReaderOptions.Default.MaxArrayDepth; i++)
        {
            value = GgufValue.FromArrays(value);
        }

        using GgufFile file = GgufFile.Open(Model());
        var e = Assert.Throws<ArgumentException>(() => new GgufEditor(file).Set("deep", value));
        Assert.Contains("nests arrays", e.Message);
    }

    [Theory]
    [InlineData(32u, 64u)]
    [InlineData(32u, 1u)]
    [InlineData(64u, 4096u)]
    [InlineData(256u, 32u)]
    public void Set_Alignment_ReLaysEveryTensorAtTheNewAlignment(uint from, uint to)
    {
        string path = Model(alignment: from);
        Dictionary<string, ulong> before = TensorHashes(path);
        GgufSaveResult result;
        using (GgufFile file = GgufFile.Open(path))
        {
            var editor = new GgufEditor(file);
            editor.Set(GgufKeys.Alignment, GgufValue.UInt32(to));
            result = editor.Save(null, Ct);
        }

        Assert.True(result.Relaid);
        using GgufFile edited = GgufFile.Open(path); // packed tensors are required by default
        Assert.Equal(to, edited.Alignment);
        Assert.Equal(0, edited.DataOffset % to);
        Assert.All(edited.Tensors, t => Assert.Equal(0, t.Offset % to));
        Assert.Equal(edited.DataOffset + edited.Header.DataSectionSize, edited.FileSize);
        Assert.Equal(before, TensorHashes(path));
    }

    [Fact]
    public void Remove_Alignment_ReLaysAtTheDefault()
    {
        string path = Model(alignment: 128);
        Dictionary<string, ulong> before = TensorHashes(path);
        using (GgufFile file = GgufFile.Open(path))
        {
            var editor = new GgufEditor(file);
            editor.Remove(GgufKeys.Alignment);
            Assert.True(editor.Save(null, Ct).Relaid);
        }

        using GgufFile edited = GgufFile.Open(path);
        Assert.Equal(32u, edited.Alignment);
        Assert.Equal(before, TensorHashes(path));
    }

    [Fact]
    public void Save_OverTheOpenSource_SourceKeepsReadingTheOldFile()
    {
        string path = Model();
        Dictionary<string, ulong> before = TensorHashes(path);
        using GgufFile file = GgufFile.Open(path);
        var editor = new GgufEditor(file);
        editor.Set(GgufKeys.Name, GgufValue.String("one"));
        editor.Save(null, Ct);

        // The mapping still holds the old inode: its metadata and tensors read as before.
        Assert.Equal("before", file.Metadata[GgufKeys.Name].GetString());
        foreach (GgufTensorInfo tensor in file.Tensors)
        {
            using GgufTensorData data = file.GetTensorData(tensor);
            Assert.Equal(before[tensor.Name], XxHash64.HashToUInt64(data.Bytes));
        }

        // A second save from the same editor copies from the source's own descriptor (the old file), not
        // from the file now at the path.
        editor.Set(GgufKeys.Name, GgufValue.String("two, a bit longer"));
        GgufSaveResult second = editor.Save(null, Ct);
        Assert.Equal(OperatingSystem.IsLinux() ? GgufSaveMethod.CopyFileRange : GgufSaveMethod.ReadWrite, second.Method);
        using GgufFile edited = GgufFile.Open(path);
        Assert.Equal("two, a bit longer", edited.Metadata[GgufKeys.Name].GetString());
        Assert.Equal(before, TensorHashes(path));
    }

    [Fact]
    public void SaveAs_WritesACopy_SourceUnchanged()
    {
        string path = Model();
        byte[] original = File.ReadAllBytes(path);
        string copy = _temp.File("copy.gguf");
        using (GgufFile file = GgufFile.Open(path))
        {
            new GgufEditor(file).Set("custom.x", GgufValue.Bool(true)).SaveAs(copy, null, Ct);
        }

        Assert.Equal(original, File.ReadAllBytes(path));
        using GgufFile edited = GgufFile.Open(copy);
        Assert.True(edited.Metadata["custom.x"].GetBool());
        Assert.Equal(TensorHashes(path), TensorHashes(copy));
    }

    [Fact]
    public void Save_NoChanges_WritesTheSameBytes()
    {
        string path = Model();
        byte[] original = File.ReadAllBytes(path);
        using (GgufFile file = GgufFile.Open(path))
        {
            new GgufEditor(file).SaveAs(_temp.File("same.gguf"), null, Ct);
        }

        Assert.Equal(original, File.ReadAllBytes(_temp.File("same.gguf")));
    }

    [Fact]
    public void Save_VocabOnlyFile_NoTensors()
    {
        var w = Fixtures.EveryValueType();
        string path = _temp.Write("vocab.gguf", w);
        using (GgufFile file = GgufFile.Open(path))
        {
            new GgufEditor(file).Set(GgufKeys.ChatTemplate, GgufValue.String("{{ messages }}")).Save(null, Ct);
        }

        using GgufFile edited = GgufFile.Open(path);
        Assert.Equal("{{ messages }}", edited.Metadata[GgufKeys.ChatTemplate].GetString());
        Assert.Equal(edited.Header.HeaderEnd, edited.FileSize);
    }

    [Fact]
    public void Save_CorpusFile_ChatTemplate_EverythingElseByteIdentical()
    {
        string corpus = Corpus.Require();
        string source = Path.Combine(corpus, "ggml-vocab-llama-spm.gguf");
        string path = _temp.File("llama-spm.gguf");
        File.Copy(source, path);
        if (!OperatingSystem.IsWindows())
        {
            // The corpus is read-only; the copy keeps its mode, and the editor refuses to replace read-only files.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        string template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}\n";
        using (GgufFile file = GgufFile.Open(path))
        {
            new GgufEditor(file).Set(GgufKeys.ChatTemplate, GgufValue.FromUtf8(Encoding.UTF8.GetBytes(template))).Save(null, Ct);
        }

        using GgufFile original = GgufFile.Open(source);
        using GgufFile edited = GgufFile.Open(path);
        Assert.Equal(template, edited.Metadata[GgufKeys.ChatTemplate].GetString());
        foreach (GgufMetadataEntry entry in original.Metadata.Where(e => e.Key != GgufKeys.ChatTemplate))
        {
            GgufMetadataEntry after = edited.Metadata[entry.Key];
            var a = new byte[entry.ValueLength];
            var b = new byte[after.ValueLength];
            original.Mapping.Read(entry.ValueOffset, a);
            edited.Mapping.Read(after.ValueOffset, b);
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public void Save_Progress_ReportsTheStagesInOrder()
    {
        string path = Model();
        var stages = new List<GgufSaveStage>();
        using (GgufFile file = GgufFile.Open(path))
        {
            new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("x")).Save(new GgufSaveOptions { Progress = new SyncProgress(p => stages.Add(p.Stage)) }, Ct);
        }

        GgufSaveStage[] distinct = stages.Distinct().ToArray();
        Assert.Equal(
            [GgufSaveStage.TempFileCreated, GgufSaveStage.HeaderWritten, GgufSaveStage.CopyingData, GgufSaveStage.DataCopied, GgufSaveStage.Flushed, GgufSaveStage.Replaced, GgufSaveStage.Completed],
            distinct);
    }

    [Fact]
    public void Save_CancelledWhileCopying_FileUnchanged_NoTempFileLeft()
    {
        string path = Model();
        byte[] original = File.ReadAllBytes(path);
        using var cancel = new CancellationTokenSource();
        using (GgufFile file = GgufFile.Open(path))
        {
            var options = new GgufSaveOptions { Progress = new SyncProgress(p => { if (p.Stage == GgufSaveStage.HeaderWritten) cancel.Cancel(); }) };
            var editor = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("never"));
            Assert.ThrowsAny<OperationCanceledException>(() => editor.Save(options, cancel.Token));
        }

        Assert.Equal(original, File.ReadAllBytes(path));
        Assert.Empty(Leftovers(_temp.Path, "m.gguf"));
    }

    [Fact]
    public void Save_Symlink_ReplacesTheFileItNames_KeepsTheLink()
    {
        string path = Model();
        string link = _temp.File("link.gguf");
        File.CreateSymbolicLink(link, path);
        using (GgufFile file = GgufFile.Open(link))
        {
            new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("via link")).Save(null, Ct);
        }

        Assert.NotNull(new FileInfo(link).LinkTarget);
        using GgufFile edited = GgufFile.Open(path);
        Assert.Equal("via link", edited.Metadata[GgufKeys.Name].GetString());
    }

    [Fact]
    public void Save_KeepsThePermissions()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix permissions only");
            return;
        }

        string path = Model();
        UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        File.SetUnixFileMode(path, mode);
        using (GgufFile file = GgufFile.Open(path))
        {
            new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("mode")).Save(null, Ct);
        }

        Assert.Equal(mode, File.GetUnixFileMode(path));
    }

    [Fact]
    public void Save_RemovesStaleTempFilesOfDeadProcesses_Only()
    {
        string path = Model();
        int dead = DeadProcessId();
        string stale = _temp.Write($".m.gguf.gguf-edit-{dead}-0123456789abcdef.tmp", [1, 2, 3]);
        string otherTarget = _temp.Write($".other.gguf.gguf-edit-{dead}-0123456789abcdef.tmp", [1]);
        string notOurs = _temp.Write($".m.gguf.gguf-edit-{dead}-nothex.tmp", [1]);
        string alive = _temp.Write($".m.gguf.gguf-edit-1-0123456789abcdef.tmp", [1]); // pid 1 runs
        string fresh = _temp.Write($".m.gguf.gguf-edit-{dead}-fedcba9876543210.tmp", [1]);
        DateTime old = DateTime.UtcNow.AddHours(-1);
        foreach (string f in new[] { stale, otherTarget, notOurs })
        {
            File.SetLastWriteTimeUtc(f, old);
        }

        // Written by pid 1 while it ran: after it started (on a machine booted minutes ago an hour-old file would be
        // from an earlier pid 1, a reused id) and before this process started.
        using (var init = System.Diagnostics.Process.GetProcessById(1))
        {
            File.SetLastWriteTimeUtc(alive, init.StartTime.ToUniversalTime().AddSeconds(1));
        }

        File.SetLastWriteTimeUtc(fresh, DateTime.UtcNow.AddHours(1)); // written after this process started

        GgufSaveResult result;
        using (GgufFile file = GgufFile.Open(path))
        {
            result = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("clean")).Save(null, Ct);
        }

        Assert.Equal(1, result.StaleFilesRemoved);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(otherTarget));
        Assert.True(File.Exists(notOurs));
        Assert.True(File.Exists(alive));
        Assert.True(File.Exists(fresh));
    }

    [Fact]
    public void Save_PaddingEntry_IsManagedByTheEditor()
    {
        string path = Model();
        using GgufFile file = GgufFile.Open(path);
        var editor = new GgufEditor(file);
        Assert.Throws<ArgumentException>(() => editor.Set(GgufEditor.PaddingKey, GgufValue.FromArray(new byte[4])));
        Assert.Throws<ArgumentException>(() => editor.Remove(GgufEditor.PaddingKey));
        Assert.DoesNotContain(GgufEditor.PaddingKey, editor.Keys);
    }

    /// <summary>A process id no process has (ids are below 2^22 on Linux).</summary>
    internal static int DeadProcessId()
    {
        for (int id = 4_000_000; ; id++)
        {
            try
            {
                using var p = System.Diagnostics.Process.GetProcessById(id);
            }
            catch (ArgumentException)
            {
                return id;
            }
        }
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports synchronously on the saving thread.</summary>
    internal sealed class SyncProgress(Action<GgufSaveProgress> report) : IProgress<GgufSaveProgress>
    {
        public void Report(GgufSaveProgress value) => report(value);
    }
}
