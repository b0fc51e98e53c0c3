using System.Runtime.InteropServices;
using Gguf.LlamaCpp;
using Gguf.Testing;

namespace Gguf.Conformance.Binding;

public sealed unsafe class NativeLibraryTests
{
    [Fact]
    public void Libraries_LoadTheBestVariantForThisCpu()
    {
        Requires.LlamaCpp();
        string version = Marshal.PtrToStringUTF8((nint)GgmlNative.ggml_version())!;
        string commit = Marshal.PtrToStringUTF8((nint)GgmlNative.ggml_commit())!;
        TestContext.Current.TestOutputHelper?.WriteLine($"native: {NativeLibraries.Directory} (variant {NativeLibraries.Variant ?? "-"}), ggml {version} commit {commit}");

        Assert.False(string.IsNullOrEmpty(version));
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64 && NativeLibraries.Variant is not null)
        {
            Assert.Equal(NativeLibraries.X86VariantsInPreferenceOrder()[0], NativeLibraries.Variant);
        }
    }

    [Fact]
    public void Libraries_ExportEveryFunctionWeDeclare()
    {
        Requires.LlamaCpp();
        var missing = new List<string>();
        foreach (var (library, type) in new[] { ("ggml-base", typeof(GgmlNative)), ("ggml-base", typeof(GgufNative)), ("llama", typeof(LlamaNative)) })
        {
            foreach (var method in type.GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
            {
                if (method.GetCustomAttributes(typeof(LibraryImportAttribute), false).Length == 0)
                {
                    continue;
                }

                try
                {
                    _ = NativeLibraries.GetExport(library, method.Name);
                }
                catch (EntryPointNotFoundException)
                {
                    missing.Add(library + ":" + method.Name);
                }
            }
        }

        Assert.Empty(missing);
    }

    [Fact]
    public void GgmlTensor_HeadLayoutMatchesGgmlAccessors()
    {
        Requires.LlamaCpp();
        nint ctx = GgmlNative.ggml_init(new GgmlInitParams { MemSize = 1 << 20, NoAlloc = false });
        try
        {
            var t = GgmlNative.ggml_new_tensor_4d(ctx, 0, 2, 3, 4, 5);
            Assert.Equal(0, t->Type);
            Assert.Equal(new long[] { 2, 3, 4, 5 }, new[] { t->Ne[0], t->Ne[1], t->Ne[2], t->Ne[3] });
            Assert.Equal(new ulong[] { 4, 8, 24, 96 }, new[] { t->Nb[0], t->Nb[1], t->Nb[2], t->Nb[3] });
            Assert.Equal(120, GgmlNative.ggml_nelements(t));
            Assert.Equal(480u, (ulong)GgmlNative.ggml_nbytes(t));
            Assert.Equal(4, GgmlNative.ggml_n_dims(t));

            var q = GgmlNative.ggml_new_tensor_2d(ctx, 8, 64, 3); // Q8_0: 34 bytes per 32 elements
            Assert.Equal(8, q->Type);
            Assert.Equal(new long[] { 64, 3, 1, 1 }, new[] { q->Ne[0], q->Ne[1], q->Ne[2], q->Ne[3] });
            Assert.Equal(68u, (ulong)q->Nb[1]);
            Assert.Equal(2, GgmlNative.ggml_n_dims(q));
            Assert.Equal(3u * 68, (ulong)GgmlNative.ggml_nbytes(q));
        }
        finally
        {
            GgmlNative.ggml_free(ctx);
        }
    }
}
