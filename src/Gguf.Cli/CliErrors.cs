using Gguf.Format;
using Gguf.IO;

namespace Gguf.Cli;

/// <summary>Turns failures into one line on stderr and an exit code: 2 for format errors, 1 for I/O.</summary>
internal static class CliErrors
{
    /// <summary>Exit code of a malformed file.</summary>
    public const int FormatError = 2;

    /// <summary>Exit code of an I/O, capacity or other runtime error.</summary>
    public const int IoError = 1;

    /// <summary>Runs <paramref name="body"/> and reports any failure.</summary>
    public static int Guard(CliConsole console, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            return Report(console, e);
        }
    }

    /// <summary>Runs <paramref name="body"/> and reports any failure.</summary>
    public static async Task<int> GuardAsync(CliConsole console, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return Report(console, e);
        }
    }

    /// <summary>Writes one line for <paramref name="e"/> and returns its exit code.</summary>
    public static int Report(CliConsole console, Exception e)
    {
        switch (e)
        {
            case GgufFormatException format:
                console.Error.WriteLine($"error: {format.Code} at offset {format.Offset}: {Detail(format)}");
                return FormatError;
            case OperationCanceledException:
                console.Error.WriteLine("error: cancelled");
                return 130;
            case MappedFileException or IOException or UnauthorizedAccessException:
                console.Error.WriteLine($"error: {e.Message}");
                return IoError;
            default:
                console.Error.WriteLine($"error: {e.GetType().Name}: {e.Message}");
                return IoError;
        }
    }

    private static string Detail(GgufFormatException e) =>
        e.Key is not null ? $"{e.Description} (key '{e.Key}')" :
        e.TensorName is not null ? $"{e.Description} (tensor '{e.TensorName}')" :
        e.Description;
}
