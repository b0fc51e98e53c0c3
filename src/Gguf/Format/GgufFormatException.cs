namespace Gguf.Format;

/// <summary>
/// A GGUF file is malformed, or holds something other than what a caller was promised.
/// (It derives from <see cref="FormatException"/> because <see cref="InvalidDataException"/> is sealed.)
/// Carries an error code, the byte offset and, where known, the field, key or tensor name.
/// </summary>
public sealed class GgufFormatException : FormatException
{
    /// <summary>Creates an exception.</summary>
    public GgufFormatException(GgufErrorCode code, long offset, string description, string? field = null, string? key = null, string? tensorName = null)
        : base(BuildMessage(description, offset, key, tensorName))
    {
        Code = code;
        Offset = offset;
        Description = description;
        Field = field;
        Key = key;
        TensorName = tensorName;
    }

    /// <summary>Creates an exception with a plain message (code <see cref="GgufErrorCode.Truncated"/>, offset 0).</summary>
    public GgufFormatException()
        : this(GgufErrorCode.Truncated, 0, "malformed GGUF file")
    {
    }

    /// <summary>Creates an exception with a plain message (code <see cref="GgufErrorCode.Truncated"/>, offset 0).</summary>
    public GgufFormatException(string message)
        : this(GgufErrorCode.Truncated, 0, message)
    {
    }

    /// <summary>Creates an exception with a plain message and an inner exception.</summary>
    public GgufFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = GgufErrorCode.Truncated;
        Description = message;
    }

    /// <summary>What kind of malformation this is.</summary>
    public GgufErrorCode Code { get; }

    /// <summary>The absolute byte offset in the file where the offending field starts.</summary>
    public long Offset { get; }

    /// <summary>The message without the key, tensor and offset suffix.</summary>
    public string Description { get; }

    /// <summary>The field being read, e.g. <c>tensor.offset</c>.</summary>
    public string? Field { get; }

    /// <summary>The metadata key involved, when known.</summary>
    public string? Key { get; }

    /// <summary>The tensor involved, when known.</summary>
    public string? TensorName { get; }

    private static string BuildMessage(string description, long offset, string? key, string? tensorName)
    {
        string where = key is not null ? $" (key '{key}')" : tensorName is not null ? $" (tensor '{tensorName}')" : "";
        return $"{description}{where} at offset {offset}";
    }
}
