using Gguf.Conformance.Native;

namespace Gguf.Conformance.Tokenization;

/// <summary>
/// Whether llama.cpp loads a file's vocabulary (a <c>vocab_only</c> model load), for the probe child
/// process: some malformed vocabularies make llama.cpp abort (a duplicate token trips a GGML_ASSERT in
/// this build), so tests ask through <see cref="Probe.ProbeClient.JudgeVocab"/>.
/// </summary>
internal static class VocabVerdict
{
    public static VerdictResult Judge(string path)
    {
        using LlamaVocab? vocab = LlamaVocab.TryLoad(path, out string error);
        return vocab is null ? new VerdictResult(Verdict.Reject, error) : new VerdictResult(Verdict.Accept, "loaded");
    }
}
