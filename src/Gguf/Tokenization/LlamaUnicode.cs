using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Gguf.Tokenization;

/// <summary>
/// The Unicode data and UTF-8 rules of llama.cpp's tokenizers (its <c>unicode.cpp</c>), which differ from
/// .NET's on purpose: llama.cpp's tables come from an older Unicode version than .NET 10's, lowercase
/// maps U+0130 to <c>i</c>, "NFD" maps a code point to the first code point of its decomposition, and the
/// UTF-8 decoder accepts overlong forms, surrogates and values up to U+1FFFFF.
/// </summary>
/// <remarks>
/// The tables (<c>LlamaUnicode.Tables.g.cs</c>) are generated from llama.cpp's own lookup
/// functions; a conformance test regenerates it and checks every code point.
/// </remarks>
internal static partial class LlamaUnicode
{
    /// <summary>Code points covered by the tables (U+0000 to U+10FFFF).</summary>
    public const int MaxCodePoints = 0x110000;

    /// <summary>What an invalid byte decodes to.</summary>
    public const int ReplacementCharacter = 0xFFFD;

    // Category codes in the low nibble of a flags byte (one per code point, as in llama.cpp).
    public const byte CategoryUndefined = 1;
    public const byte CategoryNumber = 2;
    public const byte CategoryLetter = 3;
    public const byte CategorySeparator = 4;
    public const byte CategoryAccentMark = 5;
    public const byte CategoryPunctuation = 6;
    public const byte CategorySymbol = 7;
    public const byte CategoryControl = 8;

    /// <summary>Bit of a flags byte: the code point is whitespace (llama.cpp's set, Unicode White_Space).</summary>
    public const byte WhitespaceBit = 0x10;

    /// <summary>Flags of a code point beyond the tables: "undefined", as llama.cpp answers.</summary>
    public const byte UndefinedFlags = CategoryUndefined;

    private const int BlockShift = 7;
    private const int BlockSize = 1 << BlockShift;

    private static readonly Tables Data = Load();

    /// <summary>The flags byte of <paramref name="codePoint"/>: a category code and <see cref="WhitespaceBit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Flags(int codePoint)
    {
        if ((uint)codePoint >= MaxCodePoints)
        {
            return UndefinedFlags;
        }

        Tables t = Data;
        return t.Blocks[(t.BlockIndex[codePoint >> BlockShift] << BlockShift) | (codePoint & (BlockSize - 1))];
    }

    /// <summary>The category code of a flags byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Category(byte flags) => flags & 0x0F;

    /// <summary>Whether a flags byte is whitespace.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsWhitespace(byte flags) => (flags & WhitespaceBit) != 0;

    /// <summary>Whether a flags byte is a letter (<c>\p{L}</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsLetter(byte flags) => (flags & 0x0F) == CategoryLetter;

    /// <summary>Whether a flags byte is a number (<c>\p{N}</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsNumber(byte flags) => (flags & 0x0F) == CategoryNumber;

    /// <summary>llama.cpp's lowercase mapping (its own table; code points without an entry map to themselves).</summary>
    public static int ToLower(int codePoint)
    {
        if ((uint)codePoint < 256)
        {
            return Data.Latin1Lower[codePoint];
        }

        int[] from = Data.LowerFrom;
        int index = Array.BinarySearch(from, codePoint);
        return index >= 0 ? Data.LowerTo[index] : codePoint;
    }

    /// <summary>llama.cpp's "NFD": the first code point of the canonical decomposition, else the code point itself.</summary>
    public static int Nfd(int codePoint)
    {
        if ((uint)codePoint < 256)
        {
            return Data.Latin1Nfd[codePoint];
        }

        Tables t = Data;
        int[] first = t.NfdFirst;
        int index = Array.BinarySearch(first, codePoint);
        if (index < 0)
        {
            index = ~index - 1;
        }

        return index >= 0 && codePoint <= t.NfdLast[index] ? t.NfdTarget[index] : codePoint;
    }

