using Xunit;

namespace Gguf.Testing;

/// <summary>
/// The optional shared corpus of real files written by llama.cpp (/work/shared/corpus, seen from a checkout as
/// <c>../shared/corpus</c>). <c>$GGUF_CORPUS</c> names another folder; when set, it is the only one looked at.
/// </summary>
public static class Corpus
{
    /// <summary>The environment variable that overrides the corpus folder.</summary>
    public const string Variable = "GGUF_CORPUS";

    /// <summary>The skip message of a test that needs the corpus when it is absent.</summary>
    public const string MissingMessage = "../shared/corpus is not present next to the checkout; this test needs the optional shared corpus";

    /// <summary>The corpus folder, or null when it is absent.</summary>
    public static string? Directory
    {
        get
        {
            string? configured = Environment.GetEnvironmentVariable(Variable);
            if (!string.IsNullOrEmpty(configured))
            {
                return System.IO.Directory.Exists(configured) ? configured : null;
            }

            string? root = Repo.TryRoot;
            string? candidate = root is null ? null : Path.GetFullPath(Path.Combine(root, "..", "shared", "corpus"));
            return candidate is not null && System.IO.Directory.Exists(candidate) ? candidate : null;
        }
    }

    /// <summary>The corpus folder, or skips the calling test with <see cref="MissingMessage"/>.</summary>
    public static string Require()
    {
        string? directory = Directory;
        if (directory is null)
        {
            string? configured = Environment.GetEnvironmentVariable(Variable);
            Assert.Skip(string.IsNullOrEmpty(configured) ? MissingMessage : $"${Variable} ({configured}) is not a folder; this test needs the optional shared corpus");
        }

        return directory;
    }

    /// <summary>A corpus file by name, looked up in the corpus folder and its history/ folder, or skips the test.</summary>
    public static string RequireFile(string name)
    {
        string directory = Require();
        foreach (string candidate in new[] { Path.Combine(directory, name), Path.Combine(directory, "history", name) })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Skip($"corpus file '{name}' is absent from {directory}");
        return null!;
    }
}
