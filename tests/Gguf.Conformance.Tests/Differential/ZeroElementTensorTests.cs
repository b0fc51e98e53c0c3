using System.Text.Json;
using Gguf.Cli;
using Gguf.Conformance.Native;
using Gguf.Conformance.Probe;
using Gguf.Conformance.Support;
using Gguf.Testing;

namespace Gguf.Conformance.Differential;

/// <summary>
/// Zero-element tensors (a dimension of 0) written by llama.cpp's own writer: <c>gguf verify</c> accepts them,
/// <c>gguf dump --json</c> reports the shapes, offsets and zero sizes llama.cpp wrote, and where this build of
/// llama.cpp can read the file back (a zero in the first dimension only), both readings agree field for field.
/// </summary>
public sealed class ZeroElementTensorTests(ProbeFixture fixture) : IClassFixture<ProbeFixture>
{
    // A zero dimension after the first needs a later dimension above 1: llama.cpp's writer records ggml_n_dims,
    // which treats trailing zeros like trailing ones and drops them (see the trailing-zero test below).
    public static TheoryData<string, long[]> Shapes => new()
    {
        { "first", [0, 4] },
        { "only", [0] },
        { "second", [8, 0, 2] },
        { "third", [8, 2, 0, 3] },
        { "first-and-later", [0, 0, 2] },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task LlamaCppWritesZeroElementTensor_VerifyAcceptsAndDumpAgrees(string name, long[] shape)
    {
        Requires.LlamaCpp();
        using var dir = new TempDir();
        var rng = new Random(name.Length);
        var before = new byte[32];
        var after = new byte[64];
        rng.NextBytes(before);
        rng.NextBytes(after);
        var tensors = new List<TensorSpec>
        {
            new("before", 0, [8], before),
            new("empty." + name, 0, shape, []),
            new("empty.q4_0", 2, [0, 3], []),
            new("after", 1, [32], after),
        };
        string path = dir.File($"zero-{name}.gguf");
        NativeGgufWriter.Write(path, [Kv.Str("general.architecture", "conformance")], tensors);

        var verifyOut = new StringWriter();
        var verifyErr = new StringWriter();
        int verified = await CliApp.RunAsync(["verify", path], verifyOut, verifyErr, TestContext.Current.CancellationToken);
        Assert.True(verified == 0, verifyErr.ToString());
        Assert.Equal("ok", verifyOut.ToString().Trim());

        var dumpOut = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["dump", path, "--json"], dumpOut, new StringWriter(), TestContext.Current.CancellationToken));
        using JsonDocument dump = JsonDocument.Parse(dumpOut.ToString());
        JsonElement[] dumped = [.. dump.RootElement.GetProperty("tensors").EnumerateArray()];
        Assert.Equal(tensors.Select(t => t.Name), dumped.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(0, dumped[1].GetProperty("size").GetInt64());
        Assert.Equal(0, dumped[2].GetProperty("size").GetInt64());
        Assert.Equal(shape, dumped[1].GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));

        // The empty tensors take no room: the tensor after them sits right after the padded first one.
        Assert.Equal(32, dumped[3].GetProperty("offset").GetInt64());

        var native = fixture.Probe.Judge(path);
        if (shape.AsSpan(1).Contains(0))
        {
            // L2: this build divides by a zero dimension after the first; upstream accepts the file since #25596.
            Assert.NotEqual(Verdict.Accept, native.Verdict);
            return;
        }

        Assert.Equal(Verdict.Accept, native.Verdict);
        var nativeSnapshot = NativeGgufReader.TryRead(path, withData: true, out string error);
        Assert.True(nativeSnapshot is not null, error);
        Assert.Null(GgufSnapshot.FirstDifference(nativeSnapshot, OurGguf.Read(path, withData: true)));
    }

    /// <summary>
    /// llama.cpp's writer drops a trailing zero dimension (ggml_n_dims counts it as 1) yet sizes the tensor as
    /// empty, so the next tensor's offset contradicts the shape it wrote: both readers reject that file.
    /// </summary>
    [Fact]
    public async Task LlamaCppWritesTrailingZeroDimension_BothReject()
    {
        Requires.LlamaCpp();
        using var dir = new TempDir();
        string path = dir.File("trailing-zero.gguf");
        NativeGgufWriter.Write(path, [Kv.Str("general.architecture", "conformance")], [new("empty", 0, [8, 0], []), new("next", 0, [8], new byte[32])]);

        var error = new StringWriter();
        Assert.Equal(2, await CliApp.RunAsync(["verify", path], new StringWriter(), error, TestContext.Current.CancellationToken));
        Assert.Contains("TensorOffsetNotPacked", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(Verdict.Reject, fixture.Probe.Judge(path).Verdict);
    }
}
