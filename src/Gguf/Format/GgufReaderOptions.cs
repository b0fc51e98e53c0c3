namespace Gguf.Format;

/// <summary>
/// Limits and strictness for reading untrusted GGUF files. The defaults accept every file llama.cpp
/// writes and reject everything llama.cpp rejects, plus the gaps listed in docs/security.md.
/// </summary>
public sealed record GgufReaderOptions
{
    /// <summary>The default options.</summary>
    public static GgufReaderOptions Default { get; } = new();

    /// <summary>
    /// The defaults plus llama.cpp's one rule that is stricter than the spec: no arrays nested in arrays.
    /// With these options every file llama.cpp rejects is rejected too (docs/conformance.md).
    /// </summary>
    public static GgufReaderOptions LlamaCppCompatible { get; } = new() { MaxArrayDepth = 1 };

    /// <summary>Largest string in bytes (llama.cpp: 1 GiB).</summary>
    public long MaxStringBytes { get; init; } = 1L << 30;

    /// <summary>Largest metadata key in bytes (the spec's 65535).</summary>
    public int MaxKeyBytes { get; init; } = 65535;

    /// <summary>Largest number of elements in one array (llama.cpp: 1 Gi).</summary>
    public long MaxArrayElements { get; init; } = 1L << 30;

    /// <summary>
    /// Deepest nesting of arrays in arrays; 1 means arrays of scalars and strings only (llama.cpp).
    /// At most <see cref="ArrayDepthCeiling"/>: the reader recurses once per level.
    /// </summary>
    public int MaxArrayDepth
    {
        get => _maxArrayDepth;
        init => _maxArrayDepth = value is >= 1 and <= ArrayDepthCeiling
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxArrayDepth), value, $"must be between 1 and {ArrayDepthCeiling}");
    }

    /// <summary>The largest <see cref="MaxArrayDepth"/> allowed, far inside any thread's stack.</summary>
    public const int ArrayDepthCeiling = 256;

    private readonly int _maxArrayDepth = 8;

    /// <summary>Most metadata entries.</summary>
    public long MaxMetadataCount { get; init; } = 1_000_000;

    /// <summary>Most tensors.</summary>
    public long MaxTensorCount { get; init; } = 10_000_000;

    /// <summary>Longest tensor name in bytes (llama.cpp: below GGML_MAX_NAME = 64).</summary>
    public int MaxTensorNameBytes { get; init; } = 63;

    /// <summary>Most dimensions of a tensor (GGML_MAX_DIMS).</summary>
    public int MaxDimensions { get; init; } = 4;

    /// <summary>Largest <c>general.alignment</c>.</summary>
    public uint MaxAlignment { get; init; } = 1u << 30;

    /// <summary>Largest header (metadata and tensor infos) in bytes.</summary>
    public int MaxHeaderBytes { get; init; } = int.MaxValue;

    /// <summary>
    /// Require llama.cpp's layout: each tensor's offset equals the sum of the padded sizes of the tensors
    /// before it. When false, only the spec's rules apply: aligned, inside the file and non-overlapping.
    /// </summary>
    public bool RequirePackedTensors { get; init; } = true;

    /// <summary>
    /// Accept tensors with a zero dimension (true by default): a zero-element tensor has size 0 and an empty view,
    /// llama.cpp's writer makes such files and its reader accepts them. False rejects them with
    /// <see cref="GgufErrorCode.ZeroDimension"/>, for consumers that cannot handle empty tensors.
    /// </summary>
    public bool AllowZeroDimensions { get; init; } = true;
}
