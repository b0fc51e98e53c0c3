using System.Runtime.InteropServices;
using System.Text;
using Gguf.Cli;
using Gguf.Conformance.Models;
using Gguf.Conformance.Native;
using Gguf.Conformance.Support;
using Gguf.Format;
using Gguf.LlamaCpp;
using Gguf.Model;
using Gguf.Testing;
using Gguf.Writing;

namespace Gguf.Conformance.Editing;

/// <summary>
/// Issue 14, item 3, against llama.cpp: after any edit llama.cpp's gguf reader sees the new values and the same
/// tensor bytes, and llama.cpp loads and runs the edited tiny models with bit-identical logits.
/// </summary>
public sealed class EditConformanceTests(TinyModelFixture models) : IClassFixture<TinyModelFixture>, IDisposable
{
    private const string Prompt = "Hello world, the tiny model is a test.";
    private readonly TempDirectory _dir = new("gguf-conf-edit");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Modes => new("atomic", "in-place", "realign-64", "realign-1", "remove");

    /// <summary>The values the differential test sets: every type llama.cpp reads (nested arrays aside, which it rejects).</summary>
    private static List<KvSnapshot> NewValues() =>
    [
        Kv.Str(GgufKeys.Name, "edited name ✓"),
        Kv.U8("edit.u8", 200),
        Kv.I8("edit.i8", -100),
        Kv.U16("edit.u16", 60000),
        Kv.I16("edit.i16", -30000),
        Kv.U32("edit.u32", 4_000_000_000),
        Kv.I32("edit.i32", -2_000_000_000),
        Kv.F32("edit.f32", 1.5f),
        Kv.Bool("edit.bool", true),
        Kv.U64("edit.u64", ulong.MaxValue),
        Kv.I64("edit.i64", long.MinValue),
        Kv.F64("edit.f64", Math.E),
        Kv.Str("edit.str", "line one\nline two"),
        Kv.Strings("edit.strs", ["", "a", "ünï"]),
        Kv.F32s("edit.f32s", [0f, -2.5f, float.MaxValue]),
        Kv.I32s("edit.i32s", [int.MinValue, 0, int.MaxValue]),
        Kv.Array("edit.u8s", GgufNativeType.UINT8, [1, 2, 3]),
        Kv.Array("edit.u64s", GgufNativeType.UINT64, new byte[16]),
    ];

