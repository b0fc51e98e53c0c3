using Gguf.Format;
using Gguf.IO;
using Gguf.Loading;
using Gguf.Model;

namespace Gguf.Architectures;

/// <summary>A destination of a plan: where weights and KV cache go.</summary>
/// <param name="Name">A name for reports (<c>host</c>, <c>cuda:0</c>).</param>
/// <param name="IsHost">Whether it is host memory (ggml's CPU buffer rules apply to its KV cache).</param>
public sealed record PlanDevice(string Name, bool IsHost)
{
    /// <summary>Host memory.</summary>
    public static PlanDevice Host { get; } = new("host", true);

    /// <summary>The KV buffer alignment ggml's buffer type uses on this device: 32 on the CPU, 128 for CUDA.</summary>
    public int KvAlignment => IsHost ? 32 : 128;

    /// <summary>Parses <c>host</c>/<c>cpu</c> or <c>cuda:N</c>.</summary>
    public static PlanDevice Parse(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        string n = name.Trim();
        if (n is "host" or "cpu")
        {
            return Host;
        }

        if (n.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(n.AsSpan(5), out int ordinal) && ordinal >= 0)
        {
            return new PlanDevice($"cuda:{ordinal}", false);
        }

        throw new ArgumentException($"unknown device '{name}': use host or cuda:N", nameof(name));
    }
}

/// <summary>The settings a plan is made for: the context llama.cpp would create and how layers are split over devices.</summary>
public sealed record PlanOptions
{
    /// <summary>The context length (llama.cpp's <c>n_ctx</c>); 0 uses the model's training context.</summary>
    public long ContextLength { get; init; }

    /// <summary>The logical batch (<c>n_batch</c>; llama.cpp's default 2048).</summary>
    public int BatchSize { get; init; } = 2048;

    /// <summary>The physical batch (<c>n_ubatch</c>; llama.cpp's default 512): it sizes the sliding-window cache.</summary>
    public int MicroBatchSize { get; init; } = 512;

    /// <summary>Parallel sequences (<c>n_seq_max</c>).</summary>
    public int Sequences { get; init; } = 1;

    /// <summary>One cache shared by all sequences (<c>kv_unified</c>); otherwise one stream per sequence.</summary>
    public bool UnifiedKvCache { get; init; }

    /// <summary>The type of cached keys (f16, f32, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1).</summary>
    public GgmlType CacheTypeK { get; init; } = GgmlType.F16;

    /// <summary>The type of cached values; quantized ones need flash attention.</summary>
    public GgmlType CacheTypeV { get; init; } = GgmlType.F16;

    /// <summary>Whether flash attention is on (llama.cpp's automatic choice turns it on where the device supports it).</summary>
    public bool FlashAttention { get; init; } = true;

    /// <summary>A full-length cache for sliding-window layers (<c>swa_full</c>).</summary>
    public bool FullSizeSwaCache { get; init; }

    /// <summary>The destinations, in split order.</summary>
    public IReadOnlyList<PlanDevice> Devices { get; init; } = [PlanDevice.Host];

    /// <summary>Relative shares of the layers per destination (like llama.cpp's <c>tensor_split</c>); null: equal shares.</summary>
    public IReadOnlyList<double>? Split { get; init; }

    /// <summary>The alignment of each tensor in a destination block (<see cref="LoadOptions.TensorAlignment"/> of the loader).</summary>
    public int TensorAlignment { get; init; } = LoadOptions.Default.TensorAlignment;
}

/// <summary>The KV cache of one layer.</summary>
/// <param name="Layer">The layer.</param>
/// <param name="Device">Index of its device in <see cref="ModelPlan.Devices"/>.</param>
/// <param name="SlidingWindow">Whether it is in the sliding-window cache.</param>
/// <param name="Cells">Cells per stream.</param>
/// <param name="KBytes">Bytes of its K tensor.</param>
/// <param name="VBytes">Bytes of its V tensor.</param>
/// <param name="AllocatedBytes">Both tensors as their device's buffer allocates them (aligned, padded).</param>
public sealed record LayerKvPlan(int Layer, int Device, bool SlidingWindow, long Cells, long KBytes, long VBytes, long AllocatedBytes);

/// <summary>What one destination receives.</summary>
public sealed class DevicePlan
{
    internal DevicePlan(PlanDevice device, IReadOnlyList<int> layers, IReadOnlyList<GgufTensorInfo> tensors, long weightBytes, long kvBytes)
    {
        Device = device;
        Layers = layers;
        Tensors = tensors;
        WeightBytes = weightBytes;
        KvBytes = kvBytes;
    }

