using System.Buffers.Binary;
using System.Numerics;

namespace Gguf.Tokenization;

/// <summary>
/// Orders that llama.cpp inherits from libstdc++ and that decide observable results: the unstable
/// <c>std::sort</c> of its special-token list (equal lengths keep libstdc++'s introsort order, which
/// decides which of two overlapping special tokens is split first) and the iteration order of its
/// <c>std::unordered_map</c> of token texts (which decides, among several candidates, the EOT and FIM
/// ids it detects by text). Both are re-created step by step from libstdc++'s algorithms.
/// </summary>
internal static class LibstdcxxOrder
{
    private const int SortThreshold = 16;

    /// <summary><c>std::sort(items, less)</c> as libstdc++ performs it (introsort, then a final insertion sort).</summary>
    public static void Sort(Span<int> items, Func<int, int, bool> less)
    {
        if (items.Length <= 1)
        {
            return;
        }

        IntroSortLoop(items, 0, items.Length, 2 * BitOperations.Log2((uint)items.Length), less);
        FinalInsertionSort(items, less);
    }

    private static void IntroSortLoop(Span<int> a, int first, int last, int depthLimit, Func<int, int, bool> less)
    {
        while (last - first > SortThreshold)
        {
            if (depthLimit == 0)
            {
                HeapSort(a.Slice(first, last - first), less);
                return;
            }

            depthLimit--;
            int cut = PartitionPivot(a, first, last, less);
            IntroSortLoop(a, cut, last, depthLimit, less);
            last = cut;
        }
    }

    private static int PartitionPivot(Span<int> a, int first, int last, Func<int, int, bool> less)
    {
        int mid = first + ((last - first) / 2);
        MoveMedianToFirst(a, first, first + 1, mid, last - 1, less);
        return UnguardedPartition(a, first + 1, last, first, less);
    }

    private static void MoveMedianToFirst(Span<int> a, int result, int x, int y, int z, Func<int, int, bool> less)
    {
        if (less(a[x], a[y]))
        {
            if (less(a[y], a[z]))
            {
                Swap(a, result, y);
            }
            else if (less(a[x], a[z]))
            {
                Swap(a, result, z);
            }
            else
            {
                Swap(a, result, x);
            }
        }
        else if (less(a[x], a[z]))
        {
            Swap(a, result, x);
        }
        else if (less(a[y], a[z]))
        {
            Swap(a, result, z);
        }
        else
        {
            Swap(a, result, y);
        }
    }

    private static int UnguardedPartition(Span<int> a, int first, int last, int pivot, Func<int, int, bool> less)
    {
        while (true)
        {
            while (less(a[first], a[pivot]))
            {
                first++;
            }

            last--;
            while (less(a[pivot], a[last]))
            {
                last--;
            }

            if (!(first < last))
            {
                return first;
            }

            Swap(a, first, last);
            first++;
        }
    }

    private static void FinalInsertionSort(Span<int> a, Func<int, int, bool> less)
    {
        if (a.Length > SortThreshold)
        {
            InsertionSort(a, 0, SortThreshold, less);
            for (int i = SortThreshold; i < a.Length; i++)
            {
                UnguardedLinearInsert(a, i, less);
            }
        }
        else
        {
            InsertionSort(a, 0, a.Length, less);
        }
    }

    private static void InsertionSort(Span<int> a, int first, int last, Func<int, int, bool> less)
    {
        for (int i = first + 1; i < last; i++)
        {
            if (less(a[i], a[first]))
            {
                int value = a[i];
                a.Slice(first, i - first).CopyTo(a.Slice(first + 1));
                a[first] = value;
            }
            else
            {
                UnguardedLinearInsert(a, i, less);
            }
        }
    }

    private static void UnguardedLinearInsert(Span<int> a, int last, Func<int, int, bool> less)
    {
        int value = a[last];
        int next = last - 1;
        while (less(value, a[next]))
        {
            a[last] = a[next];
            last = next;
            next--;
        }

        a[last] = value;
    }

    /// <summary><c>std::partial_sort(first, last, last)</c>: make_heap, then pop_heap down to one element.</summary>
    private static void HeapSort(Span<int> a, Func<int, int, bool> less)
    {
        int length = a.Length;
        if (length >= 2)
        {
            for (int parent = (length - 2) / 2; ; parent--)
            {
                AdjustHeap(a, parent, length, a[parent], less);
                if (parent == 0)
                {
                    break;
                }
            }
        }

        for (int last = length; last > 1;)
        {
            last--;
            int value = a[last];
            a[last] = a[0];
            AdjustHeap(a, 0, last, value, less);
        }
    }

