using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Writing;

namespace Gguf.Fuzz;

/// <summary>
/// Writes the seed corpus: files from our writer (every tensor type, every value type, alignments, a tiny
/// llama-shaped model), the real corpus files shrunk to their first 32 array elements (same keys, types
/// and layout, small enough for fast executions), and the heads of the corpus files we reject (v1, the
/// pre-release FUGG draft, the OBJ value type).
/// </summary>
internal static class Seeds
{
    private const int MaxSeedBytes = 64 * 1024;

    public static int Write(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: Gguf.Fuzz seeds OUTDIR [CORPUSDIR]");
            return 2;
        }

        string output = args[0];
        Directory.CreateDirectory(output);
        int written = 0;
        void Save(string name, byte[] bytes)
        {
            if (bytes.Length <= MaxSeedBytes)
            {
                File.WriteAllBytes(Path.Combine(output, name), bytes);
                written++;
            }
        }

        foreach ((string name, byte[] file) in SeedFiles.WriterMade())
        {
            Save(name + ".gguf", file);
        }

        string? corpus = args.Length > 1 ? args[1] : null;
        if (corpus is not null && Directory.Exists(corpus))
        {
            foreach (string path in Directory.EnumerateFiles(corpus, "*.gguf", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileNameWithoutExtension(path);
                try
                {
                    Save($"corpus-shrunk-{name}.gguf", SeedFiles.Shrink(path, 32));
                }
                catch (GgufFormatException)
                {
                    // Files we reject still make good seeds: their first bytes are nearly valid.
                    byte[] all = File.ReadAllBytes(path);
                    Save($"corpus-head-{name}.gguf", all.AsSpan(0, Math.Min(all.Length, 4096)).ToArray());
                }
            }
        }

        Console.WriteLine($"wrote {written} seeds to {output}");
        return 0;
    }
}
