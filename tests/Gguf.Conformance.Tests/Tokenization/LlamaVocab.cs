using System.Collections.Concurrent;
using System.Text;
using Gguf.Conformance.Native;
using Gguf.LlamaCpp;
using Gguf.Testing;

namespace Gguf.Conformance.Tokenization;

/// <summary>
/// llama.cpp's tokenizer for one file: a vocab-only model load (<c>vocab_only = true</c>), then
/// <c>llama_tokenize</c>, <c>llama_detokenize</c> and <c>llama_token_to_piece</c>. Every native call runs on
/// one worker thread with a 512 MiB stack, because libstdc++'s <c>std::regex</c> (which llama.cpp uses for
/// most BPE pre-tokenizers) recurses once per character and would overflow a test thread's stack on
/// long inputs.
/// </summary>
internal sealed unsafe class LlamaVocab : IDisposable
{
    private static readonly Lazy<bool> Backend = new(() => NativeThread.Run(() =>
    {
        NativeLog.Install();
        LlamaNative.llama_backend_init();
        return true;
    }));

    private readonly nint _model;

    private LlamaVocab(nint model, nint vocab)
    {
        _model = model;
        Handle = vocab;
    }

    /// <summary>The <c>llama_vocab *</c>.</summary>
    public nint Handle { get; }

    /// <summary>Loads the vocabulary of <paramref name="path"/>; throws with llama.cpp's log when it refuses the file.</summary>
    public static LlamaVocab Load(string path)
    {
        Requires.LlamaCpp();
        _ = Backend.Value;
        return NativeThread.Run(() =>
        {
            NativeLog.BeginCapture();
            LlamaModelParams parameters = LlamaNative.llama_model_default_params();
            parameters.VocabOnly = true;
            nint model = LlamaNative.llama_model_load_from_file(path, parameters);
            string log = NativeLog.EndCapture();
            if (model == 0)
            {
                throw new InvalidOperationException($"llama.cpp refused {Path.GetFileName(path)}: {log}");
            }

            return new LlamaVocab(model, LlamaNative.llama_model_get_vocab(model));
        });
    }

    /// <summary>Tries to load; null with llama.cpp's error when it refuses the file.</summary>
    public static LlamaVocab? TryLoad(string path, out string error)
    {
        try
        {
            error = "";
            return Load(path);
        }
        catch (InvalidOperationException e)
        {
            error = e.Message;
            return null;
        }
    }

    public int TokenCount => NativeThread.Run(() => LlamaNative.llama_vocab_n_tokens(Handle));

    /// <summary><c>llama_tokenize</c> on raw bytes, sized with a first call that reports the count needed.</summary>
    public int[] Tokenize(byte[] text, bool addSpecial, bool parseSpecial) => NativeThread.Run(() =>
    {
        int[] tokens = new int[Math.Max(16, text.Length + 8)];
        fixed (byte* t = text)
        {
            int n;
            fixed (int* p = tokens)
            {
                n = LlamaNative.llama_tokenize(Handle, t, text.Length, p, tokens.Length, addSpecial, parseSpecial);
            }

            if (n < 0)
            {
                tokens = new int[-n];
                fixed (int* p = tokens)
                {
                    n = LlamaNative.llama_tokenize(Handle, t, text.Length, p, tokens.Length, addSpecial, parseSpecial);
                }
            }

            if (n < 0)
            {
                throw new InvalidOperationException($"llama_tokenize returned {n}");
            }

            Array.Resize(ref tokens, n);
            return tokens;
        }
    });

    /// <summary><c>llama_detokenize</c>.</summary>
    public byte[] Detokenize(int[] tokens, bool removeSpecial, bool unparseSpecial) => NativeThread.Run(() =>
    {
        byte[] text = new byte[Math.Max(64, tokens.Length * 8)];
        fixed (int* p = tokens)
        {
            int n;
            fixed (byte* t = text)
            {
                n = LlamaVocabNative.llama_detokenize(Handle, p, tokens.Length, t, text.Length, removeSpecial, unparseSpecial);
            }

            if (n < 0)
            {
                text = new byte[-n];
                fixed (byte* t = text)
                {
                    n = LlamaVocabNative.llama_detokenize(Handle, p, tokens.Length, t, text.Length, removeSpecial, unparseSpecial);
                }
            }

            Array.Resize(ref text, n);
            return text;
        }
    });