    private static void AdjustHeap(Span<int> a, int hole, int length, int value, Func<int, int, bool> less)
    {
        int top = hole;
        int child = hole;
        while (child < (length - 1) / 2)
        {
            child = 2 * (child + 1);
            if (less(a[child], a[child - 1]))
            {
                child--;
            }

            a[hole] = a[child];
            hole = child;
        }

        if ((length & 1) == 0 && child == (length - 2) / 2)
        {
            child = 2 * (child + 1);
            a[hole] = a[child - 1];
            hole = child - 1;
        }

        int parent = (hole - 1) / 2;
        while (hole > top && less(a[parent], value))
        {
            a[hole] = a[parent];
            hole = parent;
            parent = (hole - 1) / 2;
        }

        a[hole] = value;
    }

    private static void Swap(Span<int> a, int i, int j) => (a[i], a[j]) = (a[j], a[i]);

    /// <summary>
    /// The iteration order of a libstdc++ <c>std::unordered_map&lt;std::string, int&gt;</c> into which the
    /// tokens were inserted in id order (llama.cpp's <c>token_to_id</c>): the ids, first to last.
    /// </summary>
    /// <remarks>
    /// Nodes live on one singly linked list; a node goes to the front of its bucket's run, or to the front
    /// of the list when its bucket is empty; a rehash (prime policy, growth factor 2, load factor 1) relinks
    /// the list in order. Hashes are <c>std::_Hash_bytes</c> with seed 0xc70f6907.
    /// </remarks>
    public static int[] UnorderedMapIterationOrder(TokenTable tokens)
    {
        int count = tokens.Count;
        var hashes = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            hashes[i] = HashBytes(tokens[i], 0xC70F6907UL);
        }

        var next = new int[count]; // -1 ends the list
        int head = -1;             // _M_before_begin._M_nxt
        const int BeforeBegin = -2;
        ulong bucketCount = 1;
        var buckets = new int[1] { int.MinValue }; // the node before the bucket's first node; MinValue = empty
        ulong nextResize = 0;

        for (int id = 0; id < count; id++)
        {
            // _M_need_rehash(bucket_count, element_count = id, 1)
            if ((ulong)id + 1 > nextResize)
            {
                double minBuckets = Math.Max((ulong)id + 1, nextResize != 0 ? 0UL : 11UL);
                if (minBuckets >= bucketCount)
                {
                    ulong wanted = Math.Max((ulong)Math.Floor(minBuckets) + 1, bucketCount * 2);
                    bucketCount = NextBucketCount(wanted, out nextResize);
                    Rehash(bucketCount);
                }
                else
                {
                    nextResize = (ulong)Math.Floor((double)bucketCount);
                }
            }

            // _M_insert_bucket_begin
            int bucket = (int)(hashes[id] % bucketCount);
            int before = buckets[bucket];
            if (before != int.MinValue)
            {
                if (before == BeforeBegin)
                {
                    next[id] = head;
                    head = id;
                }
                else
                {
                    next[id] = next[before];
                    next[before] = id;
                }
            }
            else
            {
                next[id] = head;
                head = id;
                if (next[id] >= 0)
                {
                    buckets[(int)(hashes[next[id]] % bucketCount)] = id;
                }

                buckets[bucket] = BeforeBegin;
            }
        }

        var order = new int[count];
        int n = 0;
        for (int p = head; p >= 0; p = next[p])
        {
            order[n++] = p;
        }

        return order;