    [Theory]
    [MemberData(nameof(Modes))]
    public void Edit_LlamaCppReadsTheNewValuesAndTheSameTensorBytes(string mode)
    {
        Requires.LlamaCpp();
        string path = _dir.File($"diff-{mode}.gguf");
        var (kvs, tensors) = TinyModel.BuildParts("llama");
        if (mode == "in-place")
        {
            // A long name the in-place edit shortens: the padding entry fills the gap.
            kvs[kvs.FindIndex(k => k.KeyText == GgufKeys.Name)] = Kv.Str(GgufKeys.Name, new string('n', 400));
        }

        OurGguf.Write(path, kvs, tensors);
        GgufSnapshot before = NativeGgufReader.TryRead(path, withData: true, out string error) ?? throw new InvalidOperationException(error);

        var expected = kvs.ToList();
        using (GgufFile file = GgufFile.Open(path))
        {
            var editor = new GgufEditor(file);
            var options = GgufSaveOptions.Default;
            switch (mode)
            {
                case "in-place":
                    editor.Set(GgufKeys.Name, GgufValue.String("short"));
                    editor.Set("edit.u32", GgufValue.UInt32(7));
                    Replace(expected, Kv.Str(GgufKeys.Name, "short"));
                    Replace(expected, Kv.U32("edit.u32", 7));
                    options = new GgufSaveOptions { Mode = GgufSaveMode.InPlace };
                    break;
                case "realign-64" or "realign-1":
                    uint alignment = mode == "realign-64" ? 64u : 1u;
                    editor.Set(GgufKeys.Alignment, GgufValue.UInt32(alignment));
                    Replace(expected, Kv.U32(GgufKeys.Alignment, alignment));
                    break;
                case "remove":
                    Assert.True(editor.Remove("tokenizer.ggml.add_bos_token"));
                    Assert.True(editor.Remove(GgufKeys.Name));
                    expected.RemoveAll(k => k.KeyText is "tokenizer.ggml.add_bos_token" or GgufKeys.Name);
                    break;
                default:
                    foreach (KvSnapshot kv in NewValues())
                    {
                        editor.Set(kv.KeyText, OurGguf.ToValue(kv));
                        Replace(expected, kv);
                    }

                    break;
            }

            GgufSaveResult result = editor.Save(options, Ct);
            if (result.PaddingBytes > 0)
            {
                // The padding entry: key length, key, type, element type and count, then zero bytes.
                long zeros = result.PaddingBytes - (8 + GgufEditor.PaddingKey.Length + 4 + 4 + 8);
                expected.Add(new KvSnapshot(Encoding.UTF8.GetBytes(GgufEditor.PaddingKey), GgufNativeType.ARRAY, GgufNativeType.UINT8, (ulong)zeros, new byte[zeros], null));
            }
        }

        GgufSnapshot native = NativeGgufReader.TryRead(path, withData: true, out error) ?? throw new InvalidOperationException($"llama.cpp rejects the edited file: {error}");
        GgufSnapshot ours = OurGguf.Read(path, withData: true);
        Assert.Null(GgufSnapshot.FirstDifference(native, ours));

        // llama.cpp sees exactly the expected metadata, in order.
        var expectedSnapshot = new GgufSnapshot { Version = native.Version, Alignment = native.Alignment, DataOffset = native.DataOffset, Metadata = expected, Tensors = native.Tensors };
        Assert.Null(GgufSnapshot.FirstDifference(expectedSnapshot, native));

        // The same tensors with the same bytes (offsets move only when the alignment changes).
        Assert.Equal(before.Tensors.Count, native.Tensors.Count);
        for (int i = 0; i < before.Tensors.Count; i++)
        {
            Assert.Equal(before.Tensors[i].NameText, native.Tensors[i].NameText);
            Assert.NotNull(native.Tensors[i].Data);
            Assert.True(before.Tensors[i].Data.AsSpan().SequenceEqual(native.Tensors[i].Data), $"tensor {before.Tensors[i].NameText} changed");
            if (!mode.StartsWith("realign", StringComparison.Ordinal))
            {
                Assert.Equal(before.Tensors[i].Offset, native.Tensors[i].Offset);
            }
        }

        if (mode == "in-place")
        {
            Assert.Equal(before.DataOffset, native.DataOffset);
        }
    }

    [Theory]
    [InlineData("llama", "atomic")]
    [InlineData("qwen2", "atomic")]
    [InlineData("llama", "in-place")]
    [InlineData("qwen2", "realign")]
    public void TinyModel_MetadataEdits_LlamaCppRunsItWithTheSameLogits(string arch, string mode)
    {
        Requires.LlamaCpp();
        string path = _dir.File($"tiny-{arch}-{mode}.gguf");
        File.Copy(models.Model(arch), path);
        DecodeResult before = LlamaRunner.Decode(path, Prompt);

        string template = "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n{% endfor %}" + new string(' ', 3000);
        string name = $"edited {arch}";
        Edit(path, template, name, mode);
        if (mode == "in-place")
        {
            // The header shrinks under the first save's template: the padding fills the gap.
            template = "{{ messages }}";
            using GgufFile file = GgufFile.Open(path);
            GgufSaveResult result = new GgufEditor(file)
                .Set(GgufKeys.ChatTemplate, GgufValue.String(template))
                .Save(new GgufSaveOptions { Mode = GgufSaveMode.InPlace }, Ct);
            Assert.Equal(GgufSaveMethod.InPlace, result.Method);
            Assert.True(result.PaddingBytes > 3000);
        }

        DecodeResult after = LlamaRunner.Decode(path, Prompt);
        Assert.Equal(before.Tokens, after.Tokens);
        Assert.True(MemoryMarshal.AsBytes(before.Logits.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(after.Logits.AsSpan())), "the logits changed");

        Dictionary<string, string?> seen = LlamaMetadataNative.Read(path, GgufKeys.ChatTemplate, GgufKeys.Name, "edit.custom");
        Assert.Equal(template, seen[GgufKeys.ChatTemplate]);
        Assert.Equal(name, seen[GgufKeys.Name]);
        Assert.Equal("42", seen["edit.custom"]);
    }

    private static void Edit(string path, string template, string name, string mode)
    {
        using GgufFile file = GgufFile.Open(path);
        var editor = new GgufEditor(file)
            .Set(GgufKeys.Name, GgufValue.String(name))
            .Set(GgufKeys.ChatTemplate, GgufValue.String(template))
            .Set("edit.custom", GgufValue.UInt32(42));
        if (mode == "realign")
        {
            editor.Set(GgufKeys.Alignment, GgufValue.UInt32(256));
        }

        GgufSaveResult result = editor.Save(null, Ct);
        Assert.Equal(mode == "realign", result.Relaid);
    }

