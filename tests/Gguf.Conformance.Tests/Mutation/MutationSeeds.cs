using Gguf.Conformance.Binding;
using Gguf.Conformance.Support;

namespace Gguf.Conformance.Mutation;

/// <summary>A valid seed file and the map of its fields.</summary>
internal sealed record Seed(string Name, byte[] Bytes, IReadOnlyList<GgufField> Fields);

/// <summary>Small valid files that together contain every structure a GGUF file can have.</summary>
internal static class MutationSeeds
{
    public static IReadOnlyList<Seed> All { get; } = Create();

    private static List<Seed> Create()
    {
        var rng = new Random(5);
        byte[] Random(int n)
        {
            var b = new byte[n];
            rng.NextBytes(b);
            return b;
        }

        var seeds = new List<Seed>();
        void Add(string name, RawGgufBuilder b) => seeds.Add(new Seed(name, b.Build(), b.Fields.ToList()));

        // Every value type, short arrays, three common tensor types.
        var rich = new RawGgufBuilder();
        foreach (var kv in NativeRoundTripTests.EveryValueType().Where(kv => kv.Count < 100))
        {
            rich.Kv(kv);
        }

        rich.Tensor("tok.weight", 0, [4, 3], Random(48)).Tensor("q4.weight", 2, [64, 2], Random(72)).Tensor("q8.weight", 8, [32], Random(34));
        Add("rich", rich);

        // Explicit alignment and k-quants.
        var aligned = new RawGgufBuilder { Alignment = 64 }.Kv(Kv.U32("general.alignment", 64)).KvString("general.architecture", "llama")
            .Tensor("k4", 12, [256, 2], Random(288)).Tensor("k6", 14, [256], Random(210)).Tensor("iq4", 20, [32, 3], Random(54));
        Add("aligned64", aligned);

        // Metadata only, like the vocab-only corpus files.
        var vocab = new RawGgufBuilder().KvString("general.architecture", "llama").KvString("tokenizer.ggml.model", "llama")
            .Kv(Kv.Strings("tokenizer.ggml.tokens", ["<unk>", "<s>", "</s>", "▁a", "b"])).Kv(Kv.F32s("tokenizer.ggml.scores", [0, 0, 0, -1, -2]))
            .Kv(Kv.I32s("tokenizer.ggml.token_type", [2, 3, 3, 1, 1])).Kv(Kv.Bool("tokenizer.ggml.add_bos_token", true));
        Add("vocab", vocab);

        // Four dimensions and the plain integer/float types.
        var dims = new RawGgufBuilder().KvU32("n", 1)
            .Tensor("i8", 24, [2, 2, 2, 2], Random(16)).Tensor("i16", 25, [3, 1, 2], Random(12)).Tensor("i64", 27, [2], Random(16))
            .Tensor("f64", 28, [1, 2], Random(16)).Tensor("bf16", 30, [4, 1, 1, 1], Random(8)).Tensor("f16", 1, [6], Random(12));
        Add("dims", dims);

        // Version 2, alignment 1 (packed), newer types.
        var packed = new RawGgufBuilder { Version = 2, Alignment = 1 }.Kv(Kv.U32("general.alignment", 1))
            .Tensor("mx", 39, [32], Random(17)).Tensor("nv", 40, [64], Random(36)).Tensor("q1", 41, [128], Random(18)).Tensor("q2", 42, [64], Random(18));
        Add("packed-v2", packed);

        // Many small tensors.
        var many = new RawGgufBuilder().KvString("general.name", "many");
        for (int i = 0; i < 12; i++)
        {
            many.Tensor($"blk.{i}.w", i % 2 == 0 ? 0 : 8, [32, 1 + (i % 3)], null);
        }

        Add("many", many);
        return seeds;
    }
}
