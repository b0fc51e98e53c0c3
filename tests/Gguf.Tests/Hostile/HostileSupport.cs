using Gguf.Format;
using Gguf.IO;
using Gguf.Model;
using Xunit;

namespace Gguf.Tests.Hostile;

/// <summary>Paths, temp files and assertions shared by the hostile-input tests.</summary>
internal static class HostileSupport
{
    private static readonly Lazy<string?> LazyRepoRoot = new(() =>
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gguf.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    });

    /// <summary>The repository root (the folder holding Gguf.slnx), or null.</summary>
    public static string? RepoRoot => LazyRepoRoot.Value;

    /// <summary>
    /// The real-file corpus: <c>$GGUF_CORPUS</c>, else <c>../shared/corpus</c> beside the repository; null when absent.
    /// </summary>
    public static string? CorpusDirectory
    {
        get
        {
            string? fromEnv = Environment.GetEnvironmentVariable("GGUF_CORPUS");
            if (!string.IsNullOrEmpty(fromEnv) && Directory.Exists(fromEnv))
            {
                return fromEnv;
            }

            string? candidate = RepoRoot is null ? null : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "corpus"));
            return candidate is not null && Directory.Exists(candidate) ? candidate : null;
        }
    }

    /// <summary>The corpus directory, or skips the test with a message saying what is missing.</summary>
    public static string RequireCorpus()
    {
        string? dir = CorpusDirectory;
        if (dir is null)
        {
            Assert.Skip("the real-file corpus (../shared/corpus beside the repository, or $GGUF_CORPUS) is absent");
        }

        return dir;
    }

    /// <summary>A corpus file by name (searching history/ too), or skips.</summary>
    public static string RequireCorpusFile(string name)
    {
        string dir = RequireCorpus();
        foreach (string candidate in new[] { Path.Combine(dir, name), Path.Combine(dir, "history", name) })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Skip($"corpus file '{name}' is absent from {dir}");
        return null!;
    }

    /// <summary>
    /// Runs <paramref name="action"/> and asserts that it throws exactly a <see cref="GgufFormatException"/>;
    /// any other exception fails with its full text, so a wrong-type crash is visible.
    /// </summary>
    public static GgufFormatException Rejects(Action action, string context)
    {
        try
        {
            action();
        }
        catch (GgufFormatException e)
        {
            return e;
        }
        catch (Exception e)
        {
            Assert.Fail($"{context}: expected GgufFormatException, got {e}");
        }

        Assert.Fail($"{context}: the file was accepted, but it must be rejected");
        return null!;
    }

    /// <summary>Opens a file on disk and reads every tensor's bytes, as a consumer would.</summary>
    public static void OpenAndTouchEverything(string path, GgufReaderOptions? options = null)
    {
        using GgufFile file = GgufFile.Open(path, options);
        TouchEverything(file);
    }

    /// <summary>Decodes every metadata value and sums every tensor byte.</summary>
    public static long TouchEverything(GgufFile file) => FuzzOracle.TouchFile(file);
}


/// <summary>Shorthand for catching the mapping layer's own exception where an empty file is expected.</summary>
internal static class MappedErrors
{
    public static bool IsEmptyFile(Exception e) => e is MappedFileException { Error: MappedFileError.Empty };
}
