using System.Diagnostics;
using System.Text.Json;
using Gguf.Format;
using Gguf.Model;
using Gguf.Tests.Support;
using Gguf.Writing;

using Gguf.Testing;

namespace Gguf.Tests.Writing;

/// <summary>A model of a few copy steps, written once for the kill tests.</summary>
public sealed class KillTestModel : IDisposable
{
    private readonly TempDirectory _temp = new("gguf-kill-model");

    public KillTestModel()
    {
        // Three copy steps of data (16 MiB each), so a save can be stopped between them.
        var w = new GgufWriter();
        w.AddMetadata(GgufKeys.Architecture, GgufValue.String("test"));
        w.AddMetadata(GgufKeys.Name, GgufValue.String("before the edit"));
        for (int i = 0; i < 5; i++)
        {
            w.AddTensor($"blk.{i}.weight", GgmlType.F32, [1024, 2048], Fixtures.Bytes(8L << 20, i));
        }

        Path = _temp.Write("model.gguf", w);
        Bytes = File.ReadAllBytes(Path);
    }

    public string Path { get; }

    public byte[] Bytes { get; }

    public void Dispose() => _temp.Dispose();
}

/// <summary>
/// Issue item 3: the CLI is killed with SIGKILL at every stage of a default save (the save stops at a stage
/// through the <c>GGUF_SET_PAUSE_AT</c> hook, then the test kills it). Afterwards the path holds the complete
/// old file or the complete new one, byte for byte, and the next save removes the temporary file.
/// </summary>
public sealed class GgufEditorKillTests(KillTestModel model) : IClassFixture<KillTestModel>, IDisposable
{
    private const string NewName = "after the edit, a little longer";
    private readonly TempDirectory _temp = new("gguf-kill");

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string, bool> Stages => new()
    {
        { "TempFileCreated:1", false },
        { "HeaderWritten:1", false },
        { "CopyingData:1", false },
        { "CopyingData:2", false },
        { "DataCopied:1", false },
        { "Flushed:1", false },
        { "Replaced:1", true },
        { "Completed:1", true },
    };

