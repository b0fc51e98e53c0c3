using System.Buffers.Binary;
using System.Reflection;
using System.Text;
using Gguf.Conformance.Native;
using Gguf.LlamaCpp;
using Gguf.Testing;
using Gguf.Tokenization;

namespace Gguf.Conformance.Tokenization;

/// <summary>
/// Our tokenizer's Unicode tables (categories, whitespace, lowercase, "NFD") against llama.cpp's own
/// lookup functions, for every code point. The embedded tables are generated here: set
/// <c>GGUF_WRITE_UNICODE_TABLES=1</c> to rewrite <c>src/Gguf/Tokenization/LlamaUnicode.Tables.g.cs</c>.
/// </summary>
public sealed unsafe class UnicodeTableTests
{
    private const string GeneratedFile = "src/Gguf/Tokenization/LlamaUnicode.Tables.g.cs";

    [Fact]
    public void EmbeddedTables_AreTheTablesGeneratedFromLlamaCpp()
    {
        Requires.LlamaCpp();
        byte[] generated = Generate();
        if (Environment.GetEnvironmentVariable("GGUF_WRITE_UNICODE_TABLES") == "1")
        {
            string path = Path.Combine(RepositoryRoot(), GeneratedFile);
            File.WriteAllText(path, SourceFile(generated));
            TestContext.Current.TestOutputHelper?.WriteLine($"wrote {generated.Length} bytes of tables to {path}");
        }

        byte[] embedded = EmbeddedBytes();
        Assert.True(generated.AsSpan().SequenceEqual(embedded), $"the embedded tables ({embedded.Length} bytes) differ from llama.cpp's ({generated.Length} bytes); regenerate with GGUF_WRITE_UNICODE_TABLES=1");
    }