    /// <summary>The destination.</summary>
    public PlanDevice Device { get; }

    /// <summary>The repeating layers placed here.</summary>
    public IReadOnlyList<int> Layers { get; }

    /// <summary>The file's tensors placed here, in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>The bytes the loader allocates for <see cref="Tensors"/> (each aligned, as <see cref="ModelLoader.Plan(GgufFile, int, out long)"/>).</summary>
    public long WeightBytes { get; }

    /// <summary>The KV cache bytes allocated here (0 when the architecture is unknown).</summary>
    public long KvBytes { get; }

    /// <summary>Weights plus KV cache.</summary>
    public long TotalBytes => WeightBytes + KvBytes;
}

/// <summary>
/// An exact memory plan made before any load: which layers go to which destination, the weight bytes each destination's
/// loader allocates, and the KV cache llama.cpp allocates for the same context settings (K and V per layer; one stream per
/// sequence unless unified; sliding-window layers sized to the window plus a micro-batch, padded to 256, as
/// <c>llama_kv_cache_iswa</c> does). Recurrent and hybrid caches are outside these architectures and not planned.
/// See docs/architectures.md.
/// </summary>
public sealed class ModelPlan
{
    private ModelPlan(ModelHyperparameters hyperparameters, PlanOptions options, IReadOnlyList<DevicePlan> devices, IReadOnlyList<int> layerDevice,
        int inputDevice, int outputDevice, long contextLength, long cells, long slidingWindowCells, int streams, IReadOnlyList<LayerKvPlan> kv)
    {
        Hyperparameters = hyperparameters;
        Options = options;
        Devices = devices;
        LayerDevices = layerDevice;
        InputDevice = inputDevice;
        OutputDevice = outputDevice;
        ContextLength = contextLength;
        Cells = cells;
        SlidingWindowCells = slidingWindowCells;
        Streams = streams;
        KvLayers = kv;
    }

    /// <summary>The hyperparameters the plan is made from.</summary>
    public ModelHyperparameters Hyperparameters { get; }

    /// <summary>The settings.</summary>
    public PlanOptions Options { get; }

    /// <summary>Per destination, in the order given.</summary>
    public IReadOnlyList<DevicePlan> Devices { get; }

    /// <summary>The destination index of each repeating layer.</summary>
    public IReadOnlyList<int> LayerDevices { get; }

    /// <summary>Where the token embeddings go: the first host destination (llama.cpp keeps the input layer on the CPU), else the first.</summary>
    public int InputDevice { get; }

    /// <summary>Where the output norm and matrix go: the destination llama.cpp's split gives to layer index <c>n_layer</c>.</summary>
    public int OutputDevice { get; }

    /// <summary>The effective context length: llama.cpp pads it to 256 cells, and without a unified cache it is the sequences times their share padded to 256.</summary>
    public long ContextLength { get; }

    /// <summary>KV cells per stream of the full-attention layers.</summary>
    public long Cells { get; }

    /// <summary>KV cells per stream of the sliding-window layers (0 when none).</summary>
    public long SlidingWindowCells { get; }

    /// <summary>KV streams (one per sequence, or 1 when unified).</summary>
    public int Streams { get; }

    /// <summary>The KV cache per layer (empty for unknown architectures).</summary>
    public IReadOnlyList<LayerKvPlan> KvLayers { get; }

    /// <summary>Bytes of all K tensors.</summary>
    public long KvKBytes => KvLayers.Sum(l => l.KBytes);

    /// <summary>Bytes of all V tensors.</summary>
    public long KvVBytes => KvLayers.Sum(l => l.VBytes);

    /// <summary>The KV cache as allocated, all devices.</summary>
    public long KvBytes => KvLayers.Sum(l => l.AllocatedBytes);

    /// <summary>The weights as allocated, all devices.</summary>
    public long WeightBytes => Devices.Sum(d => d.WeightBytes);

    /// <summary>Weights plus KV cache.</summary>
    public long TotalBytes => WeightBytes + KvBytes;

