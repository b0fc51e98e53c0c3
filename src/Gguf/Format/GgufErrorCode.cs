namespace Gguf.Format;

/// <summary>Why a GGUF file was rejected. Each malformed-input class has its own code.</summary>
public enum GgufErrorCode
{
    /// <summary>The file ends inside a field.</summary>
    Truncated = 1,
    /// <summary>The first four bytes are not <c>GGUF</c>.</summary>
    BadMagic,
    /// <summary>Version 0, 1 or above 3.</summary>
    UnsupportedVersion,
    /// <summary>The version reads as a byte-swapped number: the file is big-endian.</summary>
    BigEndianFile,
    /// <summary>The tensor count is negative or above the limit.</summary>
    TensorCountOutOfRange,
    /// <summary>The metadata count is negative or above the limit.</summary>
    MetadataCountOutOfRange,
    /// <summary>A count promises more entries than the remaining bytes can hold.</summary>
    CountExceedsFile,
    /// <summary>A string is longer than the limit.</summary>
    StringTooLong,
    /// <summary>A string runs past the end of the file.</summary>
    StringPastEnd,
    /// <summary>A metadata key is empty.</summary>
    EmptyKey,
    /// <summary>A key or tensor name is not valid UTF-8 or contains a NUL byte.</summary>
    InvalidName,
    /// <summary>A metadata key is longer than the limit.</summary>
    KeyTooLong,
    /// <summary>Two metadata entries have the same key.</summary>
    DuplicateKey,
    /// <summary>A value type (or array element type) id is not 0–12.</summary>
    InvalidValueType,
    /// <summary>Arrays are nested deeper than the limit.</summary>
    ArrayNestingTooDeep,
    /// <summary>An array has more elements than the limit.</summary>
    ArrayTooLong,
    /// <summary>An array runs past the end of the file.</summary>
    ArrayPastEnd,
    /// <summary>A bool byte is neither 0 nor 1.</summary>
    InvalidBool,
    /// <summary><c>general.alignment</c> is not a UINT32.</summary>
    AlignmentWrongType,
    /// <summary><c>general.alignment</c> is zero or not a power of two.</summary>
    AlignmentNotPowerOfTwo,
    /// <summary><c>general.alignment</c> is above the limit.</summary>
    AlignmentTooLarge,
    /// <summary>A tensor name is longer than the limit (63 bytes, as in llama.cpp).</summary>
    TensorNameTooLong,
    /// <summary>Two tensors have the same name.</summary>
    DuplicateTensorName,
    /// <summary>A tensor has more than 4 dimensions.</summary>
    TooManyDimensions,
    /// <summary>A tensor dimension is negative.</summary>
    NegativeDimension,
    /// <summary>A tensor dimension is zero.</summary>
    ZeroDimension,
    /// <summary>The product of a tensor's dimensions does not fit in a signed 64-bit integer.</summary>
    ElementCountOverflow,
    /// <summary>A tensor type id is outside 0–42.</summary>
    InvalidTensorType,
    /// <summary>A tensor type id was removed from ggml (4, 5, 31–33, 36–38).</summary>
    RemovedTensorType,
    /// <summary>The first dimension is not a multiple of the type's block size.</summary>
    NotBlockMultiple,
    /// <summary>A tensor's byte size, or its padded size, does not fit in a signed 64-bit integer.</summary>
    TensorSizeOverflow,
    /// <summary>The sum of padded tensor sizes overflows.</summary>
    RunningSizeOverflow,
    /// <summary>The aligned start of the tensor data lies past the end of the file.</summary>
    DataOffsetPastEnd,
    /// <summary>A tensor offset is not a multiple of the alignment.</summary>
    TensorOffsetMisaligned,
    /// <summary>A tensor offset is not where llama.cpp's packed layout puts it.</summary>
    TensorOffsetNotPacked,
    /// <summary>Two tensors' data ranges overlap.</summary>
    TensorOverlap,
    /// <summary>A tensor's data runs past the end of the file.</summary>
    TensorDataPastEnd,
    /// <summary>The header is larger than the reader accepts.</summary>
    HeaderTooLarge,
    /// <summary>A metadata value has a different type than the caller asked for.</summary>
    TypeMismatch,
    /// <summary>The files of a split model do not fit together.</summary>
    SplitMismatch,
    /// <summary>
    /// A metadata key a reader needs is absent: a key the file's architecture requires (offset: the
    /// <c>general.architecture</c> entry), or a tokenizer key such as <c>tokenizer.ggml.tokens</c> (offset 0).
    /// </summary>
    MissingKey,
    /// <summary>A hyperparameter has a value its architecture cannot use (an array of the wrong length, an impossible count).</summary>
    InvalidHyperparameter,
    /// <summary>
    /// Tokenizer metadata is inconsistent: arrays of different lengths, a duplicate token, a merge that names
    /// an unknown token, a token id out of range, or a token the vocabulary's rules require is missing.
    /// </summary>
    InvalidTokenizer,
}
