using System.Buffers.Binary;
using Gguf.Conformance.Support;
using Gguf.Testing;

namespace Gguf.Conformance.Mutation;

/// <summary>
/// Turns a seed into a malformed (or still valid) file: bit flips, byte sets, truncations, inserted or deleted
/// bytes, and rewrites of structured fields (counts, lengths, type ids, dimensions, offsets, alignment, bools,
/// names) with values picked to hit the edges of every check. Deterministic for a given random source.
/// </summary>
internal static class Mutator
{
    public static (byte[] Bytes, string Description) Mutate(Seed seed, Random rng)
    {
        byte[] b = seed.Bytes.ToArray();
        int ops = rng.Next(10) < 7 ? 1 : rng.Next(2, 4);
        var what = new List<string>();
        for (int i = 0; i < ops; i++)
        {
            int op = rng.Next(100);
            if (op < 55 && seed.Fields.Count > 0)
            {
                what.Add(RewriteField(b, seed.Fields[rng.Next(seed.Fields.Count)], seed, rng));
            }
            else if (op < 70)
            {
                int at = HeaderBiased(b, seed, rng);
                int bit = rng.Next(8);
                b[at] ^= (byte)(1 << bit);
                what.Add($"flip bit {bit} at {at}");
            }
            else if (op < 78)
            {
                int at = HeaderBiased(b, seed, rng);
                b[at] = (byte)(rng.Next(3) switch { 0 => 0, 1 => 0xFF, _ => rng.Next(256) });
                what.Add($"set byte {at}={b[at]:X2}");
            }
            else if (op < 88)
            {
                int length = rng.Next(4) == 0 ? rng.Next(b.Length) : HeaderBiased(b, seed, rng);
                b = b[..length];
                what.Add($"truncate to {length}");
                break;
            }
            else if (op < 94)
            {
                int at = HeaderBiased(b, seed, rng);
                int n = rng.Next(1, 9);
                var ins = new byte[n];
                rng.NextBytes(ins);
                b = [.. b.AsSpan(0, at), .. ins, .. b.AsSpan(at)];
                what.Add($"insert {n} bytes at {at}");
                break;
            }
            else
            {
                int at = HeaderBiased(b, seed, rng);
                int n = Math.Min(rng.Next(1, 9), b.Length - at);
                b = [.. b.AsSpan(0, at), .. b.AsSpan(at + n)];
                what.Add($"delete {n} bytes at {at}");
                break;
            }
        }

        return (b, string.Join("; ", what));
    }

    private static int HeaderBiased(byte[] b, Seed seed, Random rng)
    {
        if (b.Length == 0)
        {
            return 0;
        }

        int header = seed.Fields.Where(f => f.Kind != GgufFieldKind.TensorData).Select(f => f.Offset + f.Size).DefaultIfEmpty(b.Length).Max();
        return rng.Next(5) == 0 ? rng.Next(b.Length) : rng.Next(Math.Min(header, b.Length));
    }

    private static string RewriteField(byte[] b, GgufField f, Seed seed, Random rng)
    {
        if (f.Offset + f.Size > b.Length || f.Size == 0)
        {
            return $"skip {f.Kind}";
        }

        var span = b.AsSpan(f.Offset, f.Size);
        switch (f.Kind)
        {
            case GgufFieldKind.KeyBytes or GgufFieldKind.TensorNameBytes:
                return RewriteName(b, f, seed, rng);
            case GgufFieldKind.BoolValue:
                span[0] = (byte)(rng.Next(3) switch { 0 => 2, 1 => 0xFF, _ => rng.Next(256) });
                return $"{f.Kind}@{f.Offset}={span[0]}";
            case GgufFieldKind.Padding or GgufFieldKind.TensorData:
                span[rng.Next(span.Length)] = (byte)rng.Next(1, 256);
                return $"{f.Kind}@{f.Offset} dirty";
        }

        ulong old = f.Size switch
        {
            1 => span[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(span),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(span),
            8 => BinaryPrimitives.ReadUInt64LittleEndian(span),
            _ => 0,
        };
        ulong value = Interesting(f, old, rng);
        switch (f.Size)
        {
            case 1: span[0] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)value); break;
            case 8: BinaryPrimitives.WriteUInt64LittleEndian(span, value); break;
            default: span[rng.Next(span.Length)] ^= 0xFF; break;
        }

