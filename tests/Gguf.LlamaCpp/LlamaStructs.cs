using System.Runtime.InteropServices;

namespace Gguf.LlamaCpp;

// Layouts of the llama.h structs as compiled into LLamaSharp.Backend.Cpu 0.30.0 (ggml 0.18.0, commit 815a2a591).
// This build has `enum llama_load_mode load_mode` in llama_model_params (no use_mmap/use_mlock booleans) and
// `ctx_type`/`ctx_other` in llama_context_params. Offsets are explicit; StructLayoutTests checks them against
// the defaults the library returns and against the bytes the library writes.

/// <summary><c>struct llama_model_params</c>: 72 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
internal struct LlamaModelParams
{
    [FieldOffset(0)] public nint Devices;
    [FieldOffset(8)] public nint TensorBuftOverrides;
    [FieldOffset(16)] public int NGpuLayers;
    [FieldOffset(20)] public int SplitMode;
    [FieldOffset(24)] public LlamaLoadMode LoadMode;
    [FieldOffset(28)] public int MainGpu;
    [FieldOffset(32)] public nint TensorSplit;
    [FieldOffset(40)] public nint ProgressCallback;
    [FieldOffset(48)] public nint ProgressCallbackUserData;
    [FieldOffset(56)] public nint KvOverrides;
    [FieldOffset(64)] public bool VocabOnly;
    [FieldOffset(65)] public bool CheckTensors;
    [FieldOffset(66)] public bool UseExtraBufts;
    [FieldOffset(67)] public bool NoHost;
    [FieldOffset(68)] public bool NoAlloc;
    [FieldOffset(69)] public bool LoadMtp;
}

/// <summary><c>enum llama_load_mode</c>.</summary>
internal enum LlamaLoadMode
{
    None = 0,
    Mmap = 1,
    Mlock = 2,
    MmapMlock = 3,
    DirectIo = 4,
}

/// <summary><c>struct llama_context_params</c>: 160 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 160)]
internal struct LlamaContextParams
{
    [FieldOffset(0)] public uint NCtx;
    [FieldOffset(4)] public uint NBatch;
    [FieldOffset(8)] public uint NUbatch;
    [FieldOffset(12)] public uint NSeqMax;
    [FieldOffset(16)] public uint NRsSeq;
    [FieldOffset(20)] public uint NOutputsMax;
    [FieldOffset(24)] public int NThreads;
    [FieldOffset(28)] public int NThreadsBatch;
    [FieldOffset(32)] public int CtxType;
    [FieldOffset(36)] public int RopeScalingType;
    [FieldOffset(40)] public int PoolingType;
    [FieldOffset(44)] public int AttentionType;
    [FieldOffset(48)] public int FlashAttnType;
    [FieldOffset(52)] public float RopeFreqBase;
    [FieldOffset(56)] public float RopeFreqScale;
    [FieldOffset(60)] public float YarnExtFactor;
    [FieldOffset(64)] public float YarnAttnFactor;
    [FieldOffset(68)] public float YarnBetaFast;
    [FieldOffset(72)] public float YarnBetaSlow;
    [FieldOffset(76)] public uint YarnOrigCtx;
    [FieldOffset(80)] public float DefragThold;
    [FieldOffset(88)] public nint CbEval;
    [FieldOffset(96)] public nint CbEvalUserData;
    [FieldOffset(104)] public int TypeK;
    [FieldOffset(108)] public int TypeV;
    [FieldOffset(112)] public nint AbortCallback;
    [FieldOffset(120)] public nint AbortCallbackData;
    [FieldOffset(128)] public bool Embeddings;
    [FieldOffset(129)] public bool OffloadKqv;
    [FieldOffset(130)] public bool NoPerf;
    [FieldOffset(131)] public bool OpOffload;
    [FieldOffset(132)] public bool SwaFull;
    [FieldOffset(133)] public bool KvUnified;
    [FieldOffset(136)] public nint Samplers;
    [FieldOffset(144)] public nuint NSamplers;
    [FieldOffset(152)] public nint CtxOther;
}

/// <summary><c>struct llama_model_quantize_params</c>: 56 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
internal struct LlamaModelQuantizeParams
{
    [FieldOffset(0)] public int NThread;
    [FieldOffset(4)] public LlamaFtype Ftype;
    [FieldOffset(8)] public int OutputTensorType;
    [FieldOffset(12)] public int TokenEmbeddingType;
    [FieldOffset(16)] public bool AllowRequantize;
    [FieldOffset(17)] public bool QuantizeOutputTensor;
    [FieldOffset(18)] public bool OnlyCopy;
    [FieldOffset(19)] public bool Pure;
    [FieldOffset(20)] public bool KeepSplit;
    [FieldOffset(21)] public bool DryRun;
    [FieldOffset(24)] public nint Imatrix;
    [FieldOffset(32)] public nint KvOverrides;
    [FieldOffset(40)] public nint TensorTypeOverrides;
    [FieldOffset(48)] public nint PruneLayers;
}

/// <summary><c>struct llama_batch</c>: 56 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
internal struct LlamaBatch
{
    [FieldOffset(0)] public int NTokens;
    [FieldOffset(8)] public nint Token;
    [FieldOffset(16)] public nint Embd;
    [FieldOffset(24)] public nint Pos;
    [FieldOffset(32)] public nint NSeqId;
    [FieldOffset(40)] public nint SeqId;
    [FieldOffset(48)] public nint Logits;
}

/// <summary>The <c>enum llama_ftype</c> values this suite quantizes to (llama.h).</summary>
internal enum LlamaFtype
{
    ALL_F32 = 0,
    MOSTLY_F16 = 1,
    MOSTLY_Q4_0 = 2,
    MOSTLY_Q4_1 = 3,
    MOSTLY_Q8_0 = 7,
    MOSTLY_Q5_0 = 8,
    MOSTLY_Q5_1 = 9,
    MOSTLY_Q2_K = 10,
    MOSTLY_Q3_K_S = 11,
    MOSTLY_Q3_K_M = 12,
    MOSTLY_Q3_K_L = 13,
    MOSTLY_Q4_K_S = 14,
    MOSTLY_Q4_K_M = 15,
    MOSTLY_Q5_K_S = 16,
    MOSTLY_Q5_K_M = 17,
    MOSTLY_Q6_K = 18,
    MOSTLY_IQ4_NL = 25,
    MOSTLY_IQ4_XS = 30,
    MOSTLY_BF16 = 32,
}
