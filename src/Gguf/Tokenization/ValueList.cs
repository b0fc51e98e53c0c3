using System.Buffers;
using System.Runtime.CompilerServices;

namespace Gguf.Tokenization;

/// <summary>
/// A growable list over an array rented from <see cref="ArrayPool{T}"/>: the working memory of one
/// encode call, returned to the pool on <see cref="Dispose"/>.
/// </summary>
internal struct ValueList<T> : IDisposable
{
    private T[] _items;
    private int _count;

    public ValueList(int capacity)
    {
        _items = ArrayPool<T>.Shared.Rent(Math.Max(capacity, 16));
        _count = 0;
    }

    public readonly int Count => _count;

    public readonly Span<T> Span => _items.AsSpan(0, _count);

    public readonly ref T this[int index] => ref _items[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(T item)
    {
        if (_count == _items.Length)
        {
            Grow(_count + 1);
        }

        _items[_count++] = item;
    }

    public void AddRange(ReadOnlySpan<T> items)
    {
        if (_count + items.Length > _items.Length)
        {
            Grow(_count + items.Length);
        }

        items.CopyTo(_items.AsSpan(_count));
        _count += items.Length;
    }

    /// <summary>Makes room for <paramref name="count"/> more items and returns them (to be filled).</summary>
    public Span<T> AppendSpan(int count)
    {
        if (_count + count > _items.Length)
        {
            Grow(_count + count);
        }

        Span<T> span = _items.AsSpan(_count, count);
        _count += count;
        return span;
    }

    public void Clear() => _count = 0;

    public void Truncate(int count) => _count = count;

    private void Grow(int needed)
    {
        T[] bigger = ArrayPool<T>.Shared.Rent(Math.Max(needed, _items.Length * 2));
        _items.AsSpan(0, _count).CopyTo(bigger);
        ArrayPool<T>.Shared.Return(_items, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        _items = bigger;
    }

    public void Dispose()
    {
        if (_items is not null && _items.Length > 0)
        {
            ArrayPool<T>.Shared.Return(_items, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
            _items = [];
            _count = 0;
        }
    }
}
