using System.Collections.Concurrent;
using System.Diagnostics;
using Gguf.Conformance.Native;

namespace Gguf.Conformance.Probe;

/// <summary>
/// Runs llama.cpp's parser on files in a child process (this test assembly re-invoked with
/// <see cref="ProbeServer.Argument"/>), so an abort inside llama.cpp becomes a <see cref="Verdict.Crash"/>
/// instead of killing the test run. One child serves many requests; after a crash the next request starts a new one.
/// </summary>
internal sealed class ProbeClient : IDisposable
{
    private readonly TimeSpan timeout;
    private readonly ConcurrentQueue<string> stderr = new();
    private readonly Queue<Task<Process>> spares = new();
    private readonly int spareCount;
    private Process? child;

    /// <param name="timeout">How long one request may take before the child is considered hung.</param>
    /// <param name="spareCount">
    /// Child processes kept started in the background, so that a crash costs a swap instead of a process start
    /// (a start takes a few hundred milliseconds; mutation campaigns crash llama.cpp every hundred files or so).
    /// </param>
    public ProbeClient(TimeSpan? timeout = null, int spareCount = 0)
    {
        this.timeout = timeout ?? TimeSpan.FromSeconds(30);
        this.spareCount = spareCount;
    }

    /// <summary>How many child processes were started (1 + the number of crashes, normally).</summary>
    public int Starts { get; private set; }

    /// <summary>Time spent waiting for crashed children to exit and for replacements to be ready.</summary>
    public TimeSpan CrashTime { get; private set; }

    public TimeSpan StartTime { get; private set; }

    /// <summary>Judges <paramref name="path"/> as llama.cpp's model loader would (see <see cref="NativeVerdict.Judge"/>).</summary>
    public VerdictResult Judge(string path) => Send("meta", path);

    /// <summary>Judges <paramref name="path"/> with the data blob read (<c>no_alloc = false</c>).</summary>
    public VerdictResult JudgeBlob(string path) => Send("blob", path);

    /// <summary>Sends a request of another mode (e.g. the architecture tests' <c>arch-*</c> modes) and returns the answer.</summary>
    internal VerdictResult Request(string mode, string path) => Send(mode, path);

    /// <summary>Asks the child to abort inside llama.cpp (tests the crash path).</summary>
    internal VerdictResult Abort() => Send("abort", "-");

    private VerdictResult Send(string mode, string path)
    {
        if (path.Contains('\n', StringComparison.Ordinal) || path.Contains('\t', StringComparison.Ordinal))
        {
            throw new ArgumentException("Path must not contain tabs or newlines.", nameof(path));
        }

        var process = child ?? Start();
        stderr.Clear();
        try
        {
            process.StandardInput.WriteLine(mode + "\t" + path);
            process.StandardInput.Flush();
        }
        catch (IOException)
        {
            return Died(process);
        }

        var read = ReadAnswerAsync(process);
        if (!read.Wait(timeout))
        {
            process.Kill();
            process.WaitForExit();
            return Died(process, hung: true);
        }

        string? line = read.Result;
        if (line is null)
        {
            return Died(process);
        }

        int tab = line.IndexOf('\t', StringComparison.Ordinal);
        string verdict = tab < 0 ? line : line[..tab];
        string detail = tab < 0 ? string.Empty : line[(tab + 1)..];
        return verdict switch
        {
            "accept" => new VerdictResult(Verdict.Accept, detail),
            "reject" => new VerdictResult(Verdict.Reject, detail),
            _ => throw new InvalidOperationException($"Unexpected probe answer: {line}"),
        };
    }

    private static async Task<string?> ReadAnswerAsync(Process process)
    {
        while (await process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith(ProbeServer.Marker, StringComparison.Ordinal))
            {
                return line[ProbeServer.Marker.Length..];
            }
        }

        return null;
    }

    private VerdictResult Died(Process process, bool hung = false)
    {
        long t0 = Stopwatch.GetTimestamp();
        process.WaitForExit();
        CrashTime += Stopwatch.GetElapsedTime(t0);
        string tail = string.Join(" | ", stderr.Where(l => l.Length > 0).TakeLast(6));
        string detail = hung ? $"hung (killed after {timeout.TotalSeconds:0} s)" : $"exit code {process.ExitCode}";
        child = null;
        process.Dispose();
        return new VerdictResult(Verdict.Crash, tail.Length > 0 ? detail + ": " + tail : detail);
    }

    private Process Start()
    {
        while (spares.Count < 1 + spareCount)
        {
            spares.Enqueue(Task.Run(Launch));
        }

        long t0 = Stopwatch.GetTimestamp();
        var process = spares.Dequeue().GetAwaiter().GetResult();
        StartTime += Stopwatch.GetElapsedTime(t0);
        if (spareCount > 0)
        {
            spares.Enqueue(Task.Run(Launch));
        }

        Starts++;
        child = process;
        return process;
    }

    private Process Launch()
    {
        string assembly = typeof(ProbeClient).Assembly.Location;
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(assembly);
        info.ArgumentList.Add(ProbeServer.Argument);
        info.Environment["GGML_NO_BACKTRACE"] = "1"; // ggml_abort would otherwise attach gdb (slow, noisy)
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the probe process.");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stderr.Enqueue(e.Data);
            }
        };
        process.BeginErrorReadLine();
        var helloTask = ReadAnswerAsync(process);
        string? hello = helloTask.Wait(timeout) ? helloTask.Result : null;
        if (hello != "ready")
        {
            process.Kill();
            throw new InvalidOperationException($"The probe process did not start: {hello} {string.Join(" | ", stderr)}");
        }

        return process;
    }

    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        return "dotnet";
    }

    public void Dispose()
    {
        while (spares.Count > 0)
        {
            try
            {
                Stop(spares.Dequeue().GetAwaiter().GetResult());
            }
            catch (InvalidOperationException)
            {
            }
        }

        if (child is { } process)
        {
            child = null;
            Stop(process);
        }
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.StandardInput.Close();
                if (!process.WaitForExit(5000))
                {
                    process.Kill();
                }
            }
        }
        catch (InvalidOperationException)
        {
        }
        catch (IOException)
        {
        }

        process.Dispose();
    }
}
