using System.Runtime.CompilerServices;

namespace Gguf.Tokenization;

/// <summary>
/// A candidate merge of two adjacent symbols: the symbol indices, the merged byte size (to recognise a
/// stale entry) and its priority (SentencePiece: the token score, higher first; BPE: the merge rank, lower
/// first). The result is the merged token id.
/// </summary>
internal struct Bigram
{
    public int Left;
    public int Right;
    public int Size;
    public float Score;
    public int Rank;
    public int Result;
}

/// <summary>
/// The work queue of the SentencePiece and BPE merges: a binary max-heap that sifts exactly like
/// libstdc++'s <c>std::push_heap</c>/<c>std::pop_heap</c> (which llama.cpp's <c>std::priority_queue</c> uses), so
/// even scores that do not order (NaN) pop in llama.cpp's order. O(log n) per operation.
/// </summary>
internal struct MergeQueue : IDisposable
{
    private ValueList<Bigram> _heap;
    private readonly bool _byRank;

    /// <param name="capacity">Initial capacity.</param>
    /// <param name="byRank">True for BPE (lowest rank first), false for SentencePiece (highest score first).</param>
    public MergeQueue(int capacity, bool byRank)
    {
        _heap = new ValueList<Bigram>(capacity);
        _byRank = byRank;
    }

    public readonly int Count => _heap.Count;

    /// <summary>llama.cpp's comparator: true when <paramref name="a"/> has lower priority than <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly bool Less(in Bigram a, in Bigram b) => _byRank
        ? a.Rank > b.Rank || (a.Rank == b.Rank && a.Left > b.Left)
        : a.Score < b.Score || (a.Score == b.Score && a.Left > b.Left);

    /// <summary><c>push_back</c> then <c>std::push_heap</c>.</summary>
    public void Push(in Bigram item)
    {
        _heap.Add(item);
        SiftUp(_heap.Count - 1, 0, item);
    }

    /// <summary><c>top()</c> then <c>std::pop_heap</c> and <c>pop_back</c>.</summary>
    public Bigram Pop()
    {
        Span<Bigram> heap = _heap.Span;
        Bigram top = heap[0];
        int length = heap.Length;
        if (length > 1)
        {
            // __pop_heap: move the last element out, put the top there, then adjust from the root.
            Bigram value = heap[length - 1];
            heap[length - 1] = heap[0];
            AdjustHeap(0, length - 1, value);
        }

        _heap.Truncate(length - 1);
        return top;
    }

    /// <summary>libstdc++'s <c>__adjust_heap</c>: move the hole to a leaf along the larger children, then sift up.</summary>
    private readonly void AdjustHeap(int hole, int length, Bigram value)
    {
        Span<Bigram> heap = _heap.Span;
        int top = hole;
        int child = hole;
        while (child < (length - 1) / 2)
        {
            child = 2 * (child + 1);
            if (Less(heap[child], heap[child - 1]))
            {
                child--;
            }

            heap[hole] = heap[child];
            hole = child;
        }

        if ((length & 1) == 0 && child == (length - 2) / 2)
        {
            child = 2 * (child + 1);
            heap[hole] = heap[child - 1];
            hole = child - 1;
        }

        SiftUp(hole, top, value);
    }

    /// <summary>libstdc++'s <c>__push_heap</c>.</summary>
    private readonly void SiftUp(int hole, int top, Bigram value)
    {
        Span<Bigram> heap = _heap.Span;
        int parent = (hole - 1) / 2;
        while (hole > top && Less(heap[parent], value))
        {
            heap[hole] = heap[parent];
            hole = parent;
            parent = (hole - 1) / 2;
        }

        heap[hole] = value;
    }

    public void Dispose() => _heap.Dispose();
}
