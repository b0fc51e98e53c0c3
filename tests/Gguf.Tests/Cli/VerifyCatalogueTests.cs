using Gguf.Cli;
using Gguf.Testing;
using Gguf.Tests.Format.Hostile;
using Gguf.Tests.Support;

namespace Gguf.Tests.Cli;

/// <summary><c>gguf verify</c> on every class of the malformed-file catalogue: exit 2, the code and the offset.</summary>
public sealed class VerifyCatalogueTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string> DefaultOptionCases =>
        [.. MalformedCatalogue.Cases.Values.Where(c => c.Options is null).Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(DefaultOptionCases))]
    public void Verify_MalformedClass_ExitsTwoWithCodeAndOffset(string name)
    {
        MalformedCase malformed = MalformedCatalogue.Cases[name];
        string path = malformed.File.Length == 0 ? _temp.File("absent") : _temp.Write("case.gguf", malformed.File);
        (int code, string output, string error) = CliRunner.Run("verify", path);

        Assert.Equal(2, code);
        Assert.Empty(output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {malformed.Code} at offset {malformed.Offset}: ", line);
    }
}
