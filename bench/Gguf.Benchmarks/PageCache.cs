namespace Gguf.Benchmarks;

/// <summary>Brings a file's header into the page cache, so both parsers time CPU work, not disk reads.</summary>
public static class PageCache
{
    /// <summary>Reads the first 64 MiB of the file (all of it when smaller; headers of sparse files are small).</summary>
    public static void WarmHeader(string path)
    {
        byte[] buffer = new byte[1 << 20];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        for (int i = 0; i < 64 && stream.Read(buffer) > 0; i++)
        {
        }
    }
}
