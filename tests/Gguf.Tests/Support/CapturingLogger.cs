using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Gguf.Tests.Support;

/// <summary>An ILogger that records every event, for asserting what the library logs.</summary>
public sealed class CapturingLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, EventId Id, string Message)> Events { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Events.Enqueue((logLevel, eventId, formatter(state, exception)));

    public bool Has(string fragment) => Events.Any(e => e.Level == LogLevel.Debug && e.Message.Contains(fragment, StringComparison.Ordinal));

    public int Count(string fragment) => Events.Count(e => e.Level == LogLevel.Debug && e.Message.Contains(fragment, StringComparison.Ordinal));
}
