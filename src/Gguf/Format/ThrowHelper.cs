using System.Diagnostics.CodeAnalysis;

namespace Gguf.Format;

/// <summary>Throw helpers kept out of line so the parser's hot paths stay small.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void Format(GgufErrorCode code, long offset, string description, string? field = null, string? key = null, string? tensorName = null)
        => throw new GgufFormatException(code, offset, description, field, key, tensorName);

    [DoesNotReturn]
    public static T Format<T>(GgufErrorCode code, long offset, string description, string? field = null, string? key = null, string? tensorName = null)
        => throw new GgufFormatException(code, offset, description, field, key, tensorName);

    [DoesNotReturn]
    public static void Truncated(long offset, string field, long needed, long available, string? key = null, string? tensorName = null)
        => throw new GgufFormatException(
            GgufErrorCode.Truncated,
            offset,
            $"file ends inside {field}: {needed} bytes needed, {Math.Max(0, available)} left",
            field,
            key,
            tensorName);
}
