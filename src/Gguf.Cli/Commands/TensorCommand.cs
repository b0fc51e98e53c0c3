using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Gguf.Format;
using Gguf.Model;
using Gguf.Quantization;

namespace Gguf.Cli.Commands;

/// <summary>
/// <c>gguf tensor FILE NAME [--as f32|f16|raw] -o OUT</c>: one tensor's values as raw little-endian numbers,
/// or as a NumPy .npy file when OUT ends in <c>.npy</c> (format 1.0, shape in row-major order: the GGUF
/// dimensions reversed). Decoded in chunks straight from the mapping, so any size works in bounded memory.
/// </summary>
internal static class TensorCommand
{
    /// <summary>Elements decoded per chunk (4 MiB of floats).</summary>
    private const int ChunkElements = 1 << 20;

    /// <summary>The output formats of <c>--as</c>.</summary>
    internal enum OutputFormat
    {
        /// <summary>32-bit floats (ggml's to_float).</summary>
        F32,

        /// <summary>IEEE halves (from the floats, rounded to nearest even).</summary>
        F16,

        /// <summary>The stored bytes, unchanged.</summary>
        Raw,
    }

    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file." };
        var name = new Argument<string>("name") { Description = "The tensor's name." };
        var format = new Option<string>("--as") { Description = "f32 (default): decoded floats; f16: decoded halves; raw: the stored bytes.", DefaultValueFactory = _ => "f32" };
        format.AcceptOnlyFromAmong("f32", "f16", "raw");
        var output = new Option<string>("--output", "-o") { Description = "The file to write; a name ending in .npy writes a NumPy array.", Required = true };
        var command = new Command("tensor", "Write one tensor's values: decoded to f32 or f16 (any ggml type, ggml's exact bits), or its raw bytes; .npy or raw little-endian.")
        {
            file, name, format, output,
        };
        command.SetAction(parse => CliErrors.Guard(console, () =>
        {
            using GgufFile gguf = GgufFile.Open(parse.GetValue(file)!);
            string tensorName = parse.GetValue(name)!;
            if (!gguf.TryGetTensor(tensorName, out GgufTensorInfo? tensor))
            {
                console.Error.WriteLine($"error: tensor '{tensorName}' is not in '{gguf.Path}'");
                return CliErrors.IoError;
            }

            var as_ = Enum.Parse<OutputFormat>(parse.GetValue(format)!, ignoreCase: true);
            string path = parse.GetValue(output)!;
            long bytes = Write(gguf, tensor, as_, path);
            console.Out.WriteLine($"{tensor.Name}: {tensor.TypeInfo.Name} [{string.Join(", ", tensor.Dimensions)}] as {as_.ToString().ToLowerInvariant()}: {bytes:N0} bytes to {path}");
            return 0;
        }));
        return command;
    }

    /// <summary>Writes the tensor to <paramref name="path"/>; returns the bytes written.</summary>
    internal static long Write(GgufFile file, GgufTensorInfo tensor, OutputFormat format, string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            stream.Write(NpyHeader(tensor, format));
        }

        if (format == OutputFormat.Raw)
        {
            using GgufTensorData data = file.GetTensorData(tensor);
            for (long offset = 0; offset < data.Length; offset += ChunkElements)
            {
                stream.Write(data.GetChunk(offset, (int)Math.Min(ChunkElements, data.Length - offset)));
            }
        }
        else
        {
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("writing little-endian values needs a little-endian platform");
            }

            float[] buffer = ArrayPool<float>.Shared.Rent(ChunkElements);
            Half[] halves = format == OutputFormat.F16 ? ArrayPool<Half>.Shared.Rent(ChunkElements) : [];
            try
            {
                Dequantizer.DequantizeChunks(file, tensor, buffer.AsSpan(0, ChunkElements), (first, values) =>
                {
                    if (format == OutputFormat.F32)
                    {
                        stream.Write(MemoryMarshal.AsBytes(values));
                        return;
                    }

                    Span<Half> target = halves.AsSpan(0, values.Length);
                    for (int i = 0; i < values.Length; i++)
                    {
                        target[i] = (Half)values[i];
                    }

                    stream.Write(MemoryMarshal.AsBytes(target));
                });
            }
            finally
            {
                ArrayPool<float>.Shared.Return(buffer);
                if (halves.Length > 0)
                {
                    ArrayPool<Half>.Shared.Return(halves);
                }
            }
        }

        return stream.Position;
    }

    /// <summary>
    /// A .npy version 1.0 header: magic, version, a 2-byte little-endian length, then the dictionary padded
    /// with spaces and a newline so the data starts on a multiple of 64 bytes.
    /// </summary>
    internal static byte[] NpyHeader(GgufTensorInfo tensor, OutputFormat format)
    {
        IEnumerable<long> shape = tensor.Dimensions.Reverse();
        if (format == OutputFormat.Raw)
        {
            // Bytes keep the row structure: the outer dimensions, then the bytes of one row.
            long rowBytes = tensor.Dimensions.Count == 0 ? tensor.ByteSize : tensor.ByteSize / Math.Max(1, tensor.ElementCount / tensor.Dimensions[0]);
            shape = tensor.Dimensions.Skip(1).Reverse().Append(rowBytes);
        }

        long[] dims = [.. shape];
        string tuple = dims.Length == 1
            ? $"({dims[0].ToString(CultureInfo.InvariantCulture)},)"
            : $"({string.Join(", ", dims.Select(d => d.ToString(CultureInfo.InvariantCulture)))})";
        string descr = format switch
        {
            OutputFormat.F32 => "<f4",
            OutputFormat.F16 => "<f2",
            _ => "|u1",
        };
        string dictionary = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}";
        const int Prefix = 10; // magic (6), version (2), header length (2)
        int total = (Prefix + dictionary.Length + 1 + 63) / 64 * 64;
        string padded = dictionary.PadRight(total - Prefix - 1) + "\n";
        var header = new byte[total];
        header[0] = 0x93;
        "NUMPY"u8.CopyTo(header.AsSpan(1));
        header[6] = 1;
        header[7] = 0;
        header[8] = (byte)(padded.Length & 0xFF);
        header[9] = (byte)(padded.Length >> 8);
        Encoding.ASCII.GetBytes(padded, header.AsSpan(Prefix));
        return header;
    }
}