        return $"{f.Kind}@{f.Offset} {old}->{(long)value}";
    }

    /// <summary>Copies another name of the same length over this one (duplicates), or plants a NUL or an invalid UTF-8 byte.</summary>
    private static string RewriteName(byte[] b, GgufField f, Seed seed, Random rng)
    {
        var span = b.AsSpan(f.Offset, f.Size);
        var same = seed.Fields.Where(o => o.Kind == f.Kind && o.Size == f.Size && o.Offset != f.Offset && o.Offset + o.Size <= b.Length).ToList();
        if (same.Count > 0 && rng.Next(2) == 0)
        {
            var other = same[rng.Next(same.Count)];
            b.AsSpan(other.Offset, other.Size).CopyTo(span);
            return $"{f.Kind}@{f.Offset} duplicates {other.Offset}";
        }

        int at = rng.Next(span.Length);
        span[at] = (byte)(rng.Next(3) switch { 0 => 0, 1 => 0xC3, _ => 0xFF });
        return $"{f.Kind}@{f.Offset}[{at}]={span[at]:X2}";
    }

    private static ulong Interesting(GgufField f, ulong old, Random rng)
    {
        ulong[] common = [0, 1, 2, ulong.MaxValue, old + 1, old - 1, old * 2, old + 8, (ulong)rng.NextInt64()];
        ulong[] specific = f.Kind switch
        {
            GgufFieldKind.Version => [0, 1, 3, 4, 0x03000000, 0x00010003, 0x80000003],
            GgufFieldKind.TensorCount or GgufFieldKind.KvCount => [(ulong)long.MaxValue, 1UL << 63, 1UL << 40, 1UL << 32, 0x0FFFFFFFFFFFFFFF, 100_000],
            GgufFieldKind.KeyLength or GgufFieldKind.TensorNameLength or GgufFieldKind.StringLength =>
                [1UL << 30, (1UL << 30) + 1, 1UL << 63, 63, 64, 65, 0x7FFFFFFF, 0xFFFFFFFF, 1UL << 32],
            GgufFieldKind.ValueType or GgufFieldKind.ArrayElementType => [8, 9, 12, 13, 0xFFFFFFFF, 0x80000000, (ulong)rng.Next(13)],
            GgufFieldKind.ArrayCount => [1UL << 30, (1UL << 30) + 1, 1UL << 62, 1UL << 61, (ulong)long.MaxValue, 1UL << 63],
            GgufFieldKind.AlignmentValue => [0, 1, 3, 16, 24, 31, 64, 1UL << 30, 1UL << 31, 0x80000001],
            GgufFieldKind.DimensionCount => [0, 3, 4, 5, 8, 0xFFFFFFFF],
            GgufFieldKind.Dimension =>
            [
                0, (ulong)long.MaxValue, 1UL << 63, 1UL << 62, 1UL << 32, 1UL << 31, 0x4000000000000000 / 4 * 4,
                ulong.MaxValue / 4, 32UL * (((1UL << 63) / 288) + 1), 1UL << 58, 256, 31, 33,
            ],
            GgufFieldKind.TensorType => [4, 5, 31, 33, 36, 38, 42, 43, 44, 0xFFFFFFFF, (ulong)rng.Next(43)],
            GgufFieldKind.TensorOffset => [32, 64, 1, 31, 1UL << 40, ulong.MaxValue - 31, (ulong)long.MaxValue],
            _ => [],
        };
        return rng.Next(3) == 0 || specific.Length == 0 ? common[rng.Next(common.Length)] : specific[rng.Next(specific.Length)];
    }
}
