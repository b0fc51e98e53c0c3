using System.Runtime.InteropServices;
using Gguf.Conformance.Native;
using Gguf.Conformance.Support;
using Gguf.LlamaCpp;
using Gguf.Testing;

namespace Gguf.Conformance.Binding;

public sealed unsafe class TypeTraitsTests
{
    /// <summary>
    /// The number of ggml types this build knows, found without undefined behaviour: gguf rejects a tensor whose
    /// type id is out of range with "invalid ggml type" (ggml_type_size would index past its table instead).
    /// </summary>
    internal static int BuildTypeCount()
    {
        using var dir = new TempDir();
        for (int id = 0; id < 64; id++)
        {
            byte[] file = new RawGgufBuilder().Tensor("t", id, [512], new byte[4096]).Build();
            var snapshot = NativeGgufReader.TryRead(dir.Write($"t{id}.gguf", file), withData: false, out string error);
            if (snapshot is null && error.Contains("invalid ggml type", StringComparison.Ordinal))
            {
                return id;
            }
        }

        return 64;
    }

    [Fact]
    public void TypeTraits_MatchTheReferenceTable()
    {
        Requires.LlamaCpp();
        int count = BuildTypeCount();
        var log = TestContext.Current.TestOutputHelper;
        log?.WriteLine($"this build knows ggml type ids 0..{count - 1} (GGML_TYPE_COUNT = {count})");

        var mismatches = new List<string>();
        for (int id = 0; id < Math.Min(count, GgmlTypeTable.Count); id++)
        {
            long block = GgmlNative.ggml_blck_size(id);
            ulong bytes = GgmlNative.ggml_type_size(id);
            string name = Marshal.PtrToStringUTF8((nint)GgmlNative.ggml_type_name(id)) ?? "";
            log?.WriteLine($"{id,2} {name,-12} block {block,3} bytes {bytes,3}");
            if (block != GgmlTypeTable.BlockSize(id) || bytes != (ulong)GgmlTypeTable.BytesPerBlock(id))
            {
                mismatches.Add($"{id} {name}: native {block}/{bytes}, table {GgmlTypeTable.BlockSize(id)}/{GgmlTypeTable.BytesPerBlock(id)}");
            }

            if (GgmlTypeTable.IsValid(id) && name != GgmlTypeTable.Name(id))
            {
                mismatches.Add($"{id}: native name {name}, table {GgmlTypeTable.Name(id)}");
            }
        }

        Assert.Empty(mismatches);
        Assert.Equal(GgmlTypeTable.Count, count);
    }
}
