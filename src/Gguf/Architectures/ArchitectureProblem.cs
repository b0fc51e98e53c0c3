using Gguf.Format;
using Gguf.Model;

namespace Gguf.Architectures;

/// <summary>What is wrong with a file measured against its architecture.</summary>
public enum ArchitectureProblemKind
{
    /// <summary>A key llama.cpp requires is absent.</summary>
    MissingKey,

    /// <summary>A key has another value type than llama.cpp reads it as.</summary>
    WrongKeyType,

    /// <summary>A key's value cannot be used (a per-layer array of the wrong length, an impossible count).</summary>
    InvalidHyperparameter,

    /// <summary>A tensor llama.cpp requires is absent.</summary>
    MissingTensor,

    /// <summary>The file has a tensor llama.cpp does not create (it then fails with "wrong number of tensors").</summary>
    UnexpectedTensor,

    /// <summary>A tensor's shape differs from the one the hyperparameters give.</summary>
    WrongShape,

    /// <summary>A tensor's type is one llama.cpp loads but cannot compute with in that role (a warning).</summary>
    UnusualType,
}

/// <summary>One problem, naming the key or tensor it is about.</summary>
/// <param name="Kind">What is wrong.</param>
/// <param name="Subject">The metadata key or tensor name.</param>
/// <param name="Message">One line for a person, naming the subject.</param>
/// <param name="Offset">The byte offset of the key or tensor info in the file, when it is present.</param>
/// <param name="Expected">The expected shape (ne order), for shape problems.</param>
/// <param name="Found">The shape found in the file, for shape problems.</param>
public sealed record ArchitectureProblem(
    ArchitectureProblemKind Kind,
    string Subject,
    string Message,
    long? Offset = null,
    IReadOnlyList<long>? Expected = null,
    IReadOnlyList<long>? Found = null)
{
    /// <summary>Whether llama.cpp would refuse the file for this problem (false only for <see cref="ArchitectureProblemKind.UnusualType"/>).</summary>
    public bool IsError => Kind != ArchitectureProblemKind.UnusualType;

    /// <summary>Whether the subject is a metadata key (else a tensor).</summary>
    public bool IsAboutKey => Kind is ArchitectureProblemKind.MissingKey or ArchitectureProblemKind.WrongKeyType or ArchitectureProblemKind.InvalidHyperparameter;

    /// <summary>The problem as the exception the typed readers throw.</summary>
    public GgufFormatException ToException(long fallbackOffset)
    {
        GgufErrorCode code = Kind switch
        {
            ArchitectureProblemKind.MissingKey => GgufErrorCode.MissingKey,
            ArchitectureProblemKind.WrongKeyType => GgufErrorCode.TypeMismatch,
            _ => GgufErrorCode.InvalidHyperparameter,
        };
        return IsAboutKey
            ? new GgufFormatException(code, Offset ?? fallbackOffset, Message, key: Subject)
            : new GgufFormatException(code, Offset ?? fallbackOffset, Message, tensorName: Subject);
    }

    /// <inheritdoc />
    public override string ToString() => Message;

    internal static string Shape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";
}
