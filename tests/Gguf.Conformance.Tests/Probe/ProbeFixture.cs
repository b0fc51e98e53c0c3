namespace Gguf.Conformance.Probe;

/// <summary>One probe client shared by the tests of a class (they run one after another).</summary>
public sealed class ProbeFixture : IDisposable
{
    internal ProbeClient Probe { get; } = new(spareCount: 1);

    public void Dispose() => Probe.Dispose();
}