    /// <summary>Makes the plan of <paramref name="file"/> for <paramref name="options"/>.</summary>
    /// <exception cref="GgufFormatException">The hyperparameters are incomplete or mistyped.</exception>
    /// <exception cref="ArgumentException">The settings are ones llama.cpp refuses (a quantized V cache without flash attention, a block size that does not divide the head size, a context smaller than the sequences).</exception>
    public static ModelPlan Create(GgufFile file, PlanOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        options ??= new PlanOptions();
        ModelHyperparameters h = ModelHyperparameters.Read(file);
        Validate(options);

        int devices = options.Devices.Count;
        int layers = h.BlockCount;
        int[] layerDevice = SplitLayers(layers, devices, options.Split);
        int input = Math.Max(0, options.Devices.ToList().FindIndex(d => d.IsHost));
        int output = layerDevice.Length > 0 || devices > 0 ? DeviceOfLayer(layers, layers, Cumulative(devices, options.Split)) : 0;

        var tensorsPerDevice = new List<GgufTensorInfo>[devices];
        for (int d = 0; d < devices; d++)
        {
            tensorsPerDevice[d] = [];
        }

        foreach (GgufTensorInfo t in file.Tensors)
        {
            tensorsPerDevice[DeviceOfTensor(t.Name, layerDevice, input, output)].Add(t);
        }

        (long ctx, long cells, long swaCells, int streams, List<LayerKvPlan> kv) = h.Kind == ArchitectureKind.Unknown
            ? (options.ContextLength, 0L, 0L, 0, new List<LayerKvPlan>())
            : PlanKv(h, options, layerDevice);

        var plans = new DevicePlan[devices];
        for (int d = 0; d < devices; d++)
        {
            long weights = 0;
            foreach (GgufTensorInfo t in tensorsPerDevice[d])
            {
                weights = checked(weights + Align.Up(t.ByteSize, options.TensorAlignment));
            }

            int device = d;
            plans[d] = new DevicePlan(
                options.Devices[d],
                [.. Enumerable.Range(0, layers).Where(il => layerDevice[il] == device)],
                tensorsPerDevice[d],
                weights,
                kv.Where(l => l.Device == device).Sum(l => l.AllocatedBytes));
        }

        return new ModelPlan(h, options, plans, layerDevice, input, output, ctx, cells, swaCells, streams, kv);
    }

