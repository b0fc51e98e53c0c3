using Gguf.Format;
using Gguf.IO;
using Gguf.Model;
using Gguf.Testing;
using Xunit;

namespace Gguf.Tests.Format.Hostile;

/// <summary>Assertions shared by the hostile-input tests.</summary>
internal static class HostileSupport
{
    /// <summary>
    /// Runs <paramref name="action"/> and asserts that it throws exactly a <see cref="GgufFormatException"/>;
    /// any other exception fails with its full text, so a wrong-type crash is visible.
    /// </summary>
    public static GgufFormatException Rejects(Action action, string context)
    {
        try
        {
            action();
        }
        catch (GgufFormatException e)
        {
            return e;
        }
        catch (Exception e)
        {
            Assert.Fail($"{context}: expected GgufFormatException, got {e}");
        }

        Assert.Fail($"{context}: the file was accepted, but it must be rejected");
        return null!;
    }

    /// <summary>Opens a file on disk and reads every tensor's bytes, as a consumer would.</summary>
    public static void OpenAndTouchEverything(string path, GgufReaderOptions? options = null)
    {
        using GgufFile file = GgufFile.Open(path, options);
        TouchEverything(file);
    }

    /// <summary>Decodes every metadata value and sums every tensor byte.</summary>
    public static long TouchEverything(GgufFile file) => FuzzOracle.TouchFile(file);
}


/// <summary>Shorthand for catching the mapping layer's own exception where an empty file is expected.</summary>
internal static class MappedErrors
{
    public static bool IsEmptyFile(Exception e) => e is MappedFileException { Error: MappedFileError.Empty };
}
