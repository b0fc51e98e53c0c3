using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Gguf.LlamaCpp;
using Gguf.Testing;
using Gguf.Format;
using Gguf.Quantization;

namespace Gguf.Conformance.Quantization;

/// <summary>
/// Derives the i-quant lookup tables from ggml itself: crafted blocks whose scale makes every output equal
/// to the table entry it selects (d chosen so the block scale is exactly 1, signs off) are decoded by ggml's
/// <c>to_float</c>, and the outputs read back as the table. No table is copied from ggml's sources.
/// The committed src/Gguf/Quantization/QuantTables.Generated.cs is this class's output; the test re-derives
/// it and compares, and writes it anew when GGUF_WRITE_QUANT_TABLES=1.
/// </summary>
public sealed class QuantTableDerivation
{
    private const ushort HalfOne = 0x3C00, HalfFour = 0x4400, HalfEight = 0x4800;

    [Fact]
    public void DerivedTables_EqualTheCommittedTables()
    {
        Requires.LlamaCpp();
        var tables = Derive();
        if (Environment.GetEnvironmentVariable("GGUF_WRITE_QUANT_TABLES") == "1")
        {
            File.WriteAllText(GeneratedFilePath(), Render(tables));
        }

        Assert.Equal(tables.Iq4Nl, QuantTables.Iq4NlValues.ToArray());
        Assert.Equal(tables.Mxfp4, QuantTables.Mxfp4Values.ToArray());
        Assert.Equal(tables.Iq2Xxs, QuantTables.Iq2XxsGrid.ToArray());
        Assert.Equal(tables.Iq2Xs, QuantTables.Iq2XsGrid.ToArray());
        Assert.Equal(tables.Iq2S, QuantTables.Iq2SGrid.ToArray());
        Assert.Equal(tables.Iq3Xxs, QuantTables.Iq3XxsGrid.ToArray());
        Assert.Equal(tables.Iq3S, QuantTables.Iq3SGrid.ToArray());
        Assert.Equal(tables.Iq1S, QuantTables.Iq1SGrid.ToArray());
    }

