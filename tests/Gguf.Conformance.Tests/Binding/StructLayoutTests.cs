using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Gguf.LlamaCpp;
using Gguf.Testing;

namespace Gguf.Conformance.Binding;

/// <summary>
/// Checks our explicit layouts of llama.h's parameter structs against this build: known default values at
/// known offsets, and (on x64) the exact bytes and size the library writes when it returns the struct.
/// </summary>
public sealed unsafe class StructLayoutTests
{
    private const int GgmlTypeF16 = 1;
    private const int GgmlTypeCount = 43;
    private const int GgmlDefaultNThreads = 4;

    [Fact]
    public void ModelParams_DefaultsSitAtTheirOffsets()
    {
        Requires.LlamaCpp();
        var p = LlamaNative.llama_model_default_params();
        Assert.Equal(0, p.Devices);
        Assert.Equal(0, p.TensorBuftOverrides);
        Assert.Equal(-1, p.NGpuLayers);          // all layers
        Assert.Equal(1, p.SplitMode);            // LLAMA_SPLIT_MODE_LAYER
        Assert.Equal(LlamaLoadMode.Mmap, p.LoadMode);
        Assert.Equal(0, p.MainGpu);
        Assert.Equal(0, p.TensorSplit);
        Assert.Equal(0, p.ProgressCallback);
        Assert.Equal(0, p.KvOverrides);
        Assert.False(p.VocabOnly);
        Assert.False(p.CheckTensors);
        Assert.True(p.UseExtraBufts);
        Assert.False(p.NoHost);
        Assert.False(p.NoAlloc);
        Assert.False(p.LoadMtp);
    }

    [Fact]
    public void ContextParams_DefaultsSitAtTheirOffsets()
    {
        Requires.LlamaCpp();
        var p = LlamaNative.llama_context_default_params();
        Assert.Equal(512u, p.NCtx);
        Assert.Equal(2048u, p.NBatch);
        Assert.Equal(512u, p.NUbatch);
        Assert.Equal(1u, p.NSeqMax);
        Assert.Equal(0u, p.NRsSeq);
        Assert.Equal(0u, p.NOutputsMax);
        Assert.Equal(GgmlDefaultNThreads, p.NThreads);
        Assert.Equal(GgmlDefaultNThreads, p.NThreadsBatch);
        Assert.Equal(0, p.CtxType);
        Assert.Equal(-1, p.RopeScalingType);
        Assert.Equal(-1, p.PoolingType);
        Assert.Equal(-1, p.AttentionType);
        Assert.Equal(-1, p.FlashAttnType);       // auto
        Assert.Equal(0f, p.RopeFreqBase);
        Assert.Equal(0f, p.RopeFreqScale);
        Assert.Equal(-1f, p.YarnExtFactor);
        Assert.Equal(-1f, p.YarnAttnFactor);
        Assert.Equal(-1f, p.YarnBetaFast);
        Assert.Equal(-1f, p.YarnBetaSlow);
        Assert.Equal(0u, p.YarnOrigCtx);
        Assert.Equal(-1f, p.DefragThold);
        Assert.Equal(0, p.CbEval);
        Assert.Equal(GgmlTypeF16, p.TypeK);
        Assert.Equal(GgmlTypeF16, p.TypeV);
        Assert.Equal(0, p.AbortCallback);
        Assert.False(p.Embeddings);
        Assert.True(p.OffloadKqv);
        Assert.True(p.NoPerf);
        Assert.True(p.OpOffload);
        Assert.True(p.SwaFull);
        Assert.False(p.KvUnified);
        Assert.Equal(0, p.Samplers);
        Assert.Equal(0u, (ulong)p.NSamplers);
        Assert.Equal(0, p.CtxOther);
    }

    [Fact]
    public void QuantizeParams_DefaultsSitAtTheirOffsets()
    {
        Requires.LlamaCpp();
        var p = LlamaNative.llama_model_quantize_default_params();
        Assert.Equal(0, p.NThread);
        Assert.Equal(LlamaFtype.MOSTLY_Q8_0, p.Ftype);
        Assert.Equal(GgmlTypeCount, p.OutputTensorType);     // "not set"
        Assert.Equal(GgmlTypeCount, p.TokenEmbeddingType);
        Assert.False(p.AllowRequantize);
        Assert.True(p.QuantizeOutputTensor);
        Assert.False(p.OnlyCopy);
        Assert.False(p.Pure);
        Assert.False(p.KeepSplit);
        Assert.False(p.DryRun);
        Assert.Equal(0, p.Imatrix);
        Assert.Equal(0, p.KvOverrides);
        Assert.Equal(0, p.TensorTypeOverrides);
        Assert.Equal(0, p.PruneLayers);
    }

    public static TheoryData<string, int> DefaultFunctions => new()
    {
        { "llama_model_default_params", Unsafe.SizeOf<LlamaModelParams>() },
        { "llama_context_default_params", Unsafe.SizeOf<LlamaContextParams>() },
        { "llama_model_quantize_default_params", Unsafe.SizeOf<LlamaModelQuantizeParams>() },
    };

    /// <summary>
    /// Calls the default-params function with our own return buffer (x64 passes a hidden pointer for large
    /// structs), prefilled with a sentinel: the bytes the library writes give its sizeof, and every written byte
    /// must equal the struct our declaration received.
    /// </summary>
    [Theory]
    [MemberData(nameof(DefaultFunctions))]
    public void DefaultParams_NativeSizeAndBytesMatchOurDeclaration(string function, int declaredSize)
    {
        Requires.LlamaCpp();
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            Assert.Skip("The hidden return-pointer probe is x64-only.");
        }

        const byte Sentinel = 0xCC;
        byte* buffer = stackalloc byte[512];
        new Span<byte>(buffer, 512).Fill(Sentinel);
        var fn = (delegate* unmanaged[Cdecl]<byte*, byte*>)NativeLibraries.GetExport("llama", function);
        byte* returned = fn(buffer);
        Assert.True(returned == buffer, "x64 returns the hidden struct pointer");

        int lastWritten = new ReadOnlySpan<byte>(buffer, 512).LastIndexOfAnyExcept(Sentinel);
        Assert.InRange(lastWritten + 1, declaredSize - 7, declaredSize); // only tail padding may be left untouched

        byte[] ours = function switch
        {
            "llama_model_default_params" => Bytes(LlamaNative.llama_model_default_params()),
            "llama_context_default_params" => Bytes(LlamaNative.llama_context_default_params()),
            _ => Bytes(LlamaNative.llama_model_quantize_default_params()),
        };
        for (int i = 0; i <= lastWritten; i++)
        {
            Assert.True(buffer[i] == Sentinel || buffer[i] == ours[i], $"{function}: byte {i} is 0x{buffer[i]:X2} natively, 0x{ours[i]:X2} in our struct");
        }
    }

    private static byte[] Bytes<T>(T value)
        where T : unmanaged => new ReadOnlySpan<byte>(&value, sizeof(T)).ToArray();
}
