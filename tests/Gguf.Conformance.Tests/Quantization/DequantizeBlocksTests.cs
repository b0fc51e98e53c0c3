using System.Runtime.InteropServices;
using Gguf.LlamaCpp;
using Gguf.Testing;
using Gguf.Format;
using Gguf.Quantization;

namespace Gguf.Conformance.Quantization;

/// <summary>
/// Issue 11, bit-exactness: for every type ggml can decode, our SIMD and scalar kernels give the same float
/// bits as ggml's <c>to_float</c> (libggml-base) on random blocks, on blocks with every special scale pattern
/// (NaN, ±Inf, subnormal, −0; every E8M0 and UE4M3 code) and on blocks ggml's quantizer wrote.
/// </summary>
public sealed unsafe class DequantizeBlocksTests
{
    public static TheoryData<string> NativeTypes
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (GgmlType type in GgmlDequant.FileTypes)
            {
                if (type is not (GgmlType.F32 or GgmlType.I8 or GgmlType.I16 or GgmlType.I32 or GgmlType.I64 or GgmlType.F64))
                {
                    data.Add(type.ToString());
                }
            }

            return data;
        }
    }

    /// <summary>
    /// The types ggml's quantizer writes. IQ2_XXS/XS/S and IQ1_S/M first build search tables that take ggml
    /// 3–20 s each; they run when GGUF_DEQUANT_SLOW_TESTS=1 (random and special blocks cover them always).
    /// </summary>
    public static TheoryData<string> QuantizableTypes
    {
        get
        {
            bool slow = Environment.GetEnvironmentVariable("GGUF_DEQUANT_SLOW_TESTS") == "1";
            var data = new TheoryData<string>();
            foreach (string type in NativeTypes)
            {
                var t = Enum.Parse<GgmlType>(type);
                bool slowInit = t is GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ1_S or GgmlType.IQ1_M;
                if (TestBlocks.GgmlCanQuantize(t) && (slow || !slowInit))
                {
                    data.Add(type);
                }
            }

            return data;
        }
    }

    [Fact]
    public void TypeTraits_LayoutMatchesTheAccessors_AndToFloatIsWhereExpected()
    {
        Requires.LlamaCpp();
        var problems = new List<string>();
        for (int id = 0; id < GgmlTypeInfo.TypeIdCount; id++)
        {
            GgmlTypeTraits* traits = GgmlQuantNative.ggml_get_type_traits(id);
            string name = Marshal.PtrToStringUTF8((nint)traits->TypeName) ?? "";
            string expectedName = Marshal.PtrToStringUTF8((nint)GgmlNative.ggml_type_name(id)) ?? "";
            if (traits->BlockSize != GgmlNative.ggml_blck_size(id) || traits->TypeSize != GgmlNative.ggml_type_size(id) || name != expectedName)
            {
                problems.Add($"{id}: traits {name}/{traits->BlockSize}/{traits->TypeSize}, accessors {expectedName}/{GgmlNative.ggml_blck_size(id)}/{GgmlNative.ggml_type_size(id)}");
            }

            if (!GgmlTypeInfo.TryGet(id, out GgmlTypeInfo info))
            {
                continue;
            }

            // ggml decodes F16, BF16 and every block type but Q8_1 and Q8_K; F32, the integers and F64 have no to_float.
            bool expectToFloat = info.Type is GgmlType.F16 or GgmlType.BF16 || (info.IsBlockQuantized && info.Type is not (GgmlType.Q8_1 or GgmlType.Q8_K));
            if ((traits->ToFloat != null) != expectToFloat)
            {
                problems.Add($"{info.Name}: to_float is {(traits->ToFloat != null ? "set" : "NULL")}");
            }

            if (traits->IsQuantized != info.IsBlockQuantized)
            {
                problems.Add($"{info.Name}: is_quantized {traits->IsQuantized}");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(NativeTypes))]
    public void RandomBlocks_SameBitsAsGgml(string typeName)
    {
        Requires.LlamaCpp();
        var type = Enum.Parse<GgmlType>(typeName);
        int blocks = GgmlTypeInfo.Get(type).BlockSize == 1 ? 4096 : 97;
        for (int seed = 1; seed <= 3; seed++)
        {
            byte[] bytes = TestBlocks.Random(type, blocks, seed);
            Assert.Null(GgmlDequant.CompareAll(type, bytes));
        }
    }

    [Theory]
    [MemberData(nameof(NativeTypes))]
    public void SpecialScales_SameBitsAsGgml(string typeName)
    {
        Requires.LlamaCpp();
        var type = Enum.Parse<GgmlType>(typeName);
        byte[] bytes = TestBlocks.SpecialScales(type, seed: 11);
        string? problems = GgmlDequant.CompareAll(type, bytes);
        Assert.True(problems is null, problems);
    }

    [Theory]
    [MemberData(nameof(QuantizableTypes))]
    public void BlocksQuantizedByGgml_SameBitsAsGgml(string typeName)
    {
        Requires.LlamaCpp();
        var type = Enum.Parse<GgmlType>(typeName);
        byte[] bytes = TestBlocks.QuantizedByGgml(type, seed: 5);
        Assert.Null(GgmlDequant.CompareAll(type, bytes));
    }
}
