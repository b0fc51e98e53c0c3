namespace Gguf.Conformance.Support;

/// <summary>Sizes of the randomized parts of the suite, overridable through environment variables.</summary>
internal static class Campaign
{
    public static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int v) && v > 0 ? v : fallback;
}
