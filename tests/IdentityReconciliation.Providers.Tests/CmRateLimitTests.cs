using System.Diagnostics;
using System.Diagnostics.Metrics;
using IdentityReconciliation.Providers.Cm;
using IdentityReconciliation.Providers.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityReconciliation.Providers.Tests;

/// <summary>
/// The CM.com rate limit. Spacing is measured where the client can guarantee it: the moment each attempt is handed to
/// the transport (<see cref="SendLog"/>), not the stand-in server's arrival times, which the shared thread pool skews.
/// </summary>
public sealed class CmRateLimitTests : IAsyncLifetime
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    // The send is recorded a few statements after the library marks it started, on the same thread, with no await
    // between; only the operating system can pause the thread there. This is not the property under test (the defect
    // gave gaps under 1 ms), it is room for a descheduled thread on a loaded machine.
    private static readonly TimeSpan Preemption = TimeSpan.FromMilliseconds(20);

    private readonly string _keyId = CmServer.NewKeyId();
    private readonly SendLog _sends = new();
    private ProviderStandIn _server = null!;

    public async Task InitializeAsync()
    {
        _server = await ProviderStandIn.StartAsync();
        _server.Authenticate = CmServer.Jwt(_keyId);
        _server.Default = CmServer.Score;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task MatchAsync_ConcurrentCalls_AreSpacedByInterval()
    {
        await using var services = Host(Interval);
        var provider = services.GetRequiredService<IIdentityMatchProvider>();
        await WarmUpAsync(provider);
        var waits = 0L;
        using var listener = Listen(services, IdentityMatchTelemetry.RateLimitWaitsCounter, value => Interlocked.Add(ref waits, value));
        var stopwatch = Stopwatch.StartNew();

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => provider.MatchAsync(Query(i))));

        results.Should().OnlyContain(result => result.Outcome == IdentityMatchOutcome.Compared);
        stopwatch.Elapsed.Should().BeGreaterThanOrEqualTo(3 * Interval, "the last of four calls starts four intervals after the warm-up call");
        _sends.Gaps().Should().HaveCount(4).And.OnlyContain(gap => gap >= Interval - Preemption);
        _server.RequestCount.Should().Be(5);
        Interlocked.Read(ref waits).Should().BeInRange(3, 4, "every call after the first of the four waited its turn (the first too, unless the warm-up call took a whole interval)");
    }

    [Fact]
    public async Task MatchAsync_QueuedCallers_AreServedInArrivalOrder()
    {
        await using var services = Host(Interval);
        var provider = services.GetRequiredService<IIdentityMatchProvider>();
        await WarmUpAsync(provider);

        // Each call reaches the queue synchronously, so the calls queue in the order they are made.
        var calls = Enumerable.Range(0, 4).Select(i => provider.MatchAsync(Query(i))).ToList();
        await Task.WhenAll(calls);

        _sends.FirstNames.Skip(1).Should().Equal("P0", "P1", "P2", "P3");
        _server.RequestCount.Should().Be(5);
    }

    [Fact]
    public async Task MatchAsync_CancelledWhileQueued_ThrowsPromptlyAndKeepsSpacing()
    {
        var interval = TimeSpan.FromMilliseconds(3000); // long enough that a loaded CI machine still finds call 1 queued
        await using var services = Host(interval);
        var provider = services.GetRequiredService<IIdentityMatchProvider>();
        await WarmUpAsync(provider);
        await provider.MatchAsync(Query(0));

        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var stopwatch = Stopwatch.StartNew();
        await FluentActions.Awaiting(() => provider.MatchAsync(Query(1), cancellation.Token)).Should().ThrowAsync<OperationCanceledException>();
        stopwatch.Elapsed.Should().BeLessThan(interval - TimeSpan.FromMilliseconds(200), "cancellation ends the wait");

        await provider.MatchAsync(Query(2));

        _sends.FirstNames.Skip(1).Should().Equal("P0", "P2");
        _sends.Gaps(skip: 1).Single().Should().BeGreaterThanOrEqualTo(interval - Preemption);
        _server.RequestCount.Should().Be(3);
    }

    [Fact]
    public async Task MatchAsync_SameKeyIdInTwoContainers_ShareOneLimit()
    {
        await using var first = Host(Interval);
        await using var second = Host(Interval);
        await WarmUpAsync(first.GetRequiredService<IIdentityMatchProvider>());
        await WarmUpAsync(second.GetRequiredService<IIdentityMatchProvider>());

        await Task.WhenAll(
            first.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query(0)),
            second.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query(1)));

        _sends.Gaps().Should().HaveCount(3).And.OnlyContain(gap => gap >= Interval - Preemption, "the limit is per credential, process-wide");
    }

    [Fact]
    public async Task MatchAsync_DifferentKeyIds_DoNotWaitForEachOther()
    {
        var otherKeyId = CmServer.NewKeyId();
        var checkFirst = CmServer.Jwt(_keyId);
        var checkOther = CmServer.Jwt(otherKeyId);
        _server.Authenticate = request => checkFirst(request) is null || checkOther(request) is null ? null : "unknown key";
        var slow = TimeSpan.FromSeconds(10);
        await using var first = Host(slow);
        await using var other = TestHosts.Cm(_server, otherKeyId, options => options.MinimumRequestInterval = slow);
        var waits = 0L;
        using var firstWaits = Listen(first, IdentityMatchTelemetry.RateLimitWaitsCounter, value => Interlocked.Add(ref waits, value));
        using var otherWaits = Listen(other, IdentityMatchTelemetry.RateLimitWaitsCounter, value => Interlocked.Add(ref waits, value));
        var stopwatch = Stopwatch.StartNew();

        await Task.WhenAll(
            first.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query(0)),
            other.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query(1)));

        Interlocked.Read(ref waits).Should().Be(0, "each key has its own queue, and neither has sent before");
        stopwatch.Elapsed.Should().BeLessThan(slow);
        _server.RequestCount.Should().Be(2);
    }

    [Fact]
    public async Task MatchAsync_ThreadPreemptedBetweenClockReads_RecordsNoWait()
    {
        // A loaded machine can stop a thread for milliseconds between two reads of the clock; the limit imposed no wait,
        // so neither the counter nor the log may say it did (this made the test above fail one run in a few under load).
        var clock = new PreemptedClock(TimeSpan.FromMilliseconds(5));
        await using var services = TestHosts.Cm(_server, _keyId, options => options.MinimumRequestInterval = TimeSpan.FromSeconds(10), timeProvider: clock);
        var waits = 0L;
        using var listener = Listen(services, IdentityMatchTelemetry.RateLimitWaitsCounter, value => Interlocked.Add(ref waits, value));

        await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query(0));

        _server.RequestCount.Should().Be(1);
        clock.Reads.Should().BeGreaterThan(1, "the gate read the clock");
        Interlocked.Read(ref waits).Should().Be(0, "the first call of a credential never waits for its limit");
    }

    [Fact]
    public async Task MatchAsync_Retry_WaitsForTheLimitToo()
    {
        await using var services = Host(Interval);
        _server.Enqueue(context => Respond.Status(context, 429));

        await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query(0));

        _server.RequestCount.Should().Be(2);
        _sends.Gaps().Single().Should().BeGreaterThanOrEqualTo(Interval - Preemption, "each retry is a request CM.com counts");
    }

    [Fact]
    public async Task WaitTurnAsync_SlowSendAfterTheQueue_NextTurnIsMeasuredFromTheSend()
    {
        // The defect of issue 16: the interval ran from the moment a caller left the queue, so a request delayed
        // after that (token, signing, a stalled thread pool) could be sent together with the next one.
        var gate = CmRateLimit.Gate.For("test:" + Guid.NewGuid());
        var first = await gate.WaitTurnAsync(Interval, TimeProvider.System, CancellationToken.None);
        var second = gate.WaitTurnAsync(Interval, TimeProvider.System, CancellationToken.None).AsTask();

        await Task.Delay(Interval + Interval);
        second.IsCompleted.Should().BeFalse("the next caller waits until the turn's request is sent");
        var sent = Stopwatch.GetTimestamp();
        first.MarkStarted();
        using var next = await second;

        Stopwatch.GetElapsedTime(sent).Should().BeGreaterThanOrEqualTo(Interval, "the interval runs from the send");
    }

    [Fact]
    public async Task WaitTurnAsync_TurnDisposedWithoutSending_NextCallerDoesNotWait()
    {
        var gate = CmRateLimit.Gate.For("test:" + Guid.NewGuid());
        var first = await gate.WaitTurnAsync(TimeSpan.FromHours(1), TimeProvider.System, CancellationToken.None);
        var second = gate.WaitTurnAsync(TimeSpan.FromHours(1), TimeProvider.System, CancellationToken.None).AsTask();

        first.Dispose();

        (await second.WaitAsync(TimeSpan.FromSeconds(30))).Dispose();
    }

    private ServiceProvider Host(TimeSpan interval) =>
        TestHosts.Cm(_server, _keyId, options => options.MinimumRequestInterval = interval, sends: _sends);

    /// <summary>One call to open the connection first, so that the calls under test share a warm connection.</summary>
    private static Task WarmUpAsync(IIdentityMatchProvider provider) => provider.MatchAsync(new IdentityMatchQuery("+31613245678") { FirstName = "warm-up" });

    private static IdentityMatchQuery Query(int i) => new("+31613245678") { FirstName = "P" + i };

    private static MeterListener Listen(IServiceProvider services, string instrument, Action<long> onValue)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        var listener = new MeterListener
        {
            InstrumentPublished = (published, l) =>
            {
                if (published.Name == instrument && ReferenceEquals(published.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(published);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => onValue(value));
        listener.Start();
        return listener;
    }

    /// <summary>The system clock, except that every timestamp read finds the thread was stopped for <c>pause</c> since the last one.</summary>
    private sealed class PreemptedClock(TimeSpan pause) : TimeProvider
    {
        private long _reads;

        public long Reads => Interlocked.Read(ref _reads);

        public override long GetTimestamp() =>
            base.GetTimestamp() + (Interlocked.Increment(ref _reads) * (long)(pause.TotalSeconds * TimestampFrequency));
    }
}
