using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using IdentityReconciliation.Providers.Internal;
using IdentityReconciliation.Providers.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityReconciliation.Providers.Tests;

public sealed class CmRateLimitTests : IAsyncLifetime
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    // Arrival times are taken at the server, after network and scheduling jitter; starts are spaced exactly.
    private static readonly TimeSpan Jitter = TimeSpan.FromMilliseconds(60);

    private readonly string _keyId = CmServer.NewKeyId();
    private FakeProviderServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeProviderServer.StartAsync();
        _server.Authenticate = CmServer.Jwt(_keyId);
        _server.Default = CmServer.Score;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task MatchAsync_ConcurrentCalls_AreSpacedByInterval()
    {
        await using var services = CmServer.Host(_server, _keyId, options => options.MinimumRequestInterval = Interval);
        var provider = services.GetRequiredService<IIdentityMatchProvider>();
        await WarmUpAsync(provider);
        var waits = 0L;
        using var listener = Listen(services, IdentityMatchTelemetry.RateLimitWaitsCounter, value => Interlocked.Add(ref waits, value));
        var stopwatch = Stopwatch.StartNew();

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => provider.MatchAsync(Query(i))));

        results.Should().OnlyContain(result => result.Outcome == IdentityMatchOutcome.Compared);
        stopwatch.Elapsed.Should().BeGreaterThanOrEqualTo(3 * Interval, "the last of four calls starts four intervals after the warm-up call");
        Gaps().Should().HaveCount(3).And.OnlyContain(gap => gap >= Interval - Jitter);
        Interlocked.Read(ref waits).Should().BeInRange(3, 4, "every call after the first of the four waited its turn (the first too, unless the warm-up call took a whole interval)");
    }

    [Fact]
    public async Task MatchAsync_QueuedCallers_AreServedInArrivalOrder()
    {
        await using var services = CmServer.Host(_server, _keyId, options => options.MinimumRequestInterval = Interval);
        var provider = services.GetRequiredService<IIdentityMatchProvider>();
        await WarmUpAsync(provider);

        var calls = new List<Task<IdentityMatchResult>>();
        for (var i = 0; i < 4; i++)
        {
            calls.Add(provider.MatchAsync(Query(i)));
            await Task.Delay(30);
        }

        await Task.WhenAll(calls);

        _server.Requests.Skip(1).Select(FirstName).Should().Equal("P0", "P1", "P2", "P3");
    }

    [Fact]
    public async Task MatchAsync_CancelledWhileQueued_ThrowsPromptlyAndKeepsSpacing()
    {
        var interval = TimeSpan.FromMilliseconds(3000); // long enough that a loaded CI machine still finds call 1 queued
        await using var services = CmServer.Host(_server, _keyId, options => options.MinimumRequestInterval = interval);
        var provider = services.GetRequiredService<IIdentityMatchProvider>();
        await WarmUpAsync(provider);
        await provider.MatchAsync(Query(0));

        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var stopwatch = Stopwatch.StartNew();
        await FluentActions.Awaiting(() => provider.MatchAsync(Query(1), cancellation.Token)).Should().ThrowAsync<OperationCanceledException>();
        stopwatch.Elapsed.Should().BeLessThan(interval - TimeSpan.FromMilliseconds(200), "cancellation ends the wait");

        await provider.MatchAsync(Query(2));

        _server.Requests.Skip(1).Select(FirstName).Should().Equal("P0", "P2");
        Gaps().Single().Should().BeGreaterThanOrEqualTo(interval - Jitter);
    }

    [Fact]
    public async Task MatchAsync_SameKeyIdInTwoContainers_ShareOneLimit()
    {
        await using var first = CmServer.Host(_server, _keyId, options => options.MinimumRequestInterval = Interval);
        await using var second = CmServer.Host(_server, _keyId, options => options.MinimumRequestInterval = Interval);
        await WarmUpAsync(first.GetRequiredService<IIdentityMatchProvider>());
        await WarmUpAsync(second.GetRequiredService<IIdentityMatchProvider>());

        await Task.WhenAll(
            first.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query(0)),
            second.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query(1)));

        Gaps().Should().HaveCount(2).And.OnlyContain(gap => gap >= Interval - Jitter, "the limit is per credential, process-wide");
    }

    [Fact]
    public async Task MatchAsync_DifferentKeyIds_DoNotWaitForEachOther()
    {
        var otherKeyId = CmServer.NewKeyId();
        var checkFirst = CmServer.Jwt(_keyId);
        var checkOther = CmServer.Jwt(otherKeyId);
        _server.Authenticate = request => checkFirst(request) is null || checkOther(request) is null ? null : "unknown key";
        var slow = TimeSpan.FromSeconds(2);
        await using var first = CmServer.Host(_server, _keyId, options => options.MinimumRequestInterval = slow);
        await using var other = CmServer.Host(_server, otherKeyId, options => options.MinimumRequestInterval = slow);
        var stopwatch = Stopwatch.StartNew();

        await Task.WhenAll(
            first.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query(0)),
            other.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query(1)));

        stopwatch.Elapsed.Should().BeLessThan(slow);
        _server.RequestCount.Should().Be(2);
    }

    [Fact]
    public async Task MatchAsync_Retry_WaitsForTheLimitToo()
    {
        await using var services = CmServer.Host(_server, _keyId, options => options.MinimumRequestInterval = Interval);
        await WarmUpAsync(services.GetRequiredService<IIdentityMatchProvider>());
        await Task.Delay(Interval + Interval);
        _server.Enqueue(context => Respond.Status(context, 503));

        await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query(0));

        _server.RequestCount.Should().Be(3);
        Gaps().Single().Should().BeGreaterThanOrEqualTo(Interval - Jitter, "each retry is a request CM.com counts");
    }

    [Fact]
    public async Task WaitAsync_ZeroInterval_DoesNotWait()
    {
        var gate = RequestSpacingGate.For("test:" + Guid.NewGuid());

        var waited = await gate.WaitAsync(TimeSpan.Zero, TimeProvider.System, CancellationToken.None);

        waited.Should().Be(TimeSpan.Zero);
    }

    /// <summary>
    /// One call to open the connection first: a cold connection (and JIT) delays the first arrival, which would
    /// shrink the first gap as the server sees it although the starts are spaced correctly.
    /// </summary>
    private static Task WarmUpAsync(IIdentityMatchProvider provider) => provider.MatchAsync(new IdentityMatchQuery("+31613245678") { FirstName = "warm-up" });

    private static IdentityMatchQuery Query(int i) => new("+31613245678") { FirstName = "P" + i };

    private static string FirstName(RecordedRequest request)
    {
        using var body = JsonDocument.Parse(request.Body);
        return body.RootElement.GetProperty("firstName").GetString()!;
    }

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

    /// <summary>The gaps between arrivals, after the first (warm-up) request.</summary>
    private List<TimeSpan> Gaps()
    {
        var times = _server.Requests.Skip(1).Select(request => request.ReceivedAt).Order().ToList();
        return times.Zip(times.Skip(1), (earlier, later) => later - earlier).ToList();
    }
}
