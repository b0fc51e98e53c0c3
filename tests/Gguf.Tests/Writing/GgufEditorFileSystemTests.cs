using System.Diagnostics;
using Gguf.Format;
using Gguf.Model;
using Gguf.Tests.Support;
using Gguf.Writing;

using Gguf.Testing;

namespace Gguf.Tests.Writing;

/// <summary>
/// The editor against real file systems: read-only files and directories, a full disk (a small tmpfs), and
/// block sharing on XFS (a loop image). Root bypasses permission bits, so as root read-only is made with
/// <c>chattr +i</c>; the mounts need root and skip with a message without it.
/// </summary>
public sealed class GgufEditorFileSystemTests : IDisposable
{
    private readonly TempDirectory _temp = new("gguf-editor-fs");
    private readonly List<Action> _undo = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static bool IsRoot => !OperatingSystem.IsWindows() && Environment.UserName == "root";

    public void Dispose()
    {
        foreach (Action undo in Enumerable.Reverse(_undo))
        {
            undo();
        }

        _temp.Dispose();
    }

    private static string Model(string directory, string name = "m.gguf", long dataBytes = 1 << 20)
    {
        var w = new GgufWriter();
        w.AddMetadata(GgufKeys.Architecture, GgufValue.String("test"));
        w.AddMetadata(GgufKeys.Name, GgufValue.String("before"));
        for (int i = 0; i < 4; i++)
        {
            w.AddTensor($"t{i}", GgmlType.F32, [dataBytes / 16], Fixtures.Bytes(dataBytes / 4, i)); // four tensors of dataBytes / 4
        }

        string path = Path.Combine(directory, name);
        w.WriteTo(path);
        return path;
    }