    /// <summary>
    /// Done when: <c>gguf set model.gguf tokenizer.chat_template --from-file t.jinja</c> on a model llama.cpp
    /// wrote gives a file llama.cpp loads, with the new template, identical tensor bytes and the same logits.
    /// </summary>
    [Fact]
    public void GgufSet_ChatTemplateFromFile_OnALlamaCppWrittenModel()
    {
        Requires.LlamaCpp();
        string path = _dir.File("llama-written-q8.gguf");
        LlamaRunner.Quantize(models.Model("llama"), path, LlamaFtype.MOSTLY_Q8_0);
        GgufSnapshot before = NativeGgufReader.TryRead(path, withData: true, out string error) ?? throw new InvalidOperationException(error);
        DecodeResult decodedBefore = LlamaRunner.Decode(path, Prompt);

        byte[] template = Encoding.UTF8.GetBytes("{%- for message in messages -%}\n  <|{{ message.role }}|>{{ message.content }}\n{%- endfor -%}\n");
        string templateFile = _dir.Write("t.jinja", template);
        var output = new StringWriter();
        var errors = new StringWriter();
        int code = CliApp.Run(["set", path, GgufKeys.ChatTemplate, "--from-file", templateFile], output, errors);
        Assert.True(code == 0, errors.ToString());
        Assert.Contains("set tokenizer.chat_template (str); saved by ", output.ToString());

        GgufSnapshot after = NativeGgufReader.TryRead(path, withData: true, out error) ?? throw new InvalidOperationException($"llama.cpp rejects the edited file: {error}");
        KvSnapshot stored = after.Metadata.Single(k => k.KeyText == GgufKeys.ChatTemplate);
        Assert.Equal(template, stored.Raw);
        Assert.Equal(before.Tensors.Count, after.Tensors.Count);
        for (int i = 0; i < before.Tensors.Count; i++)
        {
            Assert.NotNull(after.Tensors[i].Data);
            Assert.True(before.Tensors[i].Data.AsSpan().SequenceEqual(after.Tensors[i].Data), $"tensor {before.Tensors[i].NameText} changed");
        }

        DecodeResult decodedAfter = LlamaRunner.Decode(path, Prompt);
        Assert.True(MemoryMarshal.AsBytes(decodedBefore.Logits.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(decodedAfter.Logits.AsSpan())), "the logits changed");
        Assert.Equal(Encoding.UTF8.GetString(template), LlamaMetadataNative.Read(path, GgufKeys.ChatTemplate)[GgufKeys.ChatTemplate]);
        Assert.Equal("ok", RunCli("verify", path).Trim());
    }

    /// <summary>Why the editor keeps well-known types: llama.cpp refuses a model whose token id is not a UINT32.</summary>
    [Fact]
    public void WellKnownKeyOfAnotherType_LlamaCppRefusesTheModel_TheEditorRefusesTheEdit()
    {
        Requires.LlamaCpp();
        var (kvs, tensors) = TinyModel.BuildParts("llama");
        Replace(kvs, Kv.I32("tokenizer.ggml.eos_token_id", 2));
        string path = _dir.File("eos-i32.gguf");
        OurGguf.Write(path, kvs, tensors);

        var e = Assert.Throws<InvalidOperationException>(() => LlamaRunner.Decode(path, Prompt));
        Assert.Contains("eos_token_id", e.Message);

        using GgufFile file = GgufFile.Open(models.Model("llama"));
        var refused = Assert.Throws<ArgumentException>(() => new GgufEditor(file).Set("tokenizer.ggml.eos_token_id", GgufValue.Int32(2)));
        Assert.Contains("must be uint32", refused.Message);
    }

    private static string RunCli(params string[] args)
    {
        var output = new StringWriter();
        CliApp.Run(args, output, new StringWriter());
        return output.ToString();
    }

    /// <summary>Replaces the entry with the same key where it stands, or appends it.</summary>
    private static void Replace(List<KvSnapshot> kvs, KvSnapshot kv)
    {
        int index = kvs.FindIndex(k => k.KeyText == kv.KeyText);
        if (index >= 0)
        {
            kvs[index] = kv;
        }
        else
        {
            kvs.Add(kv);
        }
    }
}
