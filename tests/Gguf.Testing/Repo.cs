namespace Gguf.Testing;

/// <summary>Paths inside this checkout: its root (the folder holding Gguf.slnx) and the committed sample model.</summary>
public static class Repo
{
    private static readonly Lazy<string?> FoundRoot = new(FindRoot);

    /// <summary>The repository root; throws when the program does not run from inside a checkout.</summary>
    public static string Root => FoundRoot.Value
        ?? throw new InvalidOperationException($"cannot find the repository root (Gguf.slnx) above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}");

    /// <summary>The repository root, or null outside a checkout.</summary>
    public static string? TryRoot => FoundRoot.Value;

    /// <summary>samples/tiny-llama.gguf, the README's sample model.</summary>
    public static string SamplePath => Path.Combine(Root, "samples", "tiny-llama.gguf");

    // Tests run from bin/ below the root; a benchmark child process may run from a generated folder, so the
    // working directory is tried as well.
    private static string? FindRoot()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Gguf.slnx")))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }
}
