using System.Globalization;
using Gguf.Format;
using Gguf.Testing;
using Gguf.Tests.Support;

namespace Gguf.Tests.Format.Hostile;

/// <summary>
/// Replays every file in tests/Gguf.Tests/Regressions (inputs that once broke the reader) through the fuzz
/// oracle and checks the outcome pinned in its <c>.expect</c> file.
/// </summary>
public sealed class RegressionTests
{
    public static TheoryData<string> Files =>
        Directory.Exists(RegressionDirectory)
            ? [.. Directory.EnumerateFiles(RegressionDirectory, "*.gguf").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)]
            : [];

    private static string RegressionDirectory => Path.Combine(Repo.Root, "tests", "Gguf.Tests", "Regressions");

    [Fact]
    public void Regressions_Directory_HasAnExpectationForEveryFile()
    {
        Assert.True(Directory.Exists(RegressionDirectory), $"{RegressionDirectory} is missing");
        foreach (string file in Directory.EnumerateFiles(RegressionDirectory, "*.gguf"))
        {
            Assert.True(File.Exists(file + ".expect") || File.Exists(Path.ChangeExtension(file, ".expect")), $"{Path.GetFileName(file)} has no .expect");
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Replay_RegressionFile_PassesTheOracleWithItsPinnedOutcome(string name)
    {
        string path = Path.Combine(RegressionDirectory, name);
        byte[] bytes = File.ReadAllBytes(path);
        using var dir = new TempDirectory();
        FuzzOracle.Check(bytes, Path.Combine(dir.Path, "scratch.gguf"));

        string expect = File.ReadAllText(Path.ChangeExtension(path, ".expect")).Trim();
        if (expect == "ok")
        {
            _ = GgufReader.Read(bytes);
            return;
        }

        string[] parts = expect.Split('@');
        GgufFormatException e = HostileSupport.Rejects(() => GgufReader.Read(bytes), name);
        Assert.Equal(Enum.Parse<GgufErrorCode>(parts[0]), e.Code);
        Assert.Equal(long.Parse(parts[1], CultureInfo.InvariantCulture), e.Offset);
    }
}
