using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;

namespace Gguf.Gpu;

/// <summary>The baseline of GPU load benchmarks: plain host-to-device copies from one page-locked buffer.</summary>
public static class GpuBandwidth
{
    /// <summary>
    /// The median bandwidth, in GB/s (10^9 bytes per second), of <paramref name="runs"/> copies of
    /// <paramref name="bytes"/> bytes from a page-locked host buffer to device memory, after one warm-up copy.
    /// </summary>
    public static double MeasurePinnedCopy(GpuDestination destination, long bytes = 256L << 20, int runs = 5)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1L);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        Accelerator accelerator = destination.Accelerator;
        using PageLockedArray1D<byte> host = accelerator.AllocatePageLocked1D<byte>(bytes, false);
        using MemoryBuffer1D<byte, Stride1D.Dense> device = accelerator.Allocate1D<byte>(bytes);
        using AcceleratorStream stream = accelerator.CreateStream();
        var seconds = new double[runs];
        for (int run = -1; run < runs; run++)
        {
            long start = Stopwatch.GetTimestamp();
            device.View.CopyFrom(stream, host.ArrayView);
            stream.Synchronize();
            if (run >= 0)
            {
                seconds[run] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        }

        Array.Sort(seconds);
        return bytes / seconds[runs / 2] / 1e9;
    }
}
