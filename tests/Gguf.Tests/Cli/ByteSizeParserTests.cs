using Gguf.Cli.Commands;
using Gguf.Loading;
using Xunit;

namespace Gguf.Tests.Cli;

public sealed class ByteSizeParserTests
{
    [Theory]
    [InlineData("4096", 4096)]
    [InlineData("64K", 65536)]
    [InlineData("1MiB", 1048576)]
    [InlineData("1 MiB", 1048576)]
    [InlineData("2GB", 2147483648)]
    [InlineData("1.5KiB", 1536)]
    public void Parse_Sizes(string text, long expected) => Assert.Equal(expected, ByteSizeParser.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("MiB")]
    [InlineData("12 parsecs")]
    [InlineData("1.3B")]
    public void Parse_Garbage_Throws(string text) => Assert.Throws<FormatException>(() => ByteSizeParser.Parse(text));

    [Fact]
    public void Format_BinaryUnits()
    {
        Assert.Equal("512 B", ByteSize.Format(512));
        Assert.Equal("1.0 MiB", ByteSize.Format(1 << 20));
        Assert.Equal("2.5 GiB", ByteSize.Format(5L << 29));
    }
}
