using System.Text;
using System.Text.Json;
using Gguf.Format;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Tests.Support;
using Gguf.Tokenization;

namespace Gguf.Tests.Tokenization;

/// <summary><c>gguf tokenize</c> and <c>gguf detokenize</c>: output formats, flags, and the CLI's error contract.</summary>
public sealed class TokenizerCliTests : IDisposable
{
    private readonly TempDirectory _dir = new("gguf-tokenizer-cli");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Tokenize_PrintsTheIdsOfEncode()
    {
        string path = TestVocabularies.SentencePiece().Write(_dir, "spm.gguf");
        GgufTokenizer t = Open(path);
        (int code, string output, string error) = CliRunner.Run("tokenize", path, "--text", "hello world</s>");
        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Equal(string.Join(' ', t.Encode("hello world</s>")), output.Trim());
        Assert.Contains(t.Eos.ToString(System.Globalization.CultureInfo.InvariantCulture), output.Split(' ', StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void Tokenize_Flags_TurnOffSpecialTokens()
    {
        string path = TestVocabularies.SentencePiece().Write(_dir, "spm.gguf");
        GgufTokenizer t = Open(path);
        (int code, string output, _) = CliRunner.Run("tokenize", path, "--text", "hi</s>", "--no-add-special", "--no-parse-special");
        Assert.Equal(0, code);
        Assert.Equal(string.Join(' ', t.Encode("hi</s>", addSpecial: false, parseSpecial: false)), output.Trim());
        Assert.DoesNotContain(t.Bos.ToString(System.Globalization.CultureInfo.InvariantCulture), output.Split(' ', StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void Tokenize_Json_HasTokensAndPieces()
    {
        string path = TestVocabularies.Bpe().Write(_dir, "bpe.gguf");
        GgufTokenizer t = Open(path);
        (int code, string output, _) = CliRunner.Run("tokenize", path, "--text", " Hello world<|im_end|>", "--json");
        Assert.Equal(0, code);
        using JsonDocument json = JsonDocument.Parse(output);
        int[] tokens = json.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        string[] pieces = json.RootElement.GetProperty("pieces").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(t.Encode(" Hello world<|im_end|>"), tokens);
        Assert.Equal([" Hello", " world", "<|im_end|>"], pieces);
    }

    [Fact]
    public void Tokenize_TextFile_IsTakenAsRawBytes()
    {
        string path = TestVocabularies.SentencePiece().Write(_dir, "spm.gguf");
        byte[] bytes = [.. "ab "u8, 0xFF, 0xC3, .. " cd"u8];
        string textFile = _dir.Write("input.bin", bytes);
        (int code, string output, _) = CliRunner.Run("tokenize", path, "--text-file", textFile);
        Assert.Equal(0, code);
        Assert.Equal(string.Join(' ', Open(path).Encode(bytes)), output.Trim());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tokenize_NeitherOrBothTextOptions_OneLineExitOne(bool both)
    {
        string path = TestVocabularies.SentencePiece().Write(_dir, "spm.gguf");
        string[] args = both ? ["tokenize", path, "--text", "a", "--text-file", path] : ["tokenize", path];
        (int code, string output, string error) = CliRunner.Run(args);
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Equal("error: give exactly one of --text and --text-file", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public void Tokenize_MissingFile_OneLineExitOne()
    {
        string missing = _dir.File("absent.gguf");
        (int code, _, string error) = CliRunner.Run("tokenize", missing, "--text", "a");
        Assert.Equal(1, code);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains(missing, line);
    }

    [Fact]
    public void Tokenize_MalformedTokenizer_OneLineExitTwo()
    {
        var v = TestVocabularies.Bpe().Set("tokenizer.ggml.merges", GgufValue.FromStrings(["zz q"]));
        (int code, string output, string error) = CliRunner.Run("tokenize", v.Write(_dir, "bad.gguf"), "--text", "a");
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Matches(@"^error: InvalidTokenizer at offset \d+: .*'zz'.*\(key 'tokenizer\.ggml\.merges'\)$", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)).TrimEnd('\r'));
    }

    [Fact]
    public void Tokenize_UnsupportedTokenizer_OneLineExitOne()
    {
        var v = TestVocabularies.SentencePiece().Set("tokenizer.ggml.model", GgufValue.String("rwkv"));
        (int code, _, string error) = CliRunner.Run("tokenize", v.Write(_dir, "rwkv.gguf"), "--text", "a");
        Assert.Equal(1, code);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("rwkv", line, StringComparison.Ordinal);
        Assert.Contains("tokenizer.ggml.model", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Detokenize_PrintsTheTextOfDecode()
    {
        string path = TestVocabularies.SentencePiece().Write(_dir, "spm.gguf");
        GgufTokenizer t = Open(path);
        int[] ids = t.Encode("hello world</s>");
        string[] args = ["detokenize", path, .. ids.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        (int code, string output, string error) = CliRunner.Run(args);
        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Equal(t.Decode(ids, removeSpecial: false, unparseSpecial: true) + Environment.NewLine, output);
        Assert.Equal("<s> hello world</s>" + Environment.NewLine, output);

        (_, string removed, _) = CliRunner.Run([.. args, "--remove-special", "--no-unparse-special"]);
        Assert.Equal(" hello world" + Environment.NewLine, removed);
    }

    [Fact]
    public void Detokenize_IdOutOfRange_OneLineExitOne()
    {
        string path = TestVocabularies.SentencePiece().Write(_dir, "spm.gguf");
        (int code, string output, string error) = CliRunner.Run("detokenize", path, "5", "999999");
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Equal("error: token id 999999 is out of range (the vocabulary has 280 tokens)", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)).TrimEnd('\r'));
    }

    private static GgufTokenizer Open(string path)
    {
        using Gguf.Model.GgufFile file = Gguf.Model.GgufFile.Open(path);
        return GgufTokenizer.FromFile(file);
    }
}