    [Fact]
    public void SignBytes_FollowTheParityRule_AsGgmlDecodes()
    {
        Requires.LlamaCpp();

        // IQ2_XS words are (7 sign bits << 9) | grid index; with d = 8 and scale 0 the block scale is 1, and
        // every grid magnitude is positive, so the sign of each output is the decoded sign bit.
        var block = new byte[GgmlTypeInfo.Get(GgmlType.IQ2_XS).BytesPerBlock * 4];
        for (int index = 0; index < 128; index++)
        {
            int b = index / 32, slot = index % 32;
            BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(b * 74), HalfEight);
            BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan((b * 74) + 2 + (2 * slot)), (ushort)(index << 9));
        }

        float[] y = GgmlDequant.Native(GgmlType.IQ2_XS, block);
        for (int index = 0; index < 128; index++)
        {
            int signs = 0;
            for (int j = 0; j < 8; j++)
            {
                signs |= (y[(index * 8) + j] < 0 ? 1 : 0) << j;
            }

            Assert.Equal(signs, QuantTables.SignsFromIndex(index));
        }
    }

    internal sealed record Tables(sbyte[] Iq4Nl, sbyte[] Mxfp4, byte[] Iq2Xxs, byte[] Iq2Xs, byte[] Iq2S, byte[] Iq3Xxs, byte[] Iq3S, sbyte[] Iq1S);

    internal static Tables Derive() => new(
        Iq4Nl: ValueTable(GgmlType.IQ4_NL, block => BinaryPrimitives.WriteUInt16LittleEndian(block, HalfOne), 2),
        Mxfp4: ValueTable(GgmlType.MXFP4, block => block[0] = 128, 1), // E8M0 128 decodes (halved) to 1.0
        Iq2Xxs: Grid(GgmlType.IQ2_XXS, 256, 8, HalfEight, (block, slot, index) =>
        {
            // 8 bytes per 32 elements: 4 grid indices, then 4×7 sign bits and a 4-bit scale (all zero).
            block[2 + (8 * (slot / 4)) + (slot % 4)] = (byte)index;
        }),
        Iq2Xs: Grid(GgmlType.IQ2_XS, 512, 8, HalfEight, (block, slot, index) =>
            BinaryPrimitives.WriteUInt16LittleEndian(block[(2 + (2 * slot))..], (ushort)index)),
        Iq2S: Grid(GgmlType.IQ2_S, 1024, 8, HalfEight, (block, slot, index) =>
        {
            // Low 8 index bits in qs; bits 8–9 of the l-th group of 32 elements in qh[ib] bits 2l, 2l+1.
            int ib = slot / 4, l = slot % 4;
            block[2 + slot] = (byte)index;
            block[66 + ib] |= (byte)((index >> 8) << (2 * l));
        }),
        Iq3Xxs: Grid(GgmlType.IQ3_XXS, 256, 4, HalfFour, (block, slot, index) => block[2 + slot] = (byte)index),
        Iq3S: Grid(GgmlType.IQ3_S, 512, 4, HalfOne, (block, slot, index) =>
        {
            // Ninth index bit of the k-th grid of the ib-th 32 elements: bit k of qh[ib].
            int ib = slot / 8, k = slot % 8;
            block[2 + slot] = (byte)index;
            block[66 + ib] |= (byte)((index >> 8) << k);
        }),
        Iq1S: Iq1SGrid());

    private static sbyte[] ValueTable(GgmlType type, Action<byte[]> setUnitScale, int codesAt)
    {
        var block = new byte[GgmlTypeInfo.Get(type).BytesPerBlock];
        setUnitScale(block);
        for (int code = 0; code < 16; code++)
        {
            block[codesAt + code] = (byte)code; // low nibble = code: element `code` decodes table[code]
        }

        return [.. GgmlDequant.Native(type, block).Take(16).Select(v => (sbyte)Whole(type, v))];
    }

    /// <summary>Entries of <paramref name="width"/> bytes, one per grid slot (a group of width elements), block scale 1, signs off.</summary>
    private static byte[] Grid(GgmlType type, int entries, int width, ushort unitHalf, Action<Span<byte>, int, int> place)
    {
        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        int slotsPerBlock = info.BlockSize / width;
        int blocks = entries / slotsPerBlock;
        var bytes = new byte[blocks * info.BytesPerBlock];
        for (int b = 0; b < blocks; b++)
        {
            Span<byte> block = bytes.AsSpan(b * info.BytesPerBlock, info.BytesPerBlock);
            BinaryPrimitives.WriteUInt16LittleEndian(block, unitHalf);
            for (int slot = 0; slot < slotsPerBlock; slot++)
            {
                place(block, slot, (b * slotsPerBlock) + slot);
            }
        }

        return [.. GgmlDequant.Native(type, bytes).Select(v => (byte)Whole(type, v))];
    }

    /// <summary>IQ1_S: with d = 1, scale bits 0 and the delta positive, each output is grid + 1/8.</summary>
    private static sbyte[] Iq1SGrid()
    {
        GgmlTypeInfo info = GgmlTypeInfo.Get(GgmlType.IQ1_S);
        const int Entries = 2048, SlotsPerBlock = 32;
        var bytes = new byte[Entries / SlotsPerBlock * info.BytesPerBlock];
        for (int b = 0; b < Entries / SlotsPerBlock; b++)
        {
            Span<byte> block = bytes.AsSpan(b * info.BytesPerBlock, info.BytesPerBlock);
            BinaryPrimitives.WriteUInt16LittleEndian(block, HalfOne);
            for (int slot = 0; slot < SlotsPerBlock; slot++)
            {
                int index = (b * SlotsPerBlock) + slot, ib = slot / 4, l = slot % 4;
                block[2 + slot] = (byte)index;
                ushort qh = BinaryPrimitives.ReadUInt16LittleEndian(block[(34 + (2 * ib))..]);
                BinaryPrimitives.WriteUInt16LittleEndian(block[(34 + (2 * ib))..], (ushort)(qh | ((index >> 8) << (3 * l))));
            }
        }

        return [.. GgmlDequant.Native(GgmlType.IQ1_S, bytes).Select(v => (sbyte)Whole(GgmlType.IQ1_S, v - 0.125f))];
    }

    /// <summary>A decoded table entry: a whole number in [−128, 255], or the probe is wrong.</summary>
    private static int Whole(GgmlType type, float value) =>
        value == MathF.Round(value) && value is >= -128 and <= 255
            ? (int)value
            : throw new InvalidOperationException($"{type}: a probe decoded to {value}, not a whole table value");

    private static string GeneratedFilePath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gguf.slnx")))
            {
                return Path.Combine(dir.FullName, "src", "Gguf", "Quantization", "QuantTables.Generated.cs");
            }
        }

        throw new InvalidOperationException("repository root (Gguf.slnx) not found");
    }

    internal static string Render(Tables t)
    {
        var s = new StringBuilder();
        s.AppendLine("// <auto-generated>");
        s.AppendLine("// Derived from ggml's own decoders, not copied from its sources: QuantTableDerivation (tests/Gguf.Conformance.Tests/");
        s.AppendLine("// Quantization) decodes crafted blocks with libggml-base's to_float (LLamaSharp.Backend.Cpu 0.30.0), each block's scale");
        s.AppendLine("// set so that every output equals the table entry it selects, and reads the outputs back. Regenerate with");
        s.AppendLine("//   GGUF_WRITE_QUANT_TABLES=1 dotnet test tests/Gguf.Conformance.Tests -c Release --filter \"FullyQualifiedName~QuantTableDerivation\"");
        s.AppendLine("// The same test re-derives the tables on every run and fails if this file differs.");
        s.AppendLine("// </auto-generated>");
        s.AppendLine("namespace Gguf.Quantization;");
        s.AppendLine();
        s.AppendLine("internal static partial class QuantTables");
        s.AppendLine("{");
        Table(s, "IQ4_NL and IQ4_XS: the 16 non-linear values of a 4-bit code.", "sbyte", "Iq4NlValues", t.Iq4Nl.Select(v => (int)v), 16);
        Table(s, "MXFP4 and NVFP4: the 16 E2M1 values, doubled (the scales are halved to match).", "sbyte", "Mxfp4Values", t.Mxfp4.Select(v => (int)v), 16);
        Table(s, "IQ2_XXS: 256 entries of 8 magnitudes.", "byte", "Iq2XxsGrid", t.Iq2Xxs.Select(v => (int)v), 16);
        Table(s, "IQ2_XS: 512 entries of 8 magnitudes.", "byte", "Iq2XsGrid", t.Iq2Xs.Select(v => (int)v), 16);
        Table(s, "IQ2_S: 1024 entries of 8 magnitudes.", "byte", "Iq2SGrid", t.Iq2S.Select(v => (int)v), 16);
        Table(s, "IQ3_XXS: 256 entries of 4 magnitudes.", "byte", "Iq3XxsGrid", t.Iq3Xxs.Select(v => (int)v), 16);
        Table(s, "IQ3_S: 512 entries of 4 magnitudes.", "byte", "Iq3SGrid", t.Iq3S.Select(v => (int)v), 16);
        Table(s, "IQ1_S and IQ1_M: 2048 entries of 8 values in {-1, 0, 1}.", "sbyte", "Iq1SGrid", t.Iq1S.Select(v => (int)v), 16);
        s.AppendLine("}");
        return s.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    private static void Table(StringBuilder s, string summary, string type, string name, IEnumerable<int> values, int perLine)
    {
        int[] all = values.ToArray();
        s.AppendLine($"    /// <summary>{summary}</summary>");
        s.AppendLine($"    internal static ReadOnlySpan<{type}> {name} => new {type}[]");
        s.AppendLine("    {");
        for (int i = 0; i < all.Length; i += perLine)
        {
            s.Append("        ");
            s.AppendLine(string.Join(", ", all.Skip(i).Take(perLine).Select(v => v.ToString(CultureInfo.InvariantCulture))) + ",");
        }

        s.AppendLine("    };");
        if (name != "Iq1SGrid")
        {
            s.AppendLine();
        }
    }
}
