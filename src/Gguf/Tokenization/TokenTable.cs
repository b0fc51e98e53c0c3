using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Gguf.Tokenization;

/// <summary>
/// The vocabulary's token texts, kept as one UTF-8 buffer with offsets, and an open-addressing hash from
/// token bytes to id (no string per token). Built once; read by any number of threads.
/// </summary>
internal sealed class TokenTable
{
    private readonly byte[] _text;
    private readonly int[] _offsets;
    private readonly int[] _slots;   // id + 1, 0 = empty
    private readonly uint[] _hashes; // hash of the token in the slot
    private readonly int _mask;

    private TokenTable(byte[] text, int[] offsets, int[] slots, uint[] hashes)
    {
        _text = text;
        _offsets = offsets;
        _slots = slots;
        _hashes = hashes;
        _mask = slots.Length - 1;
    }

    /// <summary>The number of tokens.</summary>
    public int Count => _offsets.Length - 1;

    /// <summary>The UTF-8 bytes of token <paramref name="id"/>.</summary>
    public ReadOnlySpan<byte> this[int id]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _text.AsSpan(_offsets[id], _offsets[id + 1] - _offsets[id]);
    }

    /// <summary>The byte length of token <paramref name="id"/>.</summary>
    public int Length(int id) => _offsets[id + 1] - _offsets[id];

    /// <summary>The id of the token with exactly these bytes, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ReadOnlySpan<byte> key)
    {
        uint hash = Hash(key);
        int slot = (int)hash & _mask;
        while (true)
        {
            int entry = _slots[slot];
            if (entry == 0)
            {
                return -1;
            }

            if (_hashes[slot] == hash)
            {
                int id = entry - 1;
                int start = _offsets[id];
                if (_text.AsSpan(start, _offsets[id + 1] - start).SequenceEqual(key))
                {
                    return id;
                }
            }

            slot = (slot + 1) & _mask;
        }
    }

    /// <summary>A 32-bit hash of a short byte string (tokens average a few bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ReadOnlySpan<byte> key)
    {
        ulong h = 0x9E3779B97F4A7C15UL ^ ((ulong)key.Length * 0xFF51AFD7ED558CCDUL);
        int i = 0;
        for (; i + 8 <= key.Length; i += 8)
        {
            h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(key.Slice(i))) * 0xBF58476D1CE4E5B9UL;
            h ^= h >> 31;
        }

        if (i < key.Length)
        {
            ulong tail = 0;
            for (int j = key.Length - 1; j >= i; j--)
            {
                tail = (tail << 8) | key[j];
            }

            h = (h ^ tail) * 0x94D049BB133111EBUL;
        }

        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 32;
        return (uint)h;
    }

    /// <summary>Accumulates tokens in id order, then freezes them into a <see cref="TokenTable"/>.</summary>
    internal sealed class Builder
    {
        private byte[] _text;
        private int[] _offsets;
        private readonly int[] _slots;
        private readonly uint[] _hashes;
        private readonly int _mask;
        private int _count;
        private int _length;

        public Builder(int count, int textBytes)
        {
            _text = new byte[Math.Max(16, textBytes)];
            _offsets = new int[count + 1];
            int capacity = 16;
            while (capacity < count * 2)
            {
                capacity <<= 1;
            }

            _slots = new int[capacity];
            _hashes = new uint[capacity];
            _mask = capacity - 1;
        }

        /// <summary>Adds the next token; returns the id already holding these bytes, or -1 when it is new.</summary>
        public int Add(ReadOnlySpan<byte> token)
        {
            uint hash = Hash(token);
            int slot = (int)hash & _mask;
            while (_slots[slot] != 0)
            {
                if (_hashes[slot] == hash)
                {
                    int other = _slots[slot] - 1;
                    if (_text.AsSpan(_offsets[other], _offsets[other + 1] - _offsets[other]).SequenceEqual(token))
                    {
                        return other;
                    }
                }

                slot = (slot + 1) & _mask;
            }

            if (_length + token.Length > _text.Length)
            {
                Array.Resize(ref _text, Math.Max(_text.Length * 2, _length + token.Length));
            }

            token.CopyTo(_text.AsSpan(_length));
            _length += token.Length;
            _count++;
            _offsets[_count] = _length;
            _slots[slot] = _count;
            _hashes[slot] = hash;
            return -1;
        }

        public TokenTable Build()
        {
            if (_count != _offsets.Length - 1)
            {
                Array.Resize(ref _offsets, _count + 1);
            }

            return new TokenTable(_text, _offsets, _slots, _hashes);
        }
    }
}
