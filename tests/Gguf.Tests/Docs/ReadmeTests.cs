using System.Text.RegularExpressions;
using Gguf.Testing;
using Gguf.Tests.Support;

namespace Gguf.Tests.Docs;

/// <summary>The README stays true: its library snippet is a program that compiles and runs, and its layout is the tree.</summary>
public sealed partial class ReadmeTests
{
    private static string Readme => File.ReadAllText(Path.Combine(Repo.Root, "README.md")).ReplaceLineEndings("\n");

    private static string QuickStartSource => File.ReadAllText(Path.Combine(Repo.Root, "samples", "QuickStart", "Program.cs")).ReplaceLineEndings("\n");

    [Fact]
    public void LibrarySnippet_IsTheQuickStartSampleWordForWord()
    {
        string library = Readme[Readme.IndexOf("## The library", StringComparison.Ordinal)..];
        Match block = CSharpBlock().Match(library);
        Assert.True(block.Success, "no ```csharp block under '## The library'");

        Match region = MarkedRegion().Match(QuickStartSource);
        Assert.True(region.Success, "samples/QuickStart/Program.cs has no README:begin/README:end region");
        Assert.Equal(region.Groups[1].Value.TrimEnd(), block.Groups[1].Value.TrimEnd());
    }

    [Fact]
    public async Task QuickStartSample_RunsOnTheSampleModel()
    {
        // The sample is built with the solution, in the configuration these tests were built in.
        string dll = Path.Combine(Repo.Root, "samples", "QuickStart", "bin", ChildProcess.Configuration, "net10.0", "QuickStart.dll");
        Assert.True(File.Exists(dll), $"{dll} was not built; build the solution (Gguf.slnx) first");

        (int code, string text, string error) = await ChildProcess.Run("dotnet", [dll, Repo.SamplePath], TimeSpan.FromMinutes(2));
        Assert.True(code == 0, error);
        Assert.Contains("llama: 21 tensors, GGUF v3", text, StringComparison.Ordinal);
        Assert.Contains("output_norm.weight: 64 floats, 256 bytes", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Layout_NamesEveryProjectFolderAndOnlyFoldersThatExist()
    {
        string layout = Readme[Readme.IndexOf("## Layout", StringComparison.Ordinal)..];
        layout = layout[(layout.IndexOf("```", StringComparison.Ordinal) + 3)..];
        layout = layout[..layout.IndexOf("```", StringComparison.Ordinal)];
        // Entries start at the first column; indented lines continue the entry above.
        string[] named = [.. layout.Split('\n').Where(line => line.Length > 0 && line[0] != ' ')
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0])
            .Where(word => word.EndsWith('/'))];

        foreach (string folder in named)
        {
            Assert.True(Directory.Exists(Path.Combine(Repo.Root, folder)), $"the README's layout names {folder}, which does not exist");
        }

        string[] projectFolders = [.. new[] { "src", "tests", "bench" }
            .SelectMany(top => Directory.EnumerateDirectories(Path.Combine(Repo.Root, top)))
            .Where(dir => Directory.EnumerateFiles(dir, "*.csproj").Any())
            .Select(dir => Path.GetRelativePath(Repo.Root, dir).Replace('\\', '/') + "/")];
        foreach (string folder in projectFolders)
        {
            Assert.True(named.Contains(folder), $"the README's layout does not describe {folder}");
        }

        foreach (string top in new[] { "fuzz/", "scripts/", "samples/", "docs/" })
        {
            Assert.Contains(top, named);
        }

        string library = Path.Combine(Repo.Root, "src", "Gguf");
        foreach (string layer in Directory.EnumerateDirectories(library).Select(d => Path.GetFileName(d)!).Where(n => n is not ("bin" or "obj")))
        {
            Assert.True(layout.Contains(layer + "/", StringComparison.Ordinal), $"the README's layout does not describe src/Gguf/{layer}/");
        }
    }

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"// README:begin\n(.*?)// README:end", RegexOptions.Singleline)]
    private static partial Regex MarkedRegion();
}
