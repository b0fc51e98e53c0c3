using Gguf.Format;
using Gguf.Model;
using Gguf.Quantization;

namespace Gguf.Samples;

/// <summary>Decodes one tensor of any ggml type to floats (ggml's exact bits) and prints a summary of its values.</summary>
internal static class Dequantize
{
    public static int Run(string path, string tensorName)
    {
        using GgufFile file = GgufFile.Open(path);
        GgufTensorInfo tensor = file.GetTensor(tensorName);
        var values = new float[tensor.ElementCount];
        Dequantizer.Dequantize(file, tensor, values);

        double sum = 0;
        foreach (float value in values)
        {
            sum += value;
        }

        float min = values.Length == 0 ? 0 : values.Min();
        float max = values.Length == 0 ? 0 : values.Max();
        Console.WriteLine($"{tensor.Name} ({tensor.TypeInfo.Name}, {values.Length} values): min {min}, max {max}, mean {(values.Length == 0 ? 0 : sum / values.Length):G6}");
        Console.WriteLine($"first values: {string.Join(", ", values.Take(4))}");
        return 0;
    }
}
