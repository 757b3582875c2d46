using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using IdentityReconciliation.Diagnostics;
using IdentityReconciliation.Tests.Support;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Tests;

/// <summary>An erasure is visible in logs, traces and metrics as counts and identifiers, never as the erased value.</summary>
public sealed class ErasureTelemetryTests : IDisposable
{
    private const string Value = "forget-me@erasure.test";
    private const string Phone = "+447700900123";

    private readonly ConcurrentQueue<string> _recorded = new();
    private readonly ActivityListener _activities;
    private readonly MeterListener _meters;

    public ErasureTelemetryTests()
    {
        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == IdentityReconciliationTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => _recorded.Enqueue(activity.OperationName + " " + string.Join(' ', activity.TagObjects.Select(t => $"{t.Key}={t.Value}"))),
        };
        ActivitySource.AddActivityListener(_activities);
        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == IdentityReconciliationTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            _recorded.Enqueue($"{instrument.Name} {value} " + string.Join(' ', tags.ToArray().Select(t => $"{t.Key}={t.Value}"))));
        _meters.Start();
    }

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
    }

    [Fact]
    public async Task EraseAsync_LogsTracesAndMetrics_CarryNoValue()
    {
        var logger = new Logger();
        var reconciler = new IdentityReconciler(new InMemoryContactStore(), DefaultContactNormalizer.Instance, TimeProvider.System, logger);
        var person = await reconciler.IdentifyAsync(new IdentifyRequest(Value, Phone));
        await reconciler.IdentifyAsync(new IdentifyRequest("second@erasure.test", Phone));

        await reconciler.EraseAsync(new IdentifyRequest(Value, null));
        await reconciler.ErasePersonAsync(person.PrimaryContactId);
        var bad = () => reconciler.EraseAsync(new IdentifyRequest("forget-me.erasure.test", Phone));
        var rejected = await bad.Should().ThrowAsync<InvalidIdentifyRequestException>();

        rejected.Which.Message.Should().NotContain("forget-me");
        var everything = _recorded.Concat(logger.Messages).ToList();
        everything.Should().Contain(m => m.StartsWith("IdentityReconciliation.Erase ", StringComparison.Ordinal) && m.Contains("identity_reconciliation.changed_count=1", StringComparison.Ordinal));
        everything.Should().Contain(m => m.StartsWith("identity_reconciliation.contacts.erased 2", StringComparison.Ordinal));
        everything.Should().Contain(m => m.StartsWith("Erased 0 contact(s) and changed 1", StringComparison.Ordinal));
        everything.Should().NotContain(m => m.Contains("forget-me", StringComparison.Ordinal) || m.Contains("second@", StringComparison.Ordinal) || m.Contains("447700900123", StringComparison.Ordinal));
    }

    private sealed class Logger : ILogger<IdentityReconciler>
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Enqueue(formatter(state, exception));
    }
}