    /// <summary>
    /// The byte length llama.cpp assumes from a lead byte (<c>unicode_len_utf8</c>): continuation bytes
    /// count as 1, <c>0xF8</c>–<c>0xFF</c> as 4.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SequenceLength(byte lead) => lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;

    /// <summary>
    /// Decodes one code point at the start of <paramref name="utf8"/> the way llama.cpp does: a malformed
    /// sequence is U+FFFD consuming one byte; overlong forms and surrogates are accepted; a 4-byte form may
    /// reach U+1FFFFF.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Decode(ReadOnlySpan<byte> utf8, out int length)
    {
        int b0 = utf8[0];
        if (b0 < 0x80)
        {
            length = 1;
            return b0;
        }

        return DecodeMultiByte(utf8, b0, out length);
    }

    private static int DecodeMultiByte(ReadOnlySpan<byte> utf8, int b0, out int length)
    {
        length = 1;
        if ((b0 & 0x40) == 0)
        {
            return ReplacementCharacter;
        }

        if ((b0 & 0x20) == 0)
        {
            if (utf8.Length < 2 || !IsContinuation(utf8[1]))
            {
                return ReplacementCharacter;
            }

            length = 2;
            return ((b0 & 0x1F) << 6) | (utf8[1] & 0x3F);
        }

        if ((b0 & 0x10) == 0)
        {
            if (utf8.Length < 3 || !IsContinuation(utf8[1]) || !IsContinuation(utf8[2]))
            {
                return ReplacementCharacter;
            }

            length = 3;
            return ((b0 & 0x0F) << 12) | ((utf8[1] & 0x3F) << 6) | (utf8[2] & 0x3F);
        }

        if ((b0 & 0x08) == 0)
        {
            if (utf8.Length < 4 || !IsContinuation(utf8[1]) || !IsContinuation(utf8[2]) || !IsContinuation(utf8[3]))
            {
                return ReplacementCharacter;
            }

            length = 4;
            return ((b0 & 0x07) << 18) | ((utf8[1] & 0x3F) << 12) | ((utf8[2] & 0x3F) << 6) | (utf8[3] & 0x3F);
        }

        return ReplacementCharacter;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsContinuation(byte b) => (b & 0xC0) == 0x80;

    /// <summary>
    /// Encodes a code point as llama.cpp's <c>unicode_cpt_to_utf8</c> does (no check for surrogates). Code
    /// points above U+10FFFF, where llama.cpp throws (and aborts the tokenizer), get the 4-byte form they
    /// were decoded from. Returns the byte count (1–4).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Encode(int codePoint, Span<byte> destination)
    {
        if (codePoint < 0x80)
        {
            destination[0] = (byte)codePoint;
            return 1;
        }

        if (codePoint < 0x800)
        {
            destination[0] = (byte)(0xC0 | (codePoint >> 6));
            destination[1] = (byte)(0x80 | (codePoint & 0x3F));
            return 2;
        }

        if (codePoint < 0x10000)
        {
            destination[0] = (byte)(0xE0 | (codePoint >> 12));
            destination[1] = (byte)(0x80 | ((codePoint >> 6) & 0x3F));
            destination[2] = (byte)(0x80 | (codePoint & 0x3F));
            return 3;
        }

        destination[0] = (byte)(0xF0 | ((codePoint >> 18) & 0x07));
        destination[1] = (byte)(0x80 | ((codePoint >> 12) & 0x3F));
        destination[2] = (byte)(0x80 | ((codePoint >> 6) & 0x3F));
        destination[3] = (byte)(0x80 | (codePoint & 0x3F));
        return 4;
    }

    /// <summary>The byte count <see cref="Encode"/> writes for a code point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EncodedLength(int codePoint) => codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;

    /// <summary>Distinct blocks of the flags table; for tests.</summary>
    internal static int BlockCount => Data.Blocks.Length / BlockSize;

    /// <summary>
    /// Parses the tables: runs of equal flags bytes (start, flags), lowercase pairs, and NFD ranges.
    /// All little-endian; see the generator in the conformance tests for the layout.
    /// </summary>
    private static Tables Load() => Parse(Convert.FromBase64String(TablesBase64));

    /// <summary>Builds the lookup structures from the resource bytes.</summary>
    internal static Tables Parse(ReadOnlySpan<byte> data)
    {
        int position = 0;
        uint magic = ReadUInt32(data, ref position);
        uint version = ReadUInt32(data, ref position);
        if (magic != 0x54554C4C || version != 1)
        {
            throw new InvalidOperationException("the embedded Unicode tables have an unknown layout");
        }

        // Runs of flags, expanded block by block; a block inside one run shares the one block of that value.
        int runCount = (int)ReadUInt32(data, ref position);
        var runStarts = new int[runCount + 1];
        var runFlags = new byte[runCount];
        for (int i = 0; i < runCount; i++)
        {
            runStarts[i] = (int)ReadUInt32(data, ref position);
            runFlags[i] = data[position++];
        }

        runStarts[runCount] = MaxCodePoints;
        var blockIndex = new ushort[MaxCodePoints >> BlockShift];
        var blocks = new List<byte>();
        var uniform = new int[256];
        Array.Fill(uniform, -1);
        int run = 0;
        for (int b = 0; b < blockIndex.Length; b++)
        {
            int start = b << BlockShift;
            while (start >= runStarts[run + 1])
            {
                run++;
            }

            if (runStarts[run + 1] >= start + BlockSize)
            {
                byte value = runFlags[run];
                if (uniform[value] < 0)
                {
                    uniform[value] = blocks.Count / BlockSize;
                    for (int i = 0; i < BlockSize; i++)
                    {
                        blocks.Add(value);
                    }
                }

                blockIndex[b] = (ushort)uniform[value];
                continue;
            }

            blockIndex[b] = (ushort)(blocks.Count / BlockSize);
            int r = run;
            for (int i = 0; i < BlockSize; i++)
            {
                while (start + i >= runStarts[r + 1])
                {
                    r++;
                }

                blocks.Add(runFlags[r]);
            }
        }

        byte[] flat = blocks.ToArray();

        int lowerCount = (int)ReadUInt32(data, ref position);
        var lowerFrom = new int[lowerCount];
        var lowerTo = new int[lowerCount];
        for (int i = 0; i < lowerCount; i++)
        {
            lowerFrom[i] = (int)ReadUInt32(data, ref position);
            lowerTo[i] = (int)ReadUInt32(data, ref position);
        }

        int nfdCount = (int)ReadUInt32(data, ref position);
        var nfdFirst = new int[nfdCount];
        var nfdLast = new int[nfdCount];
        var nfdTarget = new int[nfdCount];
        for (int i = 0; i < nfdCount; i++)
        {
            nfdFirst[i] = (int)ReadUInt32(data, ref position);
            nfdLast[i] = (int)ReadUInt32(data, ref position);
            nfdTarget[i] = (int)ReadUInt32(data, ref position);
        }

        var tables = new Tables(blockIndex, flat, lowerFrom, lowerTo, nfdFirst, nfdLast, nfdTarget, new int[256], new int[256]);

        // Direct answers for U+0000–U+00FF, the common case of WordPiece's per-character normalization.
        for (int cp = 0; cp < 256; cp++)
        {
            int lower = Array.BinarySearch(lowerFrom, cp);
            tables.Latin1Lower[cp] = lower >= 0 ? lowerTo[lower] : cp;
            int range = Array.BinarySearch(nfdFirst, cp);
            range = range >= 0 ? range : ~range - 1;
            tables.Latin1Nfd[cp] = range >= 0 && cp <= nfdLast[range] ? nfdTarget[range] : cp;
        }

        return tables;
    }

    private static uint ReadUInt32(ReadOnlySpan<byte> data, ref int position)
    {
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(position));
        position += 4;
        return value;
    }

    /// <summary>The parsed tables.</summary>
    internal sealed record Tables(ushort[] BlockIndex, byte[] Blocks, int[] LowerFrom, int[] LowerTo, int[] NfdFirst, int[] NfdLast, int[] NfdTarget, int[] Latin1Lower, int[] Latin1Nfd);
}
