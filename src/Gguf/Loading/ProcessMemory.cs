using System.Globalization;

namespace Gguf.Loading;

/// <summary>The host's memory: total and available bytes, honouring a container's cgroup limit on Linux.</summary>
public static class HostMemoryInfo
{
    /// <summary>The memory this process may use in total (the smaller of physical memory and a cgroup limit).</summary>
    public static long TotalBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// The memory a new allocation may take now: <c>MemAvailable</c> (free plus reclaimable page cache),
    /// capped by what the cgroup limit leaves; elsewhere the total less this process's working set.
    /// </summary>
    public static long AvailableBytes
    {
        get
        {
            if (!OperatingSystem.IsLinux())
            {
                return Math.Max(0, TotalBytes - Environment.WorkingSet);
            }

            long available = ReadMeminfo("MemAvailable:") ?? Math.Max(0, TotalBytes - Environment.WorkingSet);
            long? max = ReadCgroup("/sys/fs/cgroup/memory.max");
            long? current = ReadCgroup("/sys/fs/cgroup/memory.current");
            if (max is long limit && current is long used)
            {
                available = Math.Min(available, Math.Max(0, limit - used));
            }

            return available;
        }
    }

    private static long? ReadMeminfo(string key)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    return ProcessMemory.ParseKib(line.AsSpan(key.Length));
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    private static long? ReadCgroup(string path)
    {
        try
        {
            string text = File.ReadAllText(path).Trim();
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>This process's resident memory, from <c>/proc/self</c> (Linux); null elsewhere. Diagnostics for the CLI and tests.</summary>
internal static class ProcessMemory
{
    /// <summary>The resident set size now (<c>/proc/self/statm</c>).</summary>
    public static long? CurrentRssBytes
    {
        get
        {
            if (!OperatingSystem.IsLinux())
            {
                return null;
            }

            try
            {
                // statm: size resident shared text lib data dt, in pages.
                string text = File.ReadAllText("/proc/self/statm");
                string[] fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 1 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out long pages)
                    ? pages * Environment.SystemPageSize
                    : null;
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    /// <summary>The peak resident set size since the process started or since <see cref="TryResetPeak"/> (<c>VmHWM</c>).</summary>
    public static long? PeakRssBytes => ReadStatus("VmHWM:");

    /// <summary>Resets the peak resident set size to the current one (<c>echo 5 &gt; /proc/self/clear_refs</c>).</summary>
    /// <returns>Whether the kernel accepted it.</returns>
    public static bool TryResetPeak()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// The resident bytes of this process's mappings that overlap <c>[address, address + length)</c>, summed
    /// from <c>/proc/self/smaps</c> (whole mappings: advice can split one mapping into several).
    /// </summary>
    public static long? ResidentBytesInRange(long address, long length)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            long total = 0;
            bool inside = false;
            foreach (string line in File.ReadLines("/proc/self/smaps"))
            {
                int dash = line.IndexOf('-', StringComparison.Ordinal);
                int space = line.IndexOf(' ', StringComparison.Ordinal);
                if (dash > 0 && space > dash && IsHex(line.AsSpan(0, dash)))
                {
                    long start = long.Parse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    long end = long.Parse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    inside = start < address + length && end > address;
                }
                else if (inside && line.StartsWith("Rss:", StringComparison.Ordinal))
                {
                    total += ParseKib(line.AsSpan(4)) ?? 0;
                }
            }

            return total;
        }
        catch (IOException)
        {
            return null;
        }
    }

    internal static long? ParseKib(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        if (text.EndsWith("kB", StringComparison.Ordinal))
        {
            text = text[..^2].TrimEnd();
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long kib) ? kib * 1024 : null;
    }

    private static long? ReadStatus(string key)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    return ParseKib(line.AsSpan(key.Length));
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return text.Length > 0;
    }
}