    private static (int Code, string Output) Shell(string command)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command);
        using Process process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }

    /// <summary>Makes a file or directory read-only for this process: chattr +i as root, permission bits otherwise.</summary>
    private void MakeReadOnly(string path, bool directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("read-only POSIX files and directories");
            return;
        }

        if (IsRoot)
        {
            (int code, string output) = Shell($"chattr +i '{path}'");
            Assert.SkipWhen(code != 0, $"running as root, where permission bits do not stop writes, and chattr +i failed here: {output.Trim()}");
            _undo.Add(() => Shell($"chattr -i '{path}'"));
            return;
        }

        UnixFileMode mode = File.GetUnixFileMode(path);
        File.SetUnixFileMode(path, directory ? UnixFileMode.UserRead | UnixFileMode.UserExecute : UnixFileMode.UserRead);
        _undo.Add(() =>
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, mode);
            }
        });
    }

    private void AssertCleanFailure(Exception e, string path, byte[] before, string directory)
    {
        Assert.True(e is IOException or UnauthorizedAccessException, $"{e.GetType().Name}: {e.Message}");
        Assert.Contains(path, e.Message);
        Assert.Contains("unchanged", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Empty(GgufEditorTests.Leftovers(directory, Path.GetFileName(path)));
    }

    [Fact]
    public void ReadOnlyFile_CleanError_NothingLost()
    {
        string path = Model(_temp.Path);
        byte[] before = File.ReadAllBytes(path);
        MakeReadOnly(path, directory: false);

        using GgufFile file = GgufFile.Open(path);
        var editor = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("after"));
        Exception e = Assert.ThrowsAny<Exception>(() => editor.Save(null, Ct));
        AssertCleanFailure(e, path, before, _temp.Path);

        // In place too.
        e = Assert.ThrowsAny<Exception>(() => editor.Save(new GgufSaveOptions { Mode = GgufSaveMode.InPlace }, Ct));
        AssertCleanFailure(e, path, before, _temp.Path);
    }

    [Fact]
    public void ReadOnlyDirectory_CleanError_NothingLost()
    {
        string directory = Path.Combine(_temp.Path, "ro");
        Directory.CreateDirectory(directory);
        string path = Model(directory);
        byte[] before = File.ReadAllBytes(path);
        MakeReadOnly(directory, directory: true);

        using GgufFile file = GgufFile.Open(path);
        Exception e = Assert.ThrowsAny<Exception>(() => new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("after")).Save(null, Ct));
        AssertCleanFailure(e, path, before, directory);
    }

    [Fact]
    public void DiskFull_CleanError_NothingLost_InPlaceStillWorks()
    {
        string mount = MountOrSkip("tmpfs", "-t tmpfs -o size=6m tmpfs", image: null);
        string path = Model(mount, dataBytes: 4 << 20); // fits once, not twice
        byte[] before = File.ReadAllBytes(path);

        using (GgufFile file = GgufFile.Open(path))
        {
            var editor = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("after"));
            Exception e = Assert.ThrowsAny<Exception>(() => editor.Save(null, Ct));
            AssertCleanFailure(e, path, before, mount);
            Assert.Matches("disk was full|No space left", e.Message);

            // Rewriting the header in place needs no space.
            Assert.Equal(GgufSaveMethod.InPlace, editor.Save(new GgufSaveOptions { Mode = GgufSaveMode.InPlace }, Ct).Method);
        }

        using GgufFile edited = GgufFile.Open(path);
        Assert.Equal("after", edited.Metadata[GgufKeys.Name].GetString());
    }

    [Fact]
    public void Xfs_DataIsSharedByReflink_PaddingKeepsTheBlockRemainder()
    {
        string mount = MountOrSkip("xfs", "-o loop", image: "mkfs.xfs -q -f");
        string path = Model(mount, dataBytes: 16 << 20);
        Dictionary<string, ulong> hashes = GgufEditorTests.TensorHashes(path);
        long oldDataOffset;
        GgufSaveResult result;
        using (GgufFile file = GgufFile.Open(path))
        {
            oldDataOffset = file.DataOffset;
            result = new GgufEditor(file).Set(GgufKeys.ChatTemplate, GgufValue.String("{{ bos_token }}{{ messages }}")).Save(null, Ct);
        }

        Assert.Equal(GgufSaveMethod.Reflink, result.Method);
        Assert.True(result.BytesShared > (15L << 20), $"{result.BytesShared} bytes shared");
        Assert.True(result.BytesWritten <= 2 * 4096, $"{result.BytesWritten} bytes written"); // header, padding and the partial first block
        Assert.True(result.PaddingBytes >= GgufEditor.MinimumPaddingBytes);
        Assert.Equal(oldDataOffset % 4096, result.DataOffset % 4096);
        Assert.Equal(hashes, GgufEditorTests.TensorHashes(path));
        Assert.Equal("ok", CliRunner.Run("verify", path).Out.Trim());

        // A second edit reuses the padding; without padding allowed the data is copied instead.
        using (GgufFile file = GgufFile.Open(path))
        {
            result = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("a longer name than before")).Save(null, Ct);
        }

        Assert.Equal(GgufSaveMethod.Reflink, result.Method);
        using (GgufFile file = GgufFile.Open(path))
        {
            result = new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String("x")).Save(new GgufSaveOptions { AllowPadding = false }, Ct);
        }

        Assert.NotEqual(GgufSaveMethod.Reflink, result.Method);
        Assert.Equal(0, result.PaddingBytes);
        Assert.Equal(hashes, GgufEditorTests.TensorHashes(path));
    }

    /// <summary>Mounts a small file system for this test (root only), or skips saying why.</summary>
    private string MountOrSkip(string kind, string options, string? image)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && IsRoot, $"mounting a {kind} needs root on Linux; the kill tests cover a full disk through RLIMIT_FSIZE without root");
        string mount = Path.Combine(_temp.Path, kind + "-mount");
        Directory.CreateDirectory(mount);
        string source = "";
        if (image is not null)
        {
            string file = Path.Combine(_temp.Path, kind + ".img");
            (int made, string log) = Shell($"truncate -s 320M '{file}' && {image} '{file}'");
            Assert.SkipWhen(made != 0, $"cannot make a {kind} image ({log.Trim()}); install its tools (e.g. xfsprogs) to test reflink");
            source = $"'{file}'";
        }

        (int code, string output) = Shell($"mount {options} {source} '{mount}'");
        Assert.SkipWhen(code != 0, $"cannot mount a {kind} here: {output.Trim()}");
        _undo.Add(() => Shell($"umount '{mount}'"));
        return mount;
    }
}
