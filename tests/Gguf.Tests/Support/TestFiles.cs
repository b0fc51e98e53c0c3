using Gguf.Writing;

namespace Gguf.Tests.Support;

/// <summary>Temporary files for one test class, removed on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "gguf-tests")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string WriteBytes(string name, ReadOnlySpan<byte> bytes)
    {
        string path = File(name);
        System.IO.File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    public string Write(string name, ReadOnlySpan<byte> bytes) => WriteBytes(name, bytes);

    public string Write(string name, GgufWriter writer)
    {
        string path = File(name);
        writer.WriteTo(path);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Locates the repository and the optional shared corpus.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>../shared/corpus beside the checkout, or null when it is absent.</summary>
    public static string? CorpusDirectory
    {
        get
        {
            string candidate = Path.GetFullPath(Path.Combine(Root, "..", "shared", "corpus"));
            return Directory.Exists(candidate) ? candidate : null;
        }
    }

    /// <summary>The corpus directory, or skips the test with a message when ../shared is absent.</summary>
    public static string RequireCorpus()
    {
        string? corpus = CorpusDirectory;
        Xunit.Assert.SkipWhen(corpus is null, "../shared/corpus is not present next to the checkout; this test needs the optional shared corpus");
        return corpus!;
    }

    public static string SamplePath => Path.Combine(Root, "samples", "tiny-llama.gguf");

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Gguf.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root (Gguf.slnx) above " + AppContext.BaseDirectory);
    }
}