    [Theory]
    [MemberData(nameof(Stages))]
    public void Sigkill_AtAStage_LeavesTheOldOrTheNewFile_NextSaveRemovesTheTempFile(string stage, bool replaced)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "SIGKILL and the POSIX rename are what this test is about");
        string path = _temp.File("m.gguf");
        File.WriteAllBytes(path, model.Bytes);
        byte[] expectedNew = ExpectedNewFile(path);

        using (Process child = CliChild.Start(["set", path, GgufKeys.Name, NewName], new() { [CliChild.PauseVariable] = stage }))
        {
            string line = CliChild.WaitForPause(child);
            Assert.StartsWith($"paused at {stage.Split(':')[0]}", line);
            child.Kill();
            child.WaitForExit();
        }

        byte[] after = File.ReadAllBytes(path);
        Assert.True(after.AsSpan().SequenceEqual(replaced ? expectedNew : model.Bytes), $"after a kill at {stage} the file is neither the expected {(replaced ? "new" : "old")} file ({after.Length} bytes)");
        string[] temps = GgufEditorTests.Leftovers(_temp.Path, "m.gguf");
        Assert.Equal(replaced ? 0 : 1, temps.Length);

        // The next save (a later process) removes what the killed one left and completes the edit.
        (int code, string output, string error) = CliChild.Run(["set", path, GgufKeys.Name, NewName, "--json"]);
        Assert.True(code == 0, error);
        using (JsonDocument doc = JsonDocument.Parse(output))
        {
            Assert.Equal(temps.Length, doc.RootElement.GetProperty("stale_files_removed").GetInt32());
        }

        Assert.Empty(GgufEditorTests.Leftovers(_temp.Path, "m.gguf"));
        Assert.Equal(expectedNew, File.ReadAllBytes(path));
    }

    [Fact]
    public void FileSizeLimit_Efbig_IsACleanError_NothingLost()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "RLIMIT_FSIZE is POSIX");
        string path = _temp.File("m.gguf");
        File.WriteAllBytes(path, model.Bytes);

        // SIGXFSZ is ignored, so writing past the limit fails with EFBIG instead of killing the process.
        (int code, string output, string error) = CliChild.Run(["set", path, GgufKeys.Name, NewName], fileSizeLimitKiB: 4096);

        Assert.Equal(1, code);
        Assert.Empty(output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches("^error: saving '.*m\\.gguf' failed, the file is unchanged: .*(File too large|disk was full)", line);
        Assert.Equal(model.Bytes, File.ReadAllBytes(path));
        Assert.Empty(GgufEditorTests.Leftovers(_temp.Path, "m.gguf"));
    }

    /// <summary>
    /// Kills at random moments of a save (GGUF_EDITOR_KILL_CAMPAIGN=N rounds, 1 by default), each followed
    /// by the same checks as above.
    /// </summary>
    [Fact]
    public void Sigkill_AtRandomMoments_Campaign()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "SIGKILL and the POSIX rename are what this test is about");
        // One round by default: the theory above covers every stage deterministically.
        int rounds = int.TryParse(Environment.GetEnvironmentVariable("GGUF_EDITOR_KILL_CAMPAIGN"), out int n) && n > 0 ? n : 1;

        string path = _temp.File("m.gguf");
        var random = new Random(rounds);
        byte[] expectedNew = [];
        int oldFiles = 0, newFiles = 0, tempFiles = 0;
        for (int round = 0; round < rounds; round++)
        {
            File.WriteAllBytes(path, model.Bytes);
            expectedNew = round == 0 ? ExpectedNewFile(path) : expectedNew;
            using (Process child = CliChild.Start(["set", path, GgufKeys.Name, NewName], []))
            {
                Thread.Sleep(random.Next(150, 800));
                child.Kill();
                child.WaitForExit();
            }

            byte[] after = File.ReadAllBytes(path);
            bool isOld = after.AsSpan().SequenceEqual(model.Bytes);
            Assert.True(isOld || after.AsSpan().SequenceEqual(expectedNew), $"round {round}: the file is neither the old nor the new one");
            oldFiles += isOld ? 1 : 0;
            newFiles += isOld ? 0 : 1;
            tempFiles += GgufEditorTests.Leftovers(_temp.Path, "m.gguf").Length;
            Assert.Equal(0, CliChild.Run(["set", path, GgufKeys.Name, NewName]).Code);
            Assert.Empty(GgufEditorTests.Leftovers(_temp.Path, "m.gguf"));
            Assert.Equal(expectedNew, File.ReadAllBytes(path));
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{rounds} kills: {oldFiles} left the old file ({tempFiles} with a temporary file), {newFiles} the new one");
    }

    /// <summary>The file the edit produces, made in this process next to the target (same file system, same padding).</summary>
    private byte[] ExpectedNewFile(string path)
    {
        string expected = _temp.File("expected.gguf");
        using (GgufFile file = GgufFile.Open(path))
        {
            new GgufEditor(file).Set(GgufKeys.Name, GgufValue.String(NewName)).SaveAs(expected, null, TestContext.Current.CancellationToken);
        }

        byte[] bytes = File.ReadAllBytes(expected);
        File.Delete(expected);
        return bytes;
    }
}

/// <summary>Runs the gguf tool as a child process (<c>dotnet Gguf.Cli.dll</c>), for tests that kill it or limit it.</summary>
internal static class CliChild
{
    public const string PauseVariable = "GGUF_SET_PAUSE_AT";

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static Process Start(string[] args, Dictionary<string, string> environment, int fileSizeLimitKiB = 0)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "Gguf.Cli.dll");
        var info = new ProcessStartInfo
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (fileSizeLimitKiB > 0)
        {
            // bash counts ulimit -f in KiB; an ignored SIGXFSZ stays ignored across exec.
            info.FileName = "bash";
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add($"trap '' XFSZ; ulimit -f {fileSizeLimitKiB}; exec \"$0\" \"$@\"");
            info.ArgumentList.Add(DotnetHost());
        }
        else
        {
            info.FileName = DotnetHost();
        }

        info.ArgumentList.Add(cli);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach ((string name, string value) in environment)
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("the CLI did not start");
    }

    /// <summary>Runs to completion; returns the exit code, stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(string[] args, int fileSizeLimitKiB = 0)
    {
        using Process child = Start(args, [], fileSizeLimitKiB);
        Task<string> output = child.StandardOutput.ReadToEndAsync();
        Task<string> error = child.StandardError.ReadToEndAsync();
        if (!child.WaitForExit(Timeout))
        {
            child.Kill();
            throw new TimeoutException($"gguf {string.Join(' ', args)} did not finish within {Timeout}");
        }

        return (child.ExitCode, output.Result, error.Result);
    }

    /// <summary>Waits for the pause hook's line on stderr.</summary>
    public static string WaitForPause(Process child)
    {
        Task<string?> line = child.StandardError.ReadLineAsync();
        if (!line.Wait(Timeout) || line.Result is null)
        {
            child.Kill();
            throw new TimeoutException($"the CLI did not pause (exit {(child.HasExited ? child.ExitCode : -1)}): {child.StandardOutput.ReadToEnd()}");
        }

        return line.Result;
    }

    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
