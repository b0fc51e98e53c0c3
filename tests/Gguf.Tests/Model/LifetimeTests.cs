using Gguf.Format;
using Gguf.IO;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Format.Hostile;
using Gguf.Tests.Support;
using Gguf.Writing;
using Xunit;

namespace Gguf.Tests.Model;

/// <summary>
/// Lifetime safety: reading tensor data while another thread disposes the file gives
/// <see cref="ObjectDisposedException"/> and never a crash or wrong bytes; open/dispose cycles leak no
/// mapping and no file descriptor.
/// </summary>
public sealed class LifetimeTests : IDisposable
{
    private const int TensorCount = 8;
    private const int TensorFloats = 64 * 1024;
    private const int Iterations = 100;
    private readonly TempDirectory _dir = new("gguf-lifetime");
    private readonly string _path;

    public LifetimeTests()
    {
        var writer = new GgufWriter()
            .AddMetadata(GgufKeys.Architecture, GgufValue.String("lifetime"))
            .AddMetadata(GgufKeys.TokenizerTokens, GgufValue.FromStrings(Enumerable.Range(0, 1000).Select(i => $"token-{i}")));
        for (int t = 0; t < TensorCount; t++)
        {
            float[] values = [.. Enumerable.Range(0, TensorFloats).Select(i => (float)(t + 1))];
            writer.AddTensor($"t{t}", GgmlType.F32, [TensorFloats], System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        }

        _path = Path.Combine(_dir.Path, "lifetime.gguf");
        writer.WriteTo(_path);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void GetTensorData_ReadersRacingDispose_SeeOnlyObjectDisposedExceptionAndCorrectBytes()
    {
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var random = new Random(4);
        int disposedSeen = 0;
        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            GgufFile file = GgufFile.Open(_path);
            GgufTensorInfo[] tensors = [.. file.Tensors];
            GgufArray tokens = file.Metadata[GgufKeys.TokenizerTokens].GetArray();
            using var ready = new CountdownEvent(4);
            var readers = new Thread[4];
            for (int r = 0; r < readers.Length; r++)
            {
                int id = r;
                readers[r] = new Thread(() =>
                {
                    ready.Signal();
                    var buffer = new byte[4096];
                    for (long n = 0; ; n++)
                    {
                        try
                        {
                            GgufTensorInfo t = tensors[(int)((n + id) % tensors.Length)];
                            float expected = t.Index + 1;
                            switch ((n + id) % 3)
                            {
                                case 0:
                                    using (GgufTensorData data = file.GetTensorData(t))
                                    {
                                        ReadOnlySpan<float> floats = data.AsSpan<float>();
                                        for (int i = 0; i < floats.Length; i += 512)
                                        {
                                            if (floats[i] != expected)
                                            {
                                                failures.Enqueue($"reader {id}: {t.Name}[{i}] = {floats[i]}, expected {expected}");
                                                return;
                                            }
                                        }
                                    }

                                    break;
                                case 1:
                                    file.CopyTensorData(t, (n % 64) * 4096, buffer);
                                    if (BitConverter.ToSingle(buffer, 0) != expected)
                                    {
                                        failures.Enqueue($"reader {id}: copied {BitConverter.ToSingle(buffer, 0)} from {t.Name}, expected {expected}");
                                        return;
                                    }

                                    break;
                                default:
                                    string token = tokens.GetString(n % tokens.Count);
                                    if (token != $"token-{n % tokens.Count}")
                                    {
                                        failures.Enqueue($"reader {id}: token {n % tokens.Count} read as '{token}'");
                                        return;
                                    }

                                    break;
                            }
                        }
                        catch (ObjectDisposedException)
                        {
                            Interlocked.Increment(ref disposedSeen);
                            return;
                        }
                        catch (Exception e)
                        {
                            failures.Enqueue($"reader {id}: {e}");
                            return;
                        }
                    }
                })
                { IsBackground = true };
                readers[r].Start();
            }

            ready.Wait(TestContext.Current.CancellationToken);
            Thread.SpinWait(random.Next(1, 200_000));
            file.Dispose();
            foreach (Thread reader in readers)
            {
                Assert.True(reader.Join(TimeSpan.FromSeconds(30)), "a reader did not stop after Dispose");
            }
        }

        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(5)));
        Assert.Equal(Iterations * 4, disposedSeen);
    }

    [Fact]
    public void GetTensorData_HeldAcrossDispose_KeepsTheMappingUntilReleased()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("counts mappings through /proc/self/maps");
        }

        GgufFile file = GgufFile.Open(_path);
        GgufTensorData data = file.GetTensorData(file.Tensors[3]);
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.GetTensorData(file.Tensors[0]).Dispose());
        Assert.Equal(1, MappingsOf(_path));
        Assert.Equal(4f, data.AsSpan<float>()[TensorFloats - 1]);
        data.Dispose();
        Assert.Equal(0, MappingsOf(_path));
    }

    [Fact]
    public void Open_AfterDispose_EveryAccessThrowsObjectDisposedException()
    {
        GgufFile file = GgufFile.Open(_path);
        GgufTensorInfo tensor = file.Tensors[0];
        GgufArray tokens = file.Metadata[GgufKeys.TokenizerTokens].GetArray();
        GgufMetadataEntry arch = file.Metadata[GgufKeys.Architecture];
        file.Dispose();
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.GetTensorData(tensor).Dispose());
        Assert.Throws<ObjectDisposedException>(() => file.CopyTensorData(tensor, 0, new byte[4]));
        Assert.Throws<ObjectDisposedException>(() => tokens.GetString(1));
        Assert.Throws<ObjectDisposedException>(() => arch.GetString());
        Assert.Throws<ObjectDisposedException>(() => file.Mapping.Acquire().Dispose());
    }

    [Fact]
    public void Open_TenThousandCycles_LeakNoMappingAndNoDescriptor()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("counts /proc/self/maps and /proc/self/fd");
        }

        string malformed = _dir.Write("malformed.gguf", MalformedCatalogue.Cases["TensorData_PastEof"].File);
        string truncated = _dir.Write("truncated.gguf", File.ReadAllBytes(_path).AsSpan(0, 1000));
        string empty = _dir.Write("empty.gguf", []);

        // Warm up the code paths so the runtime's own mappings and handles settle first.
        Cycle(0);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int fdsBefore = Directory.GetFiles("/proc/self/fd").Length;
        for (int i = 1; i < 10_000; i++)
        {
            Cycle(i);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(0, MappingsOf(_dir.Path));
        Assert.Equal(0, DescriptorsOf(_dir.Path));

        // Other tests run in parallel and hold descriptors of their own; a leak here would be thousands.
        int fdsAfter = Directory.GetFiles("/proc/self/fd").Length;
        Assert.True(fdsAfter - fdsBefore < 500, $"descriptors: {fdsBefore} before, {fdsAfter} after 10,000 cycles");

        void Cycle(int i)
        {
            switch (i % 4)
            {
                case 0:
                    using (GgufFile file = GgufFile.Open(_path))
                    {
                        using GgufTensorData data = file.GetTensorData(file.Tensors[i % TensorCount]);
                        _ = data.Bytes[^1];
                    }

                    break;
                case 1:
                    HostileSupport.Rejects(() => GgufFile.Open(malformed).Dispose(), "malformed");
                    break;
                case 2:
                    HostileSupport.Rejects(() => GgufFile.Open(truncated).Dispose(), "truncated");
                    break;
                default:
                    Assert.Throws<MappedFileException>(() => GgufFile.Open(empty).Dispose());
                    break;
            }
        }
    }

    /// <summary>Open descriptors of this process that refer to a file under <paramref name="directory"/>.</summary>
    private static int DescriptorsOf(string directory) =>
        Directory.GetFiles("/proc/self/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget?.StartsWith(directory, StringComparison.Ordinal) == true;
            }
            catch (IOException)
            {
                return false; // closed while we looked
            }
        });

    /// <summary>Lines of /proc/self/maps that map a file under <paramref name="pathOrDirectory"/>.</summary>
    private static int MappingsOf(string pathOrDirectory) =>
        File.ReadLines("/proc/self/maps").Count(line => line.Contains(pathOrDirectory, StringComparison.Ordinal));
}
