using System.Text;
using Gguf.Format;
using Gguf.LlamaCpp;
using Gguf.Model;
using Gguf.Writing;

namespace Gguf.Benchmarks;

/// <summary>One file to open in the parse benchmarks.</summary>
/// <param name="Name">Short name shown in tables.</param>
/// <param name="Path">Absolute path.</param>
/// <param name="Kind">corpus, generated or sparse.</param>
public sealed record BenchInput(string Name, string Path, string Kind)
{
    /// <summary>The file's size in bytes.</summary>
    public long Bytes => new FileInfo(Path).Length;

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// The inputs of the parse benchmarks: every GGUF file of the shared corpus that both parsers accept,
/// and generated files written once per machine with <see cref="GgufWriter"/> into a temp folder.
/// </summary>
public static class BenchInputs
{
    /// <summary>Elements of the large string array.</summary>
    public const int LargeArrayCount = 150_000;

    /// <summary>Entries of each tokenizer-shaped array (Qwen2's vocabulary size).</summary>
    public const int TokenizerCount = 151_936;

    /// <summary>Keys of the many-keys file.</summary>
    public const int ManyKeysCount = 40_000;

    /// <summary>Tensors of the many-tensors file.</summary>
    public const int ManyTensorsCount = 40_000;

    /// <summary>Size of the sparse file.</summary>
    public const long SparseBytes = 5L << 30;

    // Bump when a generator changes, so stale files are rewritten.
    private const string GeneratorVersion = "v1";

    /// <summary>The key of the 150,000-entry string array.</summary>
    public const string LargeArrayKey = "bench.strings";

    /// <summary>The folder that holds the generated files.</summary>
    public static string GeneratedDirectory { get; } =
        Environment.GetEnvironmentVariable("GGUF_BENCH_INPUTS")
        ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "gguf-bench", "inputs-" + GeneratorVersion);

    /// <summary>Every input: the corpus, the repository's sample model, then the generated files.</summary>
    public static IEnumerable<BenchInput> All() => [.. Corpus(), .. Samples(), .. Generated()];

    /// <summary>samples/*.gguf of the repository (the README's tiny model), when present.</summary>
    public static IEnumerable<BenchInput> Samples()
    {
        string? root = FindUp("Gguf.slnx") is string solution ? System.IO.Path.GetDirectoryName(solution) : null;
        string? samples = root is null ? null : System.IO.Path.Combine(root, "samples");
        if (samples is null || !Directory.Exists(samples))
        {
            yield break;
        }

        foreach (string path in Directory.EnumerateFiles(samples, "*.gguf").Order(StringComparer.Ordinal))
        {
            yield return new BenchInput("samples/" + System.IO.Path.GetFileName(path), path, "sample");
        }
    }

