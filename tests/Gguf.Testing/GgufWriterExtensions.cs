using Gguf.Writing;

namespace Gguf.Testing;

/// <summary>Helpers over <see cref="GgufWriter"/> for tests.</summary>
public static class GgufWriterExtensions
{
    /// <summary>Writes the file to memory and returns its bytes.</summary>
    public static byte[] ToBytes(this GgufWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        using var stream = new MemoryStream();
        writer.WriteTo(stream);
        return stream.ToArray();
    }
}
