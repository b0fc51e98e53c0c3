using System.Runtime.CompilerServices;

namespace Gguf.Tokenization;

/// <summary>
/// BPE merges by token pair: (left id, right id) to (rank, merged token id). Open addressing over
/// 64-bit keys; the first occurrence of a pair keeps its rank, as llama.cpp's <c>bpe_ranks.emplace</c>.
/// </summary>
internal sealed class MergeTable
{
    private readonly ulong[] _keys;
    private readonly int[] _ranks;   // -1 = empty slot
    private readonly int[] _results;
    private readonly int _mask;
    private readonly int _shift;

    public MergeTable(int capacity)
    {
        int size = 16;
        int shift = 60;
        while (size < capacity * 2)
        {
            size <<= 1;
            shift--;
        }

        _keys = new ulong[size];
        _ranks = new int[size];
        _results = new int[size];
        Array.Fill(_ranks, -1);
        _mask = size - 1;
        _shift = shift;
    }

    /// <summary>The number of distinct pairs.</summary>
    public int Count { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Key(int left, int right) => ((ulong)(uint)left << 32) | (uint)right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift) & _mask;

    /// <summary>Adds a pair unless it is already present (the earlier rank wins).</summary>
    public void TryAdd(int left, int right, int rank, int result)
    {
        ulong key = Key(left, right);
        int slot = Slot(key);
        while (_ranks[slot] >= 0)
        {
            if (_keys[slot] == key)
            {
                return;
            }

            slot = (slot + 1) & _mask;
        }

        _keys[slot] = key;
        _ranks[slot] = rank;
        _results[slot] = result;
        Count++;
    }

    /// <summary>The rank and merged token of a pair, or false when the pair never merges.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(int left, int right, out int rank, out int result)
    {
        ulong key = Key(left, right);
        int slot = Slot(key);
        while (true)
        {
            int r = _ranks[slot];
            if (r < 0)
            {
                rank = result = -1;
                return false;
            }

            if (_keys[slot] == key)
            {
                rank = r;
                result = _results[slot];
                return true;
            }

            slot = (slot + 1) & _mask;
        }
    }
}