        void Rehash(ulong newCount)
        {
            var fresh = new int[newCount];
            Array.Fill(fresh, int.MinValue);
            int p = head;
            head = -1;
            int beginBucket = 0;
            while (p >= 0)
            {
                int following = next[p];
                int b = (int)(hashes[p] % newCount);
                if (fresh[b] == int.MinValue)
                {
                    next[p] = head;
                    head = p;
                    fresh[b] = BeforeBegin;
                    if (next[p] >= 0)
                    {
                        fresh[beginBucket] = p;
                    }

                    beginBucket = b;
                }
                else
                {
                    int before = fresh[b];
                    if (before == BeforeBegin)
                    {
                        next[p] = head;
                        head = p;
                    }
                    else
                    {
                        next[p] = next[before];
                        next[before] = p;
                    }
                }

                p = following;
            }

            buckets = fresh;
        }
    }

    /// <summary><c>_Prime_rehash_policy::_M_next_bkt</c> with load factor 1.</summary>
    private static ulong NextBucketCount(ulong n, out ulong nextResize)
    {
        ReadOnlySpan<byte> fast = [2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13];
        if (n < (ulong)fast.Length)
        {
            if (n == 0)
            {
                nextResize = 0;
                return 1;
            }

            nextResize = fast[(int)n];
            return fast[(int)n];
        }

        ReadOnlySpan<ulong> primes = Primes;
        int lo = 6, hi = primes.Length - 1; // lower_bound over [primes + 6, last prime)
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (primes[mid] < n)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        nextResize = lo == primes.Length - 1 ? ulong.MaxValue : primes[lo];
        return primes[lo];
    }

    /// <summary>libstdc++'s <c>std::_Hash_bytes</c> for 64-bit size_t (a MurmurHash2 variant).</summary>
    internal static ulong HashBytes(ReadOnlySpan<byte> data, ulong seed)
    {
        const ulong Mul = 0xC6A4A7935BD1E995UL;
        int aligned = data.Length & ~7;
        ulong hash = seed ^ ((ulong)data.Length * Mul);
        for (int p = 0; p < aligned; p += 8)
        {
            ulong d = ShiftMix(BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(p)) * Mul) * Mul;
            hash ^= d;
            hash *= Mul;
        }

        if ((data.Length & 7) != 0)
        {
            ulong d = 0;
            for (int n = (data.Length & 7) - 1; n >= 0; n--)
            {
                d = (d << 8) + data[aligned + n];
            }

            hash ^= d;
            hash *= Mul;
        }

        hash = ShiftMix(hash) * Mul;
        return ShiftMix(hash);

        static ulong ShiftMix(ulong v) => v ^ (v >> 47);
    }

    /// <summary>A copy of <see cref="Primes"/> (for the conformance test that reads libstdc++'s own table).</summary>
    internal static ulong[] PrimeList() => Primes.ToArray();

    /// <summary>libstdc++'s <c>__prime_list</c> for 64-bit targets (checked against the library by a conformance test).</summary>
    internal static ReadOnlySpan<ulong> Primes =>
    [
        2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 103, 109, 113, 127, 137,
        139, 149, 157, 167, 179, 193, 199, 211, 227, 241, 257, 277, 293, 313, 337, 359, 383, 409, 439, 467, 503, 541, 577, 619,
        661, 709, 761, 823, 887, 953, 1031, 1109, 1193, 1289, 1381, 1493, 1613, 1741, 1879, 2029, 2179, 2357, 2549, 2753, 2971,
        3209, 3469, 3739, 4027, 4349, 4703, 5087, 5503, 5953, 6427, 6949, 7517, 8123, 8783, 9497, 10273, 11113, 12011, 12983,
        14033, 15173, 16411, 17749, 19183, 20753, 22447, 24281, 26267, 28411, 30727, 33223, 35933, 38873, 42043, 45481, 49201,
        53201, 57557, 62233, 67307, 72817, 78779, 85229, 92203, 99733, 107897, 116731, 126271, 136607, 147793, 159871, 172933,
        187091, 202409, 218971, 236897, 256279, 277261, 299951, 324503, 351061, 379787, 410857, 444487, 480881, 520241, 562841,
        608903, 658753, 712697, 771049, 834181, 902483, 976369, 1056323, 1142821, 1236397, 1337629, 1447153, 1565659, 1693859,
        1832561, 1982627, 2144977, 2320627, 2510653, 2716249, 2938679, 3179303, 3439651, 3721303, 4026031, 4355707, 4712381,
        5098259, 5515729, 5967347, 6456007, 6984629, 7556579, 8175383, 8844859, 9569143, 10352717, 11200489, 12117689,
        13109983, 14183539, 15345007, 16601593, 17961079, 19431899, 21023161, 22744717, 24607243, 26622317, 28802401,
        31160981, 33712729, 36473443, 39460231, 42691603, 46187573, 49969847, 54061849, 58488943, 63278561, 68460391,
        74066549, 80131819, 86693767, 93793069, 101473717, 109783337, 118773397, 128499677, 139022417, 150406843, 162723577,
        176048909, 190465427, 206062531, 222936881, 241193053, 260944219, 282312799, 305431229, 330442829, 357502601,
        386778277, 418451333, 452718089, 489790921, 529899637, 573292817, 620239453, 671030513, 725980837, 785430967,
        849749479, 919334987, 994618837, 1076067617, 1164186217, 1259520799, 1362662261, 1474249943, 1594975441, 1725587117,
        1866894511, 2019773507, 2185171673, 2364114217, 2557710269, 2767159799, 2993761039, 3238918481, 3504151727,
        3791104843, 4101556399, 4294967291,
    ];
}
