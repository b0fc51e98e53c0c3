using Gguf.Conformance.Support;

namespace Gguf.Conformance.Native;

/// <summary>What llama.cpp makes of a file.</summary>
internal enum Verdict
{
    /// <summary>llama.cpp parsed the file.</summary>
    Accept,

    /// <summary>llama.cpp returned an error.</summary>
    Reject,

    /// <summary>llama.cpp aborted, crashed or hung (only seen through the child process).</summary>
    Crash,
}

/// <summary>A verdict with the parser's message (reject/crash) or the digest of what it read (accept).</summary>
internal sealed record VerdictResult(Verdict Verdict, string Detail);

/// <summary>
/// Judges a file the way llama.cpp's model loader does before it touches tensor data:
/// <c>gguf_init_from_file</c> with <c>no_alloc = true</c>, then every tensor's data must lie inside the file
/// (llama_model_loader: "tensor data is not within the file bounds"), because gguf.cpp itself does not check
/// that with no_alloc (reference G7). <see cref="JudgeBlob"/> instead uses <c>no_alloc = false</c>, which reads
/// the whole padded data blob.
/// </summary>
internal static class NativeVerdict
{
    public static VerdictResult Judge(string path)
    {
        var snapshot = NativeGgufReader.TryRead(path, withData: false, out string error);
        if (snapshot is null)
        {
            return new VerdictResult(Verdict.Reject, error);
        }

        long fileSize = new FileInfo(path).Length;
        foreach (var t in snapshot.Tensors)
        {
            // Same arithmetic as the loader: offs = data_offset + offset; offs + nbytes must not pass the end.
            ulong offs = snapshot.DataOffset + t.Offset;
            if (offs < snapshot.DataOffset || offs + t.Size < offs || offs + t.Size > (ulong)fileSize)
            {
                return new VerdictResult(Verdict.Reject, $"tensor '{t.NameText}' data is not within the file bounds");
            }
        }

        return new VerdictResult(Verdict.Accept, snapshot.Digest());
    }

    public static VerdictResult JudgeBlob(string path)
    {
        var snapshot = NativeGgufReader.TryRead(path, withData: true, out string error);
        return snapshot is null ? new VerdictResult(Verdict.Reject, error) : new VerdictResult(Verdict.Accept, snapshot.Digest());
    }
}
