using Gguf.LlamaCpp;
using Xunit;

namespace Gguf.Testing;

/// <summary>Skips the calling test, with a message saying why, when an optional prerequisite is missing.</summary>
internal static class Requires
{
    /// <summary>Skips when llama.cpp's native libraries have no build for this platform or cannot be loaded.</summary>
    public static void LlamaCpp()
    {
        if (!NativeLibraries.IsAvailable)
        {
            Assert.Skip(NativeLibraries.UnavailableReason ?? "llama.cpp's native libraries are not available");
        }
    }
}