    /// <summary>The shared corpus (../shared/corpus from the repository root), or nothing when absent.</summary>
    public static IEnumerable<BenchInput> Corpus()
    {
        string? directory = FindCorpus();
        if (directory is null)
        {
            yield break;
        }

        foreach (string path in Directory.EnumerateFiles(directory, "*.gguf", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            // Both parsers must accept the file: timing a rejection compares error paths, not parsers.
            // The history folder's v1, "FUGG" and OBJ-typed files are rejected by design.
            if (Accepts(path))
            {
                string name = System.IO.Path.GetRelativePath(directory, path).Replace('\\', '/');
                yield return new BenchInput(name, path, "corpus");
            }
        }
    }

    /// <summary>The generated inputs, written on first use.</summary>
    public static IEnumerable<BenchInput> Generated()
    {
        Directory.CreateDirectory(GeneratedDirectory);
        yield return Ensure("tiny-model.gguf", "generated", WriteTinyModel);
        yield return Ensure("strings-150k.gguf", "generated", WriteLargeStringArray);
        yield return Ensure("tokenizer-151936.gguf", "generated", WriteTokenizer);
        yield return Ensure("keys-40k.gguf", "generated", WriteManyKeys);
        yield return Ensure("tensors-40k.gguf", "generated", WriteManyTensors);
        yield return Ensure("header-only.gguf", "sparse", path => WriteSparseTwin(path, sparse: false));
        yield return Ensure("sparse-5gib.gguf", "sparse", path => WriteSparseTwin(path, sparse: true));
    }

    /// <summary>Whether an input is the 40,000-key or the 40,000-tensor file.</summary>
    public static bool IsLargeCount(BenchInput input) => input.Name is "keys-40k" or "tensors-40k";

    /// <summary>The generated 150,000-entry string array file.</summary>
    public static BenchInput LargeStringArray() => Ensure("strings-150k.gguf", "generated", WriteLargeStringArray);

    /// <summary>Whether both our parser and llama.cpp's accept a file.</summary>
    public static bool Accepts(string path)
    {
        try
        {
            using GgufFile file = GgufFile.Open(path);
        }
        catch (GgufFormatException)
        {
            return false;
        }

        return !LlamaGguf.IsAvailable || LlamaGguf.Describe(path) is not null;
    }

    private static string? FindCorpus()
    {
        string? configured = Environment.GetEnvironmentVariable("GGUF_CORPUS");
        if (!string.IsNullOrEmpty(configured))
        {
            return Directory.Exists(configured) ? configured : null;
        }

        return FindUp(System.IO.Path.Combine("shared", "corpus"));
    }

    /// <summary>The first <paramref name="relative"/> path that exists above the current or the program's directory.</summary>
    private static string? FindUp(string relative)
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
            {
                string candidate = System.IO.Path.Combine(d.FullName, relative);
                if (Directory.Exists(candidate) || File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static BenchInput Ensure(string name, string kind, Action<string> write)
    {
        string path = System.IO.Path.Combine(GeneratedDirectory, name);
        if (!File.Exists(path))
        {
            // Written aside and renamed, so a benchmark process never sees half a file.
            string temporary = $"{path}.{Environment.ProcessId}.tmp";
            write(temporary);
            File.Move(temporary, path, overwrite: true);
        }

        return new BenchInput(System.IO.Path.GetFileNameWithoutExtension(name), path, kind);
    }

    /// <summary>A small llama-shaped model: hyperparameters, a 1,024-token vocabulary and 2 blocks of tensors.</summary>
    private static void WriteTinyModel(string path)
    {
        var writer = new GgufWriter();
        AddGeneral(writer, "llama", "tiny-bench");
        writer.AddMetadata("llama.block_count", GgufValue.UInt32(2));
        writer.AddMetadata("llama.context_length", GgufValue.UInt32(2048));
        writer.AddMetadata("llama.embedding_length", GgufValue.UInt32(64));
        writer.AddMetadata("llama.feed_forward_length", GgufValue.UInt32(128));
        writer.AddMetadata("llama.attention.head_count", GgufValue.UInt32(4));
        writer.AddMetadata("llama.attention.head_count_kv", GgufValue.UInt32(4));
        writer.AddMetadata("llama.rope.freq_base", GgufValue.Float32(10000f));
        writer.AddMetadata("llama.attention.layer_norm_rms_epsilon", GgufValue.Float32(1e-5f));
        AddTokenizer(writer, vocabulary: 1024, withMerges: true);

        const int embedding = 64;
        const int feedForward = 128;
        const int vocabulary = 1024;
        AddZeroTensor(writer, "token_embd.weight", GgmlType.F16, [embedding, vocabulary]);
        for (int block = 0; block < 2; block++)
        {
            string b = $"blk.{block}.";
            AddZeroTensor(writer, b + "attn_norm.weight", GgmlType.F32, [embedding]);
            AddZeroTensor(writer, b + "attn_q.weight", GgmlType.Q8_0, [embedding, embedding]);
            AddZeroTensor(writer, b + "attn_k.weight", GgmlType.Q8_0, [embedding, embedding]);
            AddZeroTensor(writer, b + "attn_v.weight", GgmlType.Q8_0, [embedding, embedding]);
            AddZeroTensor(writer, b + "attn_output.weight", GgmlType.Q8_0, [embedding, embedding]);
            AddZeroTensor(writer, b + "ffn_norm.weight", GgmlType.F32, [embedding]);
            AddZeroTensor(writer, b + "ffn_gate.weight", GgmlType.Q8_0, [embedding, feedForward]);
            AddZeroTensor(writer, b + "ffn_up.weight", GgmlType.Q8_0, [embedding, feedForward]);
            AddZeroTensor(writer, b + "ffn_down.weight", GgmlType.Q8_0, [feedForward, embedding]);
        }

        AddZeroTensor(writer, "output_norm.weight", GgmlType.F32, [embedding]);
        AddZeroTensor(writer, "output.weight", GgmlType.F16, [embedding, vocabulary]);
        writer.WriteTo(path);
    }

    /// <summary>One 150,000-entry array of token-like strings of 1 to 24 bytes.</summary>
    private static void WriteLargeStringArray(string path)
    {
        var writer = new GgufWriter();
        AddGeneral(writer, "llama", "strings-150k");
        writer.AddMetadata(LargeArrayKey, GgufValue.FromUtf8Array(TokenLikeStrings(LargeArrayCount, seed: 150)));
        writer.WriteTo(path);
    }

    /// <summary>Qwen2-shaped tokenizer: tokens, token types and merges of 151,936 entries each.</summary>
    private static void WriteTokenizer(string path)
    {
        var writer = new GgufWriter();
        AddGeneral(writer, "qwen2", "tokenizer-151936");
        AddTokenizer(writer, TokenizerCount, withMerges: true);
        writer.WriteTo(path);
    }

    /// <summary>40,000 keys of mixed scalar and short string values.</summary>
    private static void WriteManyKeys(string path)
    {
        var writer = new GgufWriter();
        AddGeneral(writer, "llama", "keys-40k");
        for (int i = 0; writer.Metadata.Count < ManyKeysCount; i++)
        {
            string key = $"bench.layer.{i / 16}.param_{i % 16}";
            GgufValue value = (i % 4) switch
            {
                0 => GgufValue.UInt32((uint)i),
                1 => GgufValue.Float32(i * 0.5f),
                2 => GgufValue.String("value-" + i),
                _ => GgufValue.Bool(i % 8 == 3),
            };
            writer.AddMetadata(key, value);
        }

        writer.WriteTo(path);
    }

    /// <summary>40,000 small tensors with model-like names.</summary>
    private static void WriteManyTensors(string path)
    {
        var writer = new GgufWriter();
        AddGeneral(writer, "llama", "tensors-40k");
        string[] parts = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down", "attn_norm", "ffn_norm", "ffn_gate_inp"];
        for (int i = 0; i < ManyTensorsCount; i++)
        {
            string name = $"blk.{i / parts.Length}.{parts[i % parts.Length]}.weight";
            AddZeroTensor(writer, name, i % 2 == 0 ? GgmlType.F32 : GgmlType.Q8_0, i % 2 == 0 ? [8] : [32, 2]);
        }

        writer.WriteTo(path);
    }

    /// <summary>
    /// A model-sized header (hyperparameters and a 32,000-token vocabulary) and one F32 tensor. The
    /// sparse file's tensor fills 5 GiB that are never written (a hole in the file); its twin's tensor
    /// has 8 elements, so both headers have the same size and differ only in one dimension.
    /// </summary>
    private static void WriteSparseTwin(string path, bool sparse)
    {
        var writer = new GgufWriter();
        AddGeneral(writer, "llama", sparse ? "sparse-5gib" : "header-only");
        AddTokenizer(writer, 32_000, withMerges: false);
        long elements = sparse ? SparseBytes / sizeof(float) : 8;
        writer.AddTensor("blob.weight", GgmlType.F32, [elements], output =>
        {
            byte[] zeros = new byte[1 << 20];
            for (long left = elements * sizeof(float); left > 0; left -= zeros.Length)
            {
                output.Write(zeros, 0, (int)Math.Min(left, zeros.Length));
            }
        });
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        writer.WriteTo(new HoleStream(file));
    }

    private static void AddGeneral(GgufWriter writer, string architecture, string name)
    {
        writer.AddMetadata(GgufKeys.Architecture, GgufValue.String(architecture));
        writer.AddMetadata(GgufKeys.Name, GgufValue.String(name));
        writer.AddMetadata(GgufKeys.QuantizationVersion, GgufValue.UInt32(2));
        writer.AddMetadata(GgufKeys.FileType, GgufValue.UInt32(7));
    }

    private static void AddTokenizer(GgufWriter writer, int vocabulary, bool withMerges)
    {
        byte[][] tokens = TokenLikeStrings(vocabulary, seed: vocabulary);
        writer.AddMetadata(GgufKeys.TokenizerModel, GgufValue.String(withMerges ? "gpt2" : "llama"));
        writer.AddMetadata(GgufKeys.TokenizerPre, GgufValue.String("default"));
        writer.AddMetadata(GgufKeys.TokenizerTokens, GgufValue.FromUtf8Array(tokens));
        int[] types = new int[vocabulary];
        for (int i = 0; i < types.Length; i++)
        {
            types[i] = i < 256 ? 6 : 1;
        }

        writer.AddMetadata(GgufKeys.TokenizerTokenType, GgufValue.FromArray(types));
        if (withMerges)
        {
            // A merge is two tokens joined by a space, as in BPE vocabularies.
            byte[][] merges = new byte[vocabulary][];
            for (int i = 0; i < merges.Length; i++)
            {
                byte[] left = tokens[(i * 7) % tokens.Length];
                byte[] right = tokens[(i * 13 + 1) % tokens.Length];
                merges[i] = [.. left, (byte)' ', .. right];
            }

            writer.AddMetadata(GgufKeys.TokenizerMerges, GgufValue.FromUtf8Array(merges));
        }
        else
        {
            float[] scores = new float[vocabulary];
            for (int i = 0; i < scores.Length; i++)
            {
                scores[i] = -i;
            }

            writer.AddMetadata(GgufKeys.TokenizerScores, GgufValue.FromArray(scores));
        }

        writer.AddMetadata(GgufKeys.TokenizerBosId, GgufValue.UInt32(1));
        writer.AddMetadata(GgufKeys.TokenizerEosId, GgufValue.UInt32(2));
    }

    /// <summary>Deterministic BPE-like tokens: mostly 2-8 bytes, some up to 24, with a leading 'Ġ' on a third.</summary>
    private static byte[][] TokenLikeStrings(int count, int seed)
    {
        var random = new Random(seed);
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.,;:-";
        var result = new byte[count][];
        var builder = new StringBuilder(32);
        for (int i = 0; i < count; i++)
        {
            builder.Clear();
            if (i % 3 == 0)
            {
                builder.Append('Ġ');
            }

            int length = random.Next(10) == 0 ? random.Next(9, 25) : random.Next(1, 9);
            for (int c = 0; c < length; c++)
            {
                builder.Append(alphabet[random.Next(alphabet.Length)]);
            }

            // A suffix keeps every token distinct, as in a real vocabulary.
            builder.Append(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            result[i] = Encoding.UTF8.GetBytes(builder.ToString());
        }

        return result;
    }

    private static void AddZeroTensor(GgufWriter writer, string name, GgmlType type, long[] shape)
    {
        GgmlTypeInfo.TryGet((int)type, out GgmlTypeInfo info);
        info.TryGetByteSize(shape, out long size);
        writer.AddTensor(name, type, shape, new byte[size]);
    }

    /// <summary>Turns writes of all-zero buffers into seeks, so the file gets holes instead of zeros.</summary>
    private sealed class HoleStream(FileStream inner) : Stream
    {
        private long _position;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _position;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (buffer.Length >= 4096 && !buffer.ContainsAnyExcept((byte)0))
            {
                inner.Seek(buffer.Length, SeekOrigin.Current);
            }
            else
            {
                inner.Write(buffer);
            }

            _position += buffer.Length;
        }

        public override void Flush()
        {
            // A trailing hole needs the length set explicitly.
            inner.SetLength(_position);
            inner.Flush();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
