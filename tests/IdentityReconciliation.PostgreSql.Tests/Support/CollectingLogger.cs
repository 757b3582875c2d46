using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.PostgreSql.Tests.Support;

/// <summary>A hand-written logger that keeps every entry, for asserting on retries and restarts.</summary>
public sealed class CollectingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, EventId EventId, string Message, Exception? Exception)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId, formatter(state, exception), exception));
}
