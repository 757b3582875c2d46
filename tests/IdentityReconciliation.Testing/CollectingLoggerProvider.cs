using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Testing;

/// <summary>
/// Keeps every log entry, at every level: level, category, event, message, structured values and exception. Add it to a
/// host's logging (<c>logging.AddProvider(logs)</c>), or use <see cref="CollectingLogger{T}"/> where a constructor takes
/// an <see cref="ILogger{TCategoryName}"/>.
/// </summary>
public sealed class CollectingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>Every entry with its structured values and exception, one a line: what a test searches for a leaked secret.</summary>
    public string AllText => string.Join("\n", _entries.Select(entry => entry.FullText));

    public ILogger CreateLogger(string categoryName) => new CollectingLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class CollectingLogger(CollectingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(", ", pairs.Select(pair => $"{pair.Key}={pair.Value}"))
                : string.Empty;
            owner._entries.Enqueue(new LogEntry(logLevel, category, eventId, formatter(state, exception), exception, values));
        }
    }
}

/// <summary>A logger of one category that keeps every entry, for a constructor that takes an <see cref="ILogger{TCategoryName}"/>.</summary>
public sealed class CollectingLogger<T> : ILogger<T>
{
    private readonly CollectingLoggerProvider _provider = new();
    private readonly ILogger _logger;

    public CollectingLogger() => _logger = _provider.CreateLogger(typeof(T).FullName ?? typeof(T).Name);

    public IReadOnlyList<LogEntry> Entries => _provider.Entries;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => _logger.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => _logger.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _logger.Log(logLevel, eventId, state, exception, formatter);
}

/// <summary>One log entry; <see cref="Values"/> are the structured values as <c>name=value, …</c>.</summary>
public sealed record LogEntry(LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception, string Values)
{
    /// <summary>The entry with its structured values and exception.</summary>
    public string FullText => $"{Level} {Category}: {Message} [{Values}] {Exception}";

    public override string ToString() => $"{Level} {Category}[{EventId.Id}]: {Message}{(Exception is null ? "" : " " + Exception)}";
}
