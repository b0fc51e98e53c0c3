using Gguf.Writing;

namespace Gguf.Testing;

/// <summary>A scratch folder under the system temp folder, deleted with its contents on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates the folder.</summary>
    /// <param name="prefix">The start of the folder's name, so that leftovers tell which suite made them.</param>
    /// <param name="preferMemoryFileSystem">
    /// Use /dev/shm when it exists: reading a hole of a sparse file there copies the zero page instead of
    /// filling the page cache with zeros, which keeps multi-GiB sparse tests fast.
    /// </param>
    public TempDirectory(string prefix = "gguf-tests", bool preferMemoryFileSystem = false)
    {
        string root = preferMemoryFileSystem ? MemoryBackedRoot : System.IO.Path.GetTempPath();
        Path = System.IO.Path.Combine(root, $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    /// <summary>/dev/shm (memory-backed) where it exists, else the system temp folder.</summary>
    public static string MemoryBackedRoot => Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>The path of <paramref name="name"/> in this folder (nothing is created).</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="bytes"/> to a new file in this folder and returns its path.</summary>
    public string Write(string name, ReadOnlySpan<byte> bytes)
    {
        string path = File(name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Writes what <paramref name="writer"/> holds to a new file in this folder and returns its path.</summary>
    public string Write(string name, GgufWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        string path = File(name);
        writer.WriteTo(path);
        return path;
    }

    /// <summary>Deletes the folder; a file still open elsewhere leaves it behind rather than failing the test.</summary>
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