    [Fact]
    public void Lookups_MatchLlamaCpp_ForEveryCodePoint()
    {
        Requires.LlamaCpp();
        var flags = Internal<Func<int, byte>>("Flags");
        var lower = Internal<Func<int, int>>("ToLower");
        var nfd = Internal<Func<int, int>>("Nfd");
        uint[] llamaNfd = LlamaNfd(0x110000 + 16);
        var failures = new List<string>();
        for (int cp = 0; cp < 0x110000 + 16; cp++)
        {
            byte expected = ToFlagsByte(LlamaVocabNative.unicode_cpt_flags_from_cpt((uint)cp));
            if (flags(cp) != expected)
            {
                failures.Add($"flags U+{cp:X4}: ours {flags(cp):X2}, llama.cpp {expected:X2}");
            }

            if (lower(cp) != (int)LlamaVocabNative.unicode_tolower((uint)cp))
            {
                failures.Add($"lower U+{cp:X4}: ours {lower(cp):X4}, llama.cpp {LlamaVocabNative.unicode_tolower((uint)cp):X4}");
            }

            if (nfd(cp) != (int)llamaNfd[cp])
            {
                failures.Add($"nfd U+{cp:X4}: ours {nfd(cp):X4}, llama.cpp {llamaNfd[cp]:X4}");
            }

            if (failures.Count > 20)
            {
                break;
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>The resource bytes: runs of flags bytes, lowercase pairs, NFD ranges (layout in LlamaUnicode.Parse).</summary>
    private static byte[] Generate()
    {
        using var output = new MemoryStream();
        void U32(uint value)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, value);
            output.Write(b);
        }

        U32(0x54554C4C);
        U32(1);
        var runs = new List<(int Start, byte Flags)>();
        for (int cp = 0; cp < 0x110000; cp++)
        {
            byte f = ToFlagsByte(LlamaVocabNative.unicode_cpt_flags_from_cpt((uint)cp));
            if (runs.Count == 0 || runs[^1].Flags != f)
            {
                runs.Add((cp, f));
            }
        }

        U32((uint)runs.Count);
        foreach ((int start, byte f) in runs)
        {
            U32((uint)start);
            output.WriteByte(f);
        }

        var lowers = new List<(uint From, uint To)>();
        for (uint cp = 0; cp < 0x110000; cp++)
        {
            uint l = LlamaVocabNative.unicode_tolower(cp);
            if (l != cp)
            {
                lowers.Add((cp, l));
            }
        }

        U32((uint)lowers.Count);
        foreach ((uint from, uint to) in lowers)
        {
            U32(from);
            U32(to);
        }

        uint[] nfd = LlamaNfd(0x110000);
        var ranges = new List<(uint First, uint Last, uint Target)>();
        for (uint cp = 0; cp < 0x110000; cp++)
        {
            if (nfd[cp] == cp)
            {
                continue;
            }

            if (ranges.Count > 0 && ranges[^1].Last == cp - 1 && ranges[^1].Target == nfd[cp])
            {
                ranges[^1] = (ranges[^1].First, cp, nfd[cp]);
            }
            else
            {
                ranges.Add((cp, cp, nfd[cp]));
            }
        }

        U32((uint)ranges.Count);
        foreach ((uint first, uint last, uint target) in ranges)
        {
            U32(first);
            U32(last);
            U32(target);
        }

        return output.ToArray();
    }

    /// <summary>llama.cpp's flags (one category bit in 0..7, whitespace in bit 8) as our flags byte.</summary>
    private static byte ToFlagsByte(ushort flags)
    {
        int category = flags & 0xFF;
        Assert.True(category != 0 && (category & (category - 1)) == 0, $"llama.cpp flags {flags:X4} do not hold exactly one category");
        int code = System.Numerics.BitOperations.TrailingZeroCount(category) + 1;
        return (byte)(code | ((flags & 0x100) != 0 ? 0x10 : 0));
    }

    /// <summary>llama.cpp's NFD of every code point below <paramref name="count"/>, in one call.</summary>
    private static uint[] LlamaNfd(int count)
    {
        uint[] input = new uint[count];
        for (int i = 0; i < count; i++)
        {
            input[i] = (uint)i;
        }

        fixed (uint* p = input)
        {
            var vector = new LlamaVocabNative.StdVectorUInt32 { Begin = p, End = p + count, Capacity = p + count };
            LlamaVocabNative.StdVectorUInt32 result;
            LlamaVocabNative.unicode_cpts_normalize_nfd(&result, &vector);
            Assert.Equal(count, (int)(result.End - result.Begin));
            return new ReadOnlySpan<uint>(result.Begin, count).ToArray();
        }
    }

    private static byte[] EmbeddedBytes()
    {
        Type type = typeof(GgufTokenizer).Assembly.GetType("Gguf.Tokenization.LlamaUnicode", throwOnError: true)!;
        var field = type.GetField("TablesBase64", BindingFlags.NonPublic | BindingFlags.Static)!;
        return Convert.FromBase64String((string)field.GetValue(null)!);
    }

    private static T Internal<T>(string method) where T : Delegate
    {
        Type type = typeof(GgufTokenizer).Assembly.GetType("Gguf.Tokenization.LlamaUnicode", throwOnError: true)!;
        return type.GetMethod(method, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!.CreateDelegate<T>();
    }

    private static string SourceFile(byte[] data)
    {
        string base64 = Convert.ToBase64String(data);
        var sb = new StringBuilder();
        sb.Append("// <auto-generated>\n");
        sb.Append("// Generated by tests/Gguf.Conformance.Tests/Tokenization/UnicodeTableTests.cs from llama.cpp's\n");
        sb.Append("// unicode_cpt_flags_from_cpt, unicode_tolower and unicode_cpts_normalize_nfd (LLamaSharp.Backend.Cpu 0.30.0).\n");
        sb.Append("// Regenerate with GGUF_WRITE_UNICODE_TABLES=1; do not edit.\n");
        sb.Append("// </auto-generated>\n\n");
        sb.Append("namespace Gguf.Tokenization;\n\n");
        sb.Append("internal static partial class LlamaUnicode\n{\n");
        sb.Append($"    /// <summary>The tables ({data.Length} bytes), base64.</summary>\n");
        sb.Append("    internal const string TablesBase64 =\n");
        for (int i = 0; i < base64.Length; i += 100)
        {
            string line = base64.Substring(i, Math.Min(100, base64.Length - i));
            sb.Append("        \"").Append(line).Append('"').Append(i + 100 >= base64.Length ? ";\n" : " +\n");
        }

        sb.Append("}\n");
        return sb.ToString();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gguf.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root (Gguf.slnx) not found");
    }
}
