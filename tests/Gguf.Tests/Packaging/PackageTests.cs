using System.IO.Compression;
using System.Xml.Linq;
using Gguf.Testing;
using Gguf.Tests.Support;

namespace Gguf.Tests.Packaging;

/// <summary>
/// The NuGet packages, packed from this build: metadata, readme, licence, symbols, both target frameworks; and the
/// <c>gguf</c> tool installed from the local folder into a temporary tool path, where it verifies the sample.
/// </summary>
[Collection(nameof(DotnetSdkCollection))]
public sealed class PackageTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Configuration => ChildProcess.Configuration;

    [Fact]
    public async Task Pack_EveryShippedProject_HasMetadataReadmeLicenceAndSymbols()
    {
        string output = _temp.File("packages");
        foreach (string project in new[] { "Gguf", "Gguf.Gpu", "Gguf.Cli" })
        {
            await Dotnet("pack", Path.Combine(Repo.Root, "src", project), "-c", Configuration, "--no-build", "-o", output);
            string package = Assert.Single(Directory.GetFiles(output, $"{project}.*.nupkg"), p => IsPackage(p, project));
            Assert.True(File.Exists(Path.ChangeExtension(package, ".snupkg")), $"{project}: no symbol package");

            using ZipArchive zip = ZipFile.OpenRead(package);
            using Stream nuspecStream = zip.GetEntry($"{project}.nuspec")!.Open();
            XElement root = XDocument.Load(nuspecStream).Root!;
            XNamespace ns = root.Name.Namespace;
            XElement metadata = root.Element(ns + "metadata")!;
            Assert.Equal(project, metadata.Element(ns + "id")!.Value);
            Assert.Equal("expression", metadata.Element(ns + "license")!.Attribute("type")!.Value);
            Assert.Equal("MIT", metadata.Element(ns + "license")!.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value));
            XElement repository = metadata.Element(ns + "repository")!;
            Assert.Equal("git", repository.Attribute("type")!.Value);
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")!.Value);

            string[] entries = [.. zip.Entries.Select(e => e.FullName)];
            Assert.Contains("README.md", entries);
            Assert.Contains("LICENSE", entries);
            if (project == "Gguf.Cli")
            {
                Assert.Contains("tools/net10.0/any/Gguf.Cli.dll", entries);
                Assert.Contains("tools/net10.0/any/DotnetToolSettings.xml", entries);
            }
            else
            {
                foreach (string framework in new[] { "net8.0", "net10.0" })
                {
                    Assert.Contains($"lib/{framework}/{project}.dll", entries);
                    Assert.Contains($"lib/{framework}/{project}.xml", entries);
                }
            }
        }
    }

    [Fact]
    public async Task Tool_InstalledFromTheLocalFolder_VerifiesTheSample()
    {
        string packages = _temp.File("tool-packages");
        string tools = _temp.File("tools");
        await Dotnet("pack", Path.Combine(Repo.Root, "src", "Gguf.Cli"), "-c", Configuration, "--no-build", "-o", packages);
        string package = Path.GetFileName(Assert.Single(Directory.GetFiles(packages, "Gguf.Cli.*.nupkg"), p => IsPackage(p, "Gguf.Cli")));
        string version = package["Gguf.Cli.".Length..^".nupkg".Length];

        await Dotnet("tool", "install", "Gguf.Cli", "--tool-path", tools, "--add-source", packages, "--version", version);

        string gguf = Path.Combine(tools, OperatingSystem.IsWindows() ? "gguf.exe" : "gguf");
        (int code, string output, string error) = await Run(gguf, "verify", Repo.SamplePath);
        Assert.True(code == 0, error);
        Assert.Equal("ok", output.Trim());
    }

    private static bool IsPackage(string path, string project)
    {
        // Gguf.0.1.0.nupkg, not Gguf.Cli.0.1.0.nupkg: the id is followed by the version's first digit.
        string name = Path.GetFileName(path);
        return name.Length > project.Length + 1 && char.IsAsciiDigit(name[project.Length + 1]);
    }

    private static Task Dotnet(params string[] arguments) => ChildProcess.Dotnet(arguments);

    private static Task<(int Code, string Output, string Error)> Run(string program, params string[] arguments) =>
        ChildProcess.Run(program, arguments, TimeSpan.FromMinutes(5));
}
