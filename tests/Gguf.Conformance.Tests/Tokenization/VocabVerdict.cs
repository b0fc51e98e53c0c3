using Gguf.Conformance.Native;
using Gguf.LlamaCpp;
using Gguf.Testing;

namespace Gguf.Conformance.Tokenization;

/// <summary>
/// Whether llama.cpp loads a file's vocabulary (a <c>vocab_only</c> model load), for the probe child
/// process: some malformed vocabularies make llama.cpp abort (a duplicate token trips a GGML_ASSERT in
/// this build), so tests ask through the probe (<c>ProbeClient.Request(VocabVerdict.Mode, path)</c>).
/// </summary>
internal static class VocabVerdict
{
    /// <summary>The probe request mode (<c>vocab\tPATH</c>).</summary>
    public const string Mode = "vocab";

    public static VerdictResult Judge(string path)
    {
        using LlamaVocab? vocab = LlamaVocab.TryLoad(path, out string error);
        return vocab is null ? new VerdictResult(Verdict.Reject, error) : new VerdictResult(Verdict.Accept, "loaded");
    }
}
