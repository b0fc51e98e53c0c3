using Gguf.Format;
using Gguf.LlamaCpp;
using Gguf.Model;
using System.Globalization;
using System.Text;
using Gguf.Conformance.Native;
using Gguf.Conformance.Probe;

namespace Gguf.Conformance.Architectures;

/// <summary>KV cache settings for a context, as llama_context_params takes them.</summary>
internal sealed record KvSettings(uint Context, uint Batch, uint UBatch, uint Sequences, bool Unified, int TypeK, int TypeV, int FlashAttention, bool SwaFull)
{
    public string Encode() => string.Join(',', Context, Batch, UBatch, Sequences, Unified ? 1 : 0, TypeK, TypeV, FlashAttention, SwaFull ? 1 : 0);

    public static KvSettings Decode(string s)
    {
        int[] p = [.. s.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture))];
        return new KvSettings((uint)p[0], (uint)p[1], (uint)p[2], (uint)p[3], p[4] != 0, p[5], p[6], p[7], p[8] != 0);
    }
}

/// <summary>
/// The probe child's side of the architecture tests (requests whose mode starts with <see cref="Prefix"/>):
/// <c>arch-load</c> loads a model with <c>llama_model_load_from_file</c> (what our check must agree with),
/// <c>arch-run</c> also decodes a prompt and checks the logits are finite, <c>arch-kv:SETTINGS</c> creates a context and
/// answers the KV cache's exact bytes (<see cref="LlamaKvCacheNative.ReadKvCache"/>).
/// </summary>
internal static unsafe class ArchitectureProbe
{
    public const string Prefix = "arch-";

    private static readonly Lazy<bool> Backend = new(() =>
    {
        NativeLog.Install();
        LlamaNative.llama_backend_init();
        return true;
    });

    public static VerdictResult Handle(string mode, string path)
    {
        _ = Backend.Value;
        NativeLog.BeginCapture();
        var mparams = LlamaNative.llama_model_default_params();
        nint model = LlamaNative.llama_model_load_from_file(path, mparams);
        string log = NativeLog.EndCapture();
        if (model == 0)
        {
            return new VerdictResult(Verdict.Reject, log.Length > 0 ? log : "llama_model_load_from_file returned null");
        }

        try
        {
            if (mode == "arch-load")
            {
                return new VerdictResult(Verdict.Accept, "loaded");
            }

            if (mode == "arch-run")
            {
                return Run(model);
            }

            if (mode.StartsWith("arch-kv:", StringComparison.Ordinal))
            {
                return Kv(model, KvSettings.Decode(mode["arch-kv:".Length..]));
            }

            return new VerdictResult(Verdict.Reject, $"unknown mode {mode}");
        }
        finally
        {
            LlamaNative.llama_model_free(model);
        }
    }

    private static VerdictResult Run(nint model)
    {
        nint vocab = LlamaNative.llama_model_get_vocab(model);
        int nVocab = LlamaNative.llama_vocab_n_tokens(vocab);
        byte[] text = Encoding.UTF8.GetBytes("Hello world, the tiny model");
        int[] tokens = new int[text.Length + 8];
        int n;
        fixed (byte* t = text)
        fixed (int* tok = tokens)
        {
            n = LlamaNative.llama_tokenize(vocab, t, text.Length, tok, tokens.Length, addSpecial: true, parseSpecial: false);
        }

        if (n <= 0)
        {
            return new VerdictResult(Verdict.Reject, $"llama_tokenize returned {n}");
        }

        nint ctx = CreateContext(model, new KvSettings(64, 64, 64, 1, false, 1, 1, -1, false), out string log);
        if (ctx == 0)
        {
            return new VerdictResult(Verdict.Reject, "llama_init_from_model failed: " + log);
        }

        try
        {
            int rc;
            fixed (int* tok = tokens)
            {
                rc = LlamaNative.llama_decode(ctx, LlamaNative.llama_batch_get_one(tok, n));
            }

            if (rc != 0)
            {
                return new VerdictResult(Verdict.Reject, $"llama_decode returned {rc}");
            }

            float* logits = LlamaNative.llama_get_logits_ith(ctx, -1);
            var span = new ReadOnlySpan<float>(logits, nVocab);
            int finite = 0;
            foreach (float f in span)
            {
                finite += float.IsFinite(f) ? 1 : 0;
            }

            float spread = span.ToArray().Max() - span.ToArray().Min();
            return new VerdictResult(Verdict.Accept, FormattableString.Invariant($"vocab={nVocab};tokens={n};finite={finite};spread={spread}"));
        }
        finally
        {
            LlamaNative.llama_free(ctx);
        }
    }

    private static VerdictResult Kv(nint model, KvSettings settings)
    {
        nint ctx = CreateContext(model, settings, out string log);
        if (ctx == 0)
        {
            return new VerdictResult(Verdict.Reject, "llama_init_from_model failed: " + log);
        }

        try
        {
            KvBytes bytes = LlamaKvCacheNative.ReadKvCache(ctx);
            return new VerdictResult(Verdict.Accept, bytes.Encode() + ";" + LlamaKvCacheNative.llama_n_ctx(ctx).ToString(CultureInfo.InvariantCulture));
        }
        finally
        {
            LlamaNative.llama_free(ctx);
        }
    }

    private static nint CreateContext(nint model, KvSettings s, out string log)
    {
        var cparams = LlamaNative.llama_context_default_params();
        cparams.NCtx = s.Context;
        cparams.NBatch = s.Batch;
        cparams.NUbatch = s.UBatch;
        cparams.NSeqMax = s.Sequences;
        cparams.KvUnified = s.Unified;
        cparams.TypeK = s.TypeK;
        cparams.TypeV = s.TypeV;
        cparams.FlashAttnType = s.FlashAttention;
        cparams.SwaFull = s.SwaFull;
        cparams.NThreads = 2;
        cparams.NThreadsBatch = 2;
        NativeLog.BeginCapture();
        nint ctx = LlamaNative.llama_init_from_model(model, cparams);
        log = NativeLog.EndCapture();
        return ctx;
    }
}
