using System.Text;

namespace Gguf.LlamaCpp;

/// <summary>What llama.cpp did with a model: its vocabulary size, the prompt's tokens and the last position's logits.</summary>
internal sealed record DecodeResult(int VocabSize, int[] Tokens, float[] Logits, string Description);

/// <summary>Loads a model with libllama, tokenizes a prompt and decodes it; quantizes models.</summary>
internal static unsafe class LlamaRunner
{
    private static readonly Lazy<bool> Backend = new(() =>
    {
        NativeLog.Install();
        LlamaNative.llama_backend_init();
        return true;
    });

    /// <summary>Loads <paramref name="path"/>, decodes <paramref name="prompt"/> and returns the last logits; throws with llama.cpp's log on failure.</summary>
    public static DecodeResult Decode(string path, string prompt)
    {
        _ = Backend.Value;
        NativeLog.BeginCapture();
        var mparams = LlamaNative.llama_model_default_params();
        nint model = LlamaNative.llama_model_load_from_file(path, mparams);
        string log = NativeLog.EndCapture();
        if (model == 0)
        {
            throw new InvalidOperationException($"llama_model_load_from_file failed: {log}");
        }

        try
        {
            nint vocab = LlamaNative.llama_model_get_vocab(model);
            int nVocab = LlamaNative.llama_vocab_n_tokens(vocab);
            byte* desc = stackalloc byte[256];
            int descLength = LlamaNative.llama_model_desc(model, desc, 256);
            string description = Encoding.UTF8.GetString(desc, Math.Max(0, descLength));

            byte[] text = Encoding.UTF8.GetBytes(prompt);
            int[] tokens = new int[text.Length + 8];
            int n;
            fixed (byte* t = text)
            fixed (int* tok = tokens)
            {
                n = LlamaNative.llama_tokenize(vocab, t, text.Length, tok, tokens.Length, addSpecial: true, parseSpecial: false);
            }

            if (n <= 0)
            {
                throw new InvalidOperationException($"llama_tokenize returned {n}");
            }

            Array.Resize(ref tokens, n);
            var cparams = LlamaNative.llama_context_default_params();
            cparams.NCtx = 64;
            cparams.NBatch = 64;
            cparams.NUbatch = 64;
            cparams.NThreads = 2;
            cparams.NThreadsBatch = 2;
            NativeLog.BeginCapture();
            nint ctx = LlamaNative.llama_init_from_model(model, cparams);
            log = NativeLog.EndCapture();
            if (ctx == 0)
            {
                throw new InvalidOperationException($"llama_init_from_model failed: {log}");
            }

            try
            {
                int rc;
                fixed (int* tok = tokens)
                {
                    var batch = LlamaNative.llama_batch_get_one(tok, n);
                    rc = LlamaNative.llama_decode(ctx, batch);
                }

                if (rc != 0)
                {
                    throw new InvalidOperationException($"llama_decode returned {rc}");
                }

                float* logits = LlamaNative.llama_get_logits_ith(ctx, -1);
                return new DecodeResult(nVocab, tokens, new ReadOnlySpan<float>(logits, nVocab).ToArray(), description);
            }
            finally
            {
                LlamaNative.llama_free(ctx);
            }
        }
        finally
        {
            LlamaNative.llama_model_free(model);
        }
    }

    /// <summary>Runs llama.cpp's quantizer; throws with its log when it fails.</summary>
    public static void Quantize(string input, string output, LlamaFtype ftype)
    {
        _ = Backend.Value;
        var p = LlamaNative.llama_model_quantize_default_params();
        p.Ftype = ftype;
        p.NThread = 2;
        NativeLog.BeginCapture();
        uint rc = LlamaNative.llama_model_quantize(input, output, &p);
        string log = NativeLog.EndCapture();
        if (rc != 0)
        {
            throw new InvalidOperationException($"llama_model_quantize({ftype}) returned {rc}: {log}");
        }
    }
}
