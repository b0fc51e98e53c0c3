namespace Gguf.Loading;

/// <summary>
/// The staging buffers of a staged load: a ring of <c>ringSize</c> buffers per reader thread. A reader fills its
/// next buffer while the copies out of its previous ones run; a buffer is handed out again only after the
/// copies that read it finished. Disposing waits for every pending copy, then frees the buffers.
/// </summary>
internal sealed class StagingRing : IDisposable
{
    private readonly IStagingBuffer?[] _buffers;
    private readonly int _ringSize;
    private readonly Action<Exception> _onCleanupFailure;

    /// <summary>Allocates <paramref name="readers"/> × <paramref name="ringSize"/> buffers of <paramref name="length"/> bytes.</summary>
    public StagingRing(ITensorDestination destination, int readers, int ringSize, int length, Action<Exception> onCleanupFailure)
    {
        _ringSize = ringSize;
        _onCleanupFailure = onCleanupFailure;
        _buffers = new IStagingBuffer?[readers * ringSize];
        try
        {
            for (int i = 0; i < _buffers.Length; i++)
            {
                _buffers[i] = destination.AllocateStaging(length);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The next buffer of <paramref name="reader"/>'s ring, once the copies from it finished; <paramref name="slot"/> is the reader's position.</summary>
    public IStagingBuffer Next(int reader, ref int slot)
    {
        IStagingBuffer buffer = _buffers[(reader * _ringSize) + slot]!;
        slot = (slot + 1) % _ringSize;

        // The copy that last read this buffer must be done before it is written again.
        buffer.WaitForCopies();
        return buffer;
    }

    /// <summary>Host scratch memory for reading back after the load (every copy out of it has finished).</summary>
    public Span<byte> Scratch()
    {
        IStagingBuffer first = _buffers[0]!;
        first.WaitForCopies();
        return first.Span;
    }

    /// <summary>Waits for the copies out of every buffer, then frees them; failures go to the callback, never thrown.</summary>
    public void Dispose()
    {
        for (int i = 0; i < _buffers.Length; i++)
        {
            IStagingBuffer? buffer = Interlocked.Exchange(ref _buffers[i], null);
            if (buffer is null)
            {
                continue;
            }

            try
            {
                buffer.WaitForCopies();
            }
            catch (Exception e)
            {
                _onCleanupFailure(e);
            }
            finally
            {
                buffer.Dispose();
            }
        }
    }
}
