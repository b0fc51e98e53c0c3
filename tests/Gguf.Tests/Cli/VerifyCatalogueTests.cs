using Gguf.Cli;
using Gguf.Testing;
using Gguf.Tests.Hostile;
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
        var output = new StringWriter();
        var error = new StringWriter();

        int code = CliApp.Run(["verify", path], output, error);

        Assert.Equal(2, code);
        Assert.Empty(output.ToString());
        string line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {malformed.Code} at offset {malformed.Offset}: ", line);
    }
}
