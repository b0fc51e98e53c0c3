using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Gguf.Writing;

/// <summary>
/// The editor's temporary files: <c>.&lt;name&gt;.gguf-edit-&lt;pid&gt;-&lt;16 hex digits&gt;.tmp</c> next to the
/// target, so a rename over the target stays on one file system and the file is recognisably ours. A
/// save removes the ones an interrupted save left behind: same target name, written before this process
/// started, by a process that is gone.
/// </summary>
internal static class GgufEditorTempFiles
{
    private const string Marker = ".gguf-edit-";
    private const string Suffix = ".tmp";
    private const int RandomHexDigits = 16;

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    private static readonly Lazy<DateTime> s_processStart = new(() =>
    {
        using var self = Process.GetCurrentProcess();
        return self.StartTime.ToUniversalTime();
    });

    /// <summary>Creates a new temporary file for <paramref name="targetName"/> in <paramref name="directory"/>.</summary>
    public static (string Path, SafeFileHandle Handle) Create(string directory, string targetName, long preallocationSize)
    {
        for (int attempt = 0; ; attempt++)
        {
            string name = $".{targetName}{Marker}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(RandomHexDigits / 2)).ToLowerInvariant()}{Suffix}";
            string path = Path.Combine(directory, name);
            try
            {
                // CreateNew: never reuse or follow an existing name.
                return (path, File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.None, preallocationSize));
            }
            catch (IOException) when (attempt < 3 && File.Exists(path))
            {
                // A random collision: draw again.
            }
        }
    }

    /// <summary>Whether <paramref name="fileName"/> is one of ours for <paramref name="targetName"/>; gives the writer's process id.</summary>
    public static bool IsOurs(string fileName, string targetName, out int processId)
    {
        processId = 0;
        string prefix = "." + targetName + Marker;
        if (!fileName.StartsWith(prefix, StringComparison.Ordinal) || !fileName.EndsWith(Suffix, StringComparison.Ordinal))
        {
            return false;
        }

        ReadOnlySpan<char> middle = fileName.AsSpan(prefix.Length, fileName.Length - prefix.Length - Suffix.Length);
        int dash = middle.IndexOf('-');
        if (dash <= 0 || middle.Length - dash - 1 != RandomHexDigits)
        {
            return false;
        }

        ReadOnlySpan<char> random = middle[(dash + 1)..];
        return !random.ContainsAnyExcept(LowerHex)
            && int.TryParse(middle[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out processId)
            && processId > 0;
    }

    /// <summary>
    /// Deletes the temporary files an interrupted save of <paramref name="targetName"/> left in
    /// <paramref name="directory"/>: ours by name, last written before this process started, and written by a
    /// process that no longer runs (a live one may still be saving). Returns how many were removed.
    /// </summary>
    public static int RemoveStale(string directory, string targetName)
    {
        int removed = 0;
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(directory, "." + targetName + Marker + "*" + Suffix);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        foreach (string path in candidates)
        {
            if (!IsOurs(Path.GetFileName(path), targetName, out int writer) || writer == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                DateTime written = File.GetLastWriteTimeUtc(path);
                if (written >= s_processStart.Value || IsRunningSince(writer, written))
                {
                    continue;
                }

                File.Delete(path);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Someone else's cleanup got there first, or it is not ours to delete: leave it.
            }
        }

        return removed;
    }

    /// <summary>Whether process <paramref name="processId"/> runs and started before <paramref name="written"/> (else the id was reused).</summary>
    private static bool IsRunningSince(int processId, DateTime written)
    {
        try
        {
            using Process process = Process.GetProcessById(processId);
            return process.StartTime.ToUniversalTime() <= written;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
        catch (Exception)
        {
            // Not allowed to look: assume it is alive and leave its file alone.
            return true;
        }
    }
}
