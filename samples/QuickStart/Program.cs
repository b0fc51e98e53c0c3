// The README's library snippet, as a program: `dotnet run --project samples/QuickStart -- samples/tiny-llama.gguf`.
// ReadmeTests checks that the block between the markers is the README's snippet, word for word, and runs it.
// README:begin
using Gguf.Format;
using Gguf.Loading;
using Gguf.Model;

using var cancellation = new CancellationTokenSource();  // cancel it from anywhere to stop a load
using GgufFile model = GgufFile.Open(args[0]);           // open + parse + validate; O(1) in the file's size
Console.WriteLine($"{model.Architecture}: {model.Tensors.Count} tensors, GGUF v{model.Version}");

// Metadata: typed getters check the stored type; strings and arrays are decoded only when asked for.
uint layers = model.Metadata[GgufKeys.BlockCount("llama")].GetUInt32();
GgufArray tokens = model.Metadata[GgufKeys.TokenizerTokens].GetArray();
string token = tokens.GetString(1);                      // O(1) after the first access
Console.WriteLine($"{layers} layers, {tokens.Count} tokens, token 1 is '{token}'");

// Tensor data is read in place from the mapping, under a lease that keeps it mapped.
GgufTensorInfo norm = model.GetTensor("output_norm.weight");
using (GgufTensorData data = model.GetTensorData(norm))
{
    ReadOnlySpan<float> weights = data.AsSpan<float>();  // typed for F32/F16/BF16/I8–I64/F64
    ReadOnlySpan<byte> raw = data.Bytes;                 // raw bytes for every type
    Console.WriteLine($"{norm.Name}: {weights.Length} floats, {raw.Length} bytes");
}

// Every tensor into one block of host memory, in bounded chunks, verified against the file.
using var arena = new HostArenaDestination();            // host memory; CudaDestination.Open(0) in Gguf.Gpu
var loader = new ModelLoader(arena, new LoadOptions { Verify = true });
using LoadedModel loaded = loader.Load(model, progress: null, cancellation.Token);
LoadedTensor q = loaded.GetTensor("blk.0.attn_q.weight");  // q.Offset: its place in loaded.Buffer
Console.WriteLine($"loaded {loaded.Statistics.Bytes} bytes; {q.Name} at offset {q.Offset}");
// README:end
