using System.Diagnostics.CodeAnalysis;

namespace Gguf.Format;

/// <summary>
/// Block size and bytes per block of every ggml type (reference §3; checked against <c>sizeof(block_*)</c>).
/// A tensor's byte size is <c>(ne0 / BlockSize) · BytesPerBlock · ne1 · ne2 · ne3</c>.
/// </summary>
public readonly struct GgmlTypeInfo
{
    /// <summary>The number of type ids ggml defines (<c>GGML_TYPE_COUNT</c>); ids at or above it are invalid.</summary>
    public const int TypeIdCount = 43;

    private static readonly GgmlTypeInfo[] Table = BuildTable();

    private GgmlTypeInfo(GgmlType type, string name, int blockSize, int bytesPerBlock)
    {
        Type = type;
        Name = name;
        BlockSize = blockSize;
        BytesPerBlock = bytesPerBlock;
    }

    /// <summary>The type.</summary>
    public GgmlType Type { get; }

    /// <summary>ggml's name for the type (<c>ggml_type_name</c>), e.g. <c>q4_K</c>.</summary>
    public string Name { get; }

    /// <summary>Elements per block (<c>ggml_blck_size</c>); 1 for plain element types.</summary>
    public int BlockSize { get; }

    /// <summary>Bytes per block (<c>ggml_type_size</c>).</summary>
    public int BytesPerBlock { get; }

    /// <summary>Whether the type is quantized into blocks of more than one element.</summary>
    public bool IsBlockQuantized => BlockSize > 1;

    /// <summary>Bits per weight.</summary>
    public double BitsPerWeight => 8.0 * BytesPerBlock / BlockSize;

    /// <summary>Looks up a type that files may use; removed and unknown ids return false.</summary>
    public static bool TryGet(int typeId, out GgmlTypeInfo info)
    {
        if ((uint)typeId < (uint)Table.Length && Table[typeId].BlockSize != 0)
        {
            info = Table[typeId];
            return true;
        }

        info = default;
        return false;
    }

    /// <summary>Returns the information of a defined type.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is removed or unknown.</exception>
    public static GgmlTypeInfo Get(GgmlType type)
    {
        if (!TryGet((int)type, out GgmlTypeInfo info))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Not a ggml type that files may use.");
        }

        return info;
    }

    /// <summary>Whether the id belongs to a type that ggml removed (4, 5, 31–33, 36–38).</summary>
    public static bool IsRemoved(int typeId) => typeId is 4 or 5 or (>= 31 and <= 33) or (>= 36 and <= 38);

    /// <summary>Every type that files may use, in id order.</summary>
    public static IEnumerable<GgmlTypeInfo> All => Table.Where(t => t.BlockSize != 0);

    /// <summary>Parses ggml's type name (case-sensitive, as <c>ggml_type_name</c> writes it).</summary>
    public static bool TryParseName(string name, [NotNullWhen(true)] out GgmlTypeInfo? info)
    {
        foreach (GgmlTypeInfo candidate in All)
        {
            if (candidate.Name == name)
            {
                info = candidate;
                return true;
            }
        }

        info = null;
        return false;
    }

    /// <summary>
    /// The byte size of a row-major tensor of this type with the given dimensions, with checked 64-bit
    /// arithmetic in the order that cannot overflow early (divide by the block size first, unlike
    /// <c>ggml_nbytes</c>; reference gap G1). Returns false on overflow or when ne0 is not a multiple of
    /// the block size.
    /// </summary>
    public bool TryGetByteSize(ReadOnlySpan<long> dimensions, out long byteSize)
    {
        byteSize = 0;
        if (BlockSize == 0)
        {
            return false;
        }

        long ne0 = dimensions.Length > 0 ? dimensions[0] : 1;
        if (ne0 < 0 || ne0 % BlockSize != 0)
        {
            return false;
        }

        long size = ne0 / BlockSize;
        if (!TryMultiply(size, BytesPerBlock, out size))
        {
            return false;
        }

        for (int i = 1; i < dimensions.Length; i++)
        {
            if (dimensions[i] < 0 || !TryMultiply(size, dimensions[i], out size))
            {
                return false;
            }
        }

        byteSize = size;
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    internal static bool TryMultiply(long a, long b, out long product)
    {
        // Both operands are non-negative here; Math.BigMul gives the exact 128-bit product.
        long high = Math.BigMul(a, b, out long low);
        if (high != 0 || low < 0)
        {
            product = 0;
            return false;
        }

        product = low;
        return true;
    }

    private static GgmlTypeInfo[] BuildTable()
    {
        var table = new GgmlTypeInfo[TypeIdCount];
        void Add(GgmlType type, string name, int block, int bytes) => table[(int)type] = new GgmlTypeInfo(type, name, block, bytes);

        const int QK_K = 256;
        Add(GgmlType.F32, "f32", 1, 4);
        Add(GgmlType.F16, "f16", 1, 2);
        Add(GgmlType.Q4_0, "q4_0", 32, 18);
        Add(GgmlType.Q4_1, "q4_1", 32, 20);
        Add(GgmlType.Q5_0, "q5_0", 32, 22);
        Add(GgmlType.Q5_1, "q5_1", 32, 24);
        Add(GgmlType.Q8_0, "q8_0", 32, 34);
        Add(GgmlType.Q8_1, "q8_1", 32, 36);
        Add(GgmlType.Q2_K, "q2_K", QK_K, 84);
        Add(GgmlType.Q3_K, "q3_K", QK_K, 110);
        Add(GgmlType.Q4_K, "q4_K", QK_K, 144);
        Add(GgmlType.Q5_K, "q5_K", QK_K, 176);
        Add(GgmlType.Q6_K, "q6_K", QK_K, 210);
        Add(GgmlType.Q8_K, "q8_K", QK_K, 292);
        Add(GgmlType.IQ2_XXS, "iq2_xxs", QK_K, 66);
        Add(GgmlType.IQ2_XS, "iq2_xs", QK_K, 74);
        Add(GgmlType.IQ3_XXS, "iq3_xxs", QK_K, 98);
        Add(GgmlType.IQ1_S, "iq1_s", QK_K, 50);
        Add(GgmlType.IQ4_NL, "iq4_nl", 32, 18);
        Add(GgmlType.IQ3_S, "iq3_s", QK_K, 110);
        Add(GgmlType.IQ2_S, "iq2_s", QK_K, 82);
        Add(GgmlType.IQ4_XS, "iq4_xs", QK_K, 136);
        Add(GgmlType.I8, "i8", 1, 1);
        Add(GgmlType.I16, "i16", 1, 2);
        Add(GgmlType.I32, "i32", 1, 4);
        Add(GgmlType.I64, "i64", 1, 8);
        Add(GgmlType.F64, "f64", 1, 8);
        Add(GgmlType.IQ1_M, "iq1_m", QK_K, 56);
        Add(GgmlType.BF16, "bf16", 1, 2);
        Add(GgmlType.TQ1_0, "tq1_0", QK_K, 54);
        Add(GgmlType.TQ2_0, "tq2_0", QK_K, 66);
        Add(GgmlType.MXFP4, "mxfp4", 32, 17);
        Add(GgmlType.NVFP4, "nvfp4", 64, 36);
        Add(GgmlType.Q1_0, "q1_0", 128, 18);
        Add(GgmlType.Q2_0, "q2_0", 64, 18);
        return table;
    }
}
