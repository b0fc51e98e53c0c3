namespace Gguf.Tokenization;

/// <summary>
/// A trie over token bytes (llama.cpp's <c>naive_trie</c>, for the Unigram tokenizer): children found
/// through one open-addressing table keyed by (node, byte), a value per node. Built once, then read-only.
/// </summary>
internal sealed class ByteTrie
{
    private long[] _keys = new long[64];   // node * 256 + byte + 1; 0 = empty
    private int[] _children = new int[64];
    private int _used;
    private readonly List<int> _values = [-1];

    /// <summary>The root node.</summary>
    public const int Root = 0;

    /// <summary>Inserts a key with a value (the last insertion of a key wins, as in llama.cpp).</summary>
    public void Insert(ReadOnlySpan<byte> key, int value)
    {
        int node = Root;
        foreach (byte b in key)
        {
            int child = Child(node, b);
            if (child < 0)
            {
                child = _values.Count;
                _values.Add(-1);
                Add(node, b, child);
            }

            node = child;
        }

        _values[node] = value;
    }

    /// <summary>The child of <paramref name="node"/> for <paramref name="b"/>, or -1.</summary>
    public int Child(int node, byte b)
    {
        long key = ((long)node << 8) + b + 1;
        int mask = _keys.Length - 1;
        int slot = (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15UL)) >> 32) & mask;
        while (true)
        {
            long k = _keys[slot];
            if (k == 0)
            {
                return -1;
            }

            if (k == key)
            {
                return _children[slot];
            }

            slot = (slot + 1) & mask;
        }
    }

    /// <summary>The value of a node, or -1 when no key ends there.</summary>
    public int Value(int node) => _values[node];

    /// <summary>
    /// llama.cpp's <c>get_longest_prefix</c>: how far the input can be followed down the trie, whether or
    /// not a key ends there.
    /// </summary>
    public int LongestPath(ReadOnlySpan<byte> input)
    {
        int node = Root;
        int depth = 0;
        while (depth < input.Length && (node = Child(node, input[depth])) >= 0)
        {
            depth++;
        }

        return depth;
    }

    private void Add(int node, byte b, int child)
    {
        if ((_used + 1) * 2 > _keys.Length)
        {
            Grow();
        }

        long key = ((long)node << 8) + b + 1;
        int mask = _keys.Length - 1;
        int slot = (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15UL)) >> 32) & mask;
        while (_keys[slot] != 0)
        {
            slot = (slot + 1) & mask;
        }

        _keys[slot] = key;
        _children[slot] = child;
        _used++;
    }

    private void Grow()
    {
        long[] oldKeys = _keys;
        int[] oldChildren = _children;
        _keys = new long[oldKeys.Length * 2];
        _children = new int[oldKeys.Length * 2];
        int mask = _keys.Length - 1;
        for (int i = 0; i < oldKeys.Length; i++)
        {
            if (oldKeys[i] == 0)
            {
                continue;
            }

            int slot = (int)((ulong)(oldKeys[i] * unchecked((long)0x9E3779B97F4A7C15UL)) >> 32) & mask;
            while (_keys[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }

            _keys[slot] = oldKeys[i];
            _children[slot] = oldChildren[i];
        }
    }
}