    /// <summary><c>llama_token_to_piece</c> with no left strip.</summary>
    public byte[] TokenToPiece(int token, bool special) => NativeThread.Run(() =>
    {
        byte[] piece = new byte[64];
        int n;
        fixed (byte* p = piece)
        {
            n = LlamaVocabNative.llama_token_to_piece(Handle, token, p, piece.Length, 0, special);
        }

        if (n < 0)
        {
            piece = new byte[-n];
            fixed (byte* p = piece)
            {
                n = LlamaVocabNative.llama_token_to_piece(Handle, token, p, piece.Length, 0, special);
            }
        }

        Array.Resize(ref piece, n);
        return piece;
    });

    /// <summary>The special ids and flags llama.cpp reports, in a fixed order for comparison.</summary>
    public string Describe() => NativeThread.Run(() =>
    {
        nint v = Handle;
        var sb = new StringBuilder();
        sb.Append($"bos={LlamaVocabNative.llama_vocab_bos(v)} eos={LlamaVocabNative.llama_vocab_eos(v)} eot={LlamaVocabNative.llama_vocab_eot(v)} ");
        sb.Append($"sep={LlamaVocabNative.llama_vocab_sep(v)} nl={LlamaVocabNative.llama_vocab_nl(v)} pad={LlamaVocabNative.llama_vocab_pad(v)} mask={LlamaVocabNative.llama_vocab_mask(v)} ");
        sb.Append($"fim={LlamaVocabNative.llama_vocab_fim_pre(v)},{LlamaVocabNative.llama_vocab_fim_suf(v)},{LlamaVocabNative.llama_vocab_fim_mid(v)} ");
        sb.Append($"add_bos={LlamaVocabNative.llama_vocab_get_add_bos(v)} add_eos={LlamaVocabNative.llama_vocab_get_add_eos(v)} add_sep={LlamaVocabNative.llama_vocab_get_add_sep(v)}");
        return sb.ToString();
    });

    /// <summary><c>llama_vocab_get_attr</c> of every token.</summary>
    public int[] Attributes() => NativeThread.Run(() =>
    {
        int n = LlamaNative.llama_vocab_n_tokens(Handle);
        int[] attrs = new int[n];
        for (int i = 0; i < n; i++)
        {
            attrs[i] = LlamaVocabNative.llama_vocab_get_attr(Handle, i);
        }

        return attrs;
    });

    /// <summary><c>llama_vocab_get_score</c> of every token.</summary>
    public float[] Scores() => NativeThread.Run(() =>
    {
        int n = LlamaNative.llama_vocab_n_tokens(Handle);
        float[] scores = new float[n];
        for (int i = 0; i < n; i++)
        {
            scores[i] = LlamaVocabNative.llama_vocab_get_score(Handle, i);
        }

        return scores;
    });

    /// <summary><c>llama_vocab_is_eog</c> of every token.</summary>
    public bool[] EndOfGeneration() => NativeThread.Run(() =>
    {
        int n = LlamaNative.llama_vocab_n_tokens(Handle);
        bool[] eog = new bool[n];
        for (int i = 0; i < n; i++)
        {
            eog[i] = LlamaVocabNative.llama_vocab_is_eog(Handle, i);
        }

        return eog;
    });

    public void Dispose() => NativeThread.Run(() =>
    {
        LlamaNative.llama_model_free(_model);
        return 0;
    });
}

/// <summary>One long-lived thread with a large stack that runs native calls in order.</summary>
internal static class NativeThread
{
    private static readonly BlockingCollection<Action> Work = [];
    private static readonly Thread Worker = Start();

    public static T Run<T>(Func<T> call)
    {
        _ = Worker;
        T result = default!;
        Exception? failure = null;
        using var done = new ManualResetEventSlim();
        Work.Add(() =>
        {
            try
            {
                result = call();
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                done.Set();
            }
        });
        done.Wait();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }

        return result;
    }

    private static Thread Start()
    {
        var thread = new Thread(() =>
        {
            foreach (Action action in Work.GetConsumingEnumerable())
            {
                action();
            }
        }, 512 * 1024 * 1024)
        {
            IsBackground = true,
            Name = "llama.cpp tokenizer",
        };
        thread.Start();
        return thread;
    }
}