    /// <summary>
    /// llama.cpp's layer split: the shares are summed and normalized into split points, and layer <c>il</c> of
    /// <c>n_layer + 1</c> (the output counts as one more) goes to the first destination whose split point exceeds
    /// <c>il / (n_layer + 1)</c>.
    /// </summary>
    public static int[] SplitLayers(int layers, int devices, IReadOnlyList<double>? split)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layers);
        ArgumentOutOfRangeException.ThrowIfLessThan(devices, 1);
        double[] points = Cumulative(devices, split);
        var result = new int[layers];
        for (int il = 0; il < layers; il++)
        {
            result[il] = DeviceOfLayer(il, layers, points);
        }

        return result;
    }

    private static double[] Cumulative(int devices, IReadOnlyList<double>? split)
    {
        if (split is not null && split.Count != devices)
        {
            throw new ArgumentException($"the split has {split.Count} shares for {devices} devices", nameof(split));
        }

        var points = new double[devices];
        double sum = 0;
        for (int d = 0; d < devices; d++)
        {
            double share = split?[d] ?? 1.0;
            if (share < 0 || !double.IsFinite(share))
            {
                throw new ArgumentException($"split share {share} is not a finite non-negative number", nameof(split));
            }

            sum += share;
            points[d] = sum;
        }

        if (sum <= 0)
        {
            throw new ArgumentException("the split shares add up to 0", nameof(split));
        }

        for (int d = 0; d < devices; d++)
        {
            points[d] /= sum;
        }

        return points;
    }

    // llama.cpp computes this in float: (float)(il) / act and splits as floats.
    private static int DeviceOfLayer(int il, int layers, double[] points)
    {
        float x = (float)il / (layers + 1);
        for (int d = 0; d < points.Length; d++)
        {
            if ((float)points[d] > x)
            {
                return d;
            }
        }

        return points.Length - 1;
    }

    private static int DeviceOfTensor(string name, int[] layerDevice, int input, int output)
    {
        int layer = TensorNames.LayerOf(name);
        if (layer >= 0)
        {
            return layer < layerDevice.Length ? layerDevice[layer] : output;
        }

        if (TensorNames.TryParse(name, out TensorRole role, out _))
        {
            return role switch
            {
                TensorRole.OutputNorm or TensorRole.Output => output,
                TensorRole.TokenEmbedding => input,

                // Rope factors are created with layer 0 (llama.cpp duplicates them into the other layers' buffers).
                _ => layerDevice.Length > 0 ? layerDevice[0] : input,
            };
        }

        return input;
    }

    private static (long Context, long Cells, long SwaCells, int Streams, List<LayerKvPlan> Layers) PlanKv(ModelHyperparameters h, PlanOptions o, int[] layerDevice)
    {
        // llama_context pads the context to 256 cells, and each sequence's share again when the cache is split per sequence.
        long ctx = AlignUpAny(o.ContextLength > 0 ? o.ContextLength : h.ContextLength, 256);
        int seqs = o.Sequences;
        long cellsPerStream;
        int streams;
        if (o.UnifiedKvCache)
        {
            cellsPerStream = ctx;
            streams = 1;
        }
        else
        {
            cellsPerStream = AlignUpAny(ctx / seqs, 256);
            if (cellsPerStream == 0)
            {
                throw new ArgumentException($"a context of {ctx} cannot hold {seqs} sequences (llama.cpp: n_ctx_seq == 0)", nameof(o));
            }

            ctx = cellsPerStream * seqs;
            streams = seqs;
        }

        long batch = Math.Min(ctx, o.BatchSize);
        long ubatch = Math.Min(batch, o.MicroBatchSize);
        long swaCells = 0;
        if (h.HasSlidingWindow)
        {
            swaCells = o.FullSizeSwaCache
                ? cellsPerStream
                : Math.Min(cellsPerStream, AlignUpAny((h.SlidingWindow * (o.UnifiedKvCache ? seqs : 1)) + ubatch, 256));
        }

        CheckBlock(o.CacheTypeK, h.KeyLength, "K");
        CheckBlock(o.CacheTypeV, h.ValueLength, "V");
        long maxValueWidth = 0;
        for (int il = 0; il < h.BlockCount; il++)
        {
            maxValueWidth = Math.Max(maxValueWidth, h.ValueWidth(il));
        }

        var kv = new List<LayerKvPlan>(h.BlockCount);
        for (int il = 0; il < h.BlockCount; il++)
        {
            bool swa = h.IsSlidingWindowLayer(il);
            long cells = swa ? swaCells : cellsPerStream;

            // Without flash attention V is stored transposed and every layer takes the widest V.
            long valueWidth = o.FlashAttention ? h.ValueWidth(il) : maxValueWidth;
            long k = RowBytes(o.CacheTypeK, h.KeyWidth(il)) * cells * streams;
            long v = RowBytes(o.CacheTypeV, valueWidth) * cells * streams;
            PlanDevice device = o.Devices[layerDevice[il]];
            long allocated = AllocBytes(device, o.CacheTypeK, h.KeyWidth(il), k) + AllocBytes(device, o.CacheTypeV, valueWidth, v);
            kv.Add(new LayerKvPlan(il, layerDevice[il], swa, cells, k, v, allocated));
        }

        return (ctx, cellsPerStream, swaCells, streams, kv);
    }

    private static void Validate(PlanOptions o)
    {
        if (o.Devices.Count == 0)
        {
            throw new ArgumentException("a plan needs at least one device", nameof(o));
        }

        if (o.Sequences is < 1 or > 256)
        {
            throw new ArgumentException($"{o.Sequences} sequences: llama.cpp allows 1 to 256", nameof(o));
        }

        if (o.BatchSize < 1 || o.MicroBatchSize < 1 || o.ContextLength < 0)
        {
            throw new ArgumentException("the batch sizes must be positive and the context length not negative", nameof(o));
        }

        if (o.TensorAlignment < 1 || (o.TensorAlignment & (o.TensorAlignment - 1)) != 0)
        {
            throw new ArgumentException("the tensor alignment must be a power of two", nameof(o));
        }

        if (GgmlTypeInfo.Get(o.CacheTypeV).IsBlockQuantized && !o.FlashAttention)
        {
            throw new ArgumentException($"a {GgmlTypeInfo.Get(o.CacheTypeV).Name} V cache needs flash attention (llama.cpp: V cache quantization requires flash_attn)", nameof(o));
        }
    }

    private static void CheckBlock(GgmlType type, long headSize, string which)
    {
        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        if (info.BlockSize == 0 || (headSize > 0 && headSize % info.BlockSize != 0))
        {
            throw new ArgumentException($"{which} cache type {info.Name} (blocks of {info.BlockSize}) does not divide the head size {headSize}");
        }
    }

    private static long RowBytes(GgmlType type, long width)
    {
        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        return width / info.BlockSize * info.BytesPerBlock;
    }

    /// <summary>ggml's buffer allocation of one tensor: CUDA pads quantized rows to 512 elements; every tensor is aligned.</summary>
    private static long AllocBytes(PlanDevice device, GgmlType type, long width, long bytes)
    {
        GgmlTypeInfo info = GgmlTypeInfo.Get(type);
        if (!device.IsHost && info.IsBlockQuantized && width % 512 != 0)
        {
            bytes += RowBytes(type, 512 - (width % 512));
        }

        return AlignUpAny(bytes, device.KvAlignment);
    }

    private static long AlignUpAny(long value, long alignment) => (value + alignment - 1) / alignment * alignment;
}
