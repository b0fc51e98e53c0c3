using System.Runtime.InteropServices;


namespace Gguf.LlamaCpp;

/// <summary>
/// The libllama entry points the architecture tests need beyond <see cref="LlamaNative"/>: the context's memory and, to
/// read the KV cache's exact allocation, the C++ methods the library exports (Itanium ABI, so Linux and macOS only):
/// <c>llama_kv_cache::total_size() const</c> (the sum of its backend buffers' sizes), <c>size_k_bytes</c>,
/// <c>size_v_bytes</c> (the K and V tensors' bytes) and <c>llama_kv_cache_iswa::get_base/get_swa</c>. The memory's
/// dynamic type is told from its vtable pointer, compared with the exported vtables.
/// </summary>
internal static unsafe partial class LlamaKvCacheNative
{
    static LlamaKvCacheNative() => NativeLibraries.EnsureLoaded();

    [LibraryImport(NativeLibraries.Llama)]
    public static partial nint llama_get_memory(nint ctx);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial uint llama_n_ctx(nint ctx);

    [LibraryImport(NativeLibraries.Llama)]
    public static partial int llama_model_n_swa(nint model);

    /// <summary>The KV cache bytes of a context: every buffer's size, and the K and V tensors' bytes, plus which cache it is.</summary>
    public static KvBytes ReadKvCache(nint ctx)
    {
        nint memory = llama_get_memory(ctx);
        if (memory == 0)
        {
            throw new InvalidOperationException("the context has no memory");
        }

        // A polymorphic object starts with its vtable pointer, which points 16 bytes into the exported vtable symbol
        // (past offset-to-top and the type_info pointer).
        nint vptr = *(nint*)memory;
        if (vptr == Vtable("_ZTV14llama_kv_cache"))
        {
            return Plain(memory, "kv");
        }

        if (vptr == Vtable("_ZTV19llama_kv_cache_iswa"))
        {
            var getBase = (delegate* unmanaged<nint, nint>)NativeLibraries.GetExport("llama", "_ZNK19llama_kv_cache_iswa8get_baseEv");
            var getSwa = (delegate* unmanaged<nint, nint>)NativeLibraries.GetExport("llama", "_ZNK19llama_kv_cache_iswa7get_swaEv");
            KvBytes b = Plain(getBase(memory), "base");
            KvBytes s = Plain(getSwa(memory), "swa");
            return new KvBytes("iswa", b.Total + s.Total, b.K + s.K, b.V + s.V, b.Total, s.Total);
        }

        throw new InvalidOperationException($"the context's memory is neither llama_kv_cache nor llama_kv_cache_iswa (vtable 0x{vptr:x})");
    }

    private static KvBytes Plain(nint cache, string kind)
    {
        var total = (delegate* unmanaged<nint, nuint>)NativeLibraries.GetExport("llama", "_ZNK14llama_kv_cache10total_sizeEv");
        var k = (delegate* unmanaged<nint, nuint>)NativeLibraries.GetExport("llama", "_ZNK14llama_kv_cache12size_k_bytesEv");
        var v = (delegate* unmanaged<nint, nuint>)NativeLibraries.GetExport("llama", "_ZNK14llama_kv_cache12size_v_bytesEv");
        long t = (long)total(cache);
        return new KvBytes(kind, t, (long)k(cache), (long)v(cache), t, 0);
    }

    private static nint Vtable(string symbol) => NativeLibraries.GetExport("llama", symbol) + 16;
}

/// <summary>KV cache bytes as llama.cpp allocated them: <paramref name="Total"/> is the buffers' size, K and V the tensors' bytes.</summary>
internal sealed record KvBytes(string Kind, long Total, long K, long V, long BaseTotal, long SwaTotal)
{
    public string Encode() => $"{Kind};{Total};{K};{V};{BaseTotal};{SwaTotal}";

    public static KvBytes Decode(string s)
    {
        string[] p = s.Split(';');
        return new KvBytes(p[0], long.Parse(p[1]), long.Parse(p[2]), long.Parse(p[3]), long.Parse(p[4]), long.Parse(p[5]));
    }
}
