namespace Gguf.Conformance.Support;

/// <summary>
/// The ggml type table of the reference notes (§3): elements per block and bytes per block for ids 0–42.
/// Removed ids have block size 0. This is the suite's own expectation, checked against the native build.
/// </summary>
internal static class GgmlTypeTable
{
    public const int Count = 43;

    private static readonly (string Name, int Block, int Bytes)[] Table =
    [
        ("f32", 1, 4), ("f16", 1, 2), ("q4_0", 32, 18), ("q4_1", 32, 20), ("DEPRECATED", 0, 0), ("DEPRECATED", 0, 0),
        ("q5_0", 32, 22), ("q5_1", 32, 24), ("q8_0", 32, 34), ("q8_1", 32, 36), ("q2_K", 256, 84), ("q3_K", 256, 110),
        ("q4_K", 256, 144), ("q5_K", 256, 176), ("q6_K", 256, 210), ("q8_K", 256, 292), ("iq2_xxs", 256, 66),
        ("iq2_xs", 256, 74), ("iq3_xxs", 256, 98), ("iq1_s", 256, 50), ("iq4_nl", 32, 18), ("iq3_s", 256, 110),
        ("iq2_s", 256, 82), ("iq4_xs", 256, 136), ("i8", 1, 1), ("i16", 1, 2), ("i32", 1, 4), ("i64", 1, 8),
        ("f64", 1, 8), ("iq1_m", 256, 56), ("bf16", 1, 2), ("REMOVED", 0, 0), ("REMOVED", 0, 0), ("REMOVED", 0, 0),
        ("tq1_0", 256, 54), ("tq2_0", 256, 66), ("REMOVED", 0, 0), ("REMOVED", 0, 0), ("REMOVED", 0, 0),
        ("mxfp4", 32, 17), ("nvfp4", 64, 36), ("q1_0", 128, 18), ("q2_0", 64, 18),
    ];

    public static string Name(int type) => Table[type].Name;

    public static int BlockSize(int type) => Table[type].Block;

    public static int BytesPerBlock(int type) => Table[type].Bytes;

    public static bool IsValid(int type) => type >= 0 && type < Count && Table[type].Block != 0;

    /// <summary>All ids that can appear in a file.</summary>
    public static IEnumerable<int> ValidIds => Enumerable.Range(0, Count).Where(IsValid);

    /// <summary>Byte size of a tensor: (ne0 / block) · bytes · ne1 · ne2 · ne3, checked.</summary>
    public static ulong ByteSize(int type, ReadOnlySpan<long> ne)
    {
        ulong size = checked((ulong)(ne[0] / BlockSize(type)) * (ulong)BytesPerBlock(type));
        for (int i = 1; i < ne.Length; i++)
        {
            size = checked(size * (ulong)ne[i]);
        }

        return size;
    }
}
