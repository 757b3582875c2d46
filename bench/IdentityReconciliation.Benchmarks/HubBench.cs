using System.Diagnostics;
using System.Text.Json;

namespace IdentityReconciliation.Benchmarks;

/// <summary>
/// The <c>hub</c> workload: requests with distinct emails and one shared phone (a till phone, a placeholder the blocklist
/// does not know), sent one after another on a fresh copy of the data. Without limits they all become one person, so
/// every request reads and returns a person that keeps growing; with the guards the person stops at its email limit and
/// the later emails become persons of their own. Measured per request: the latency of <c>IdentifyAsync</c> and the size of
/// the product's JSON response (<c>{"contact":{…}}</c>, serialised outside the timed region).
/// </summary>
internal static class HubBench
{
    public const string Workload = "hub";

    /// <summary>A phone no preloaded person has (they are <c>+1</c> followed by ten digits).</summary>
    public const string SharedPhone = "+4420790000000";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IdentifyRequest[] Generate(int count) =>
        Enumerable.Range(0, count).Select(i => new IdentifyRequest($"hub{i}@example.net", SharedPhone)).ToArray();

    public static async Task<HubMeasurement> RunAsync(Func<Task<BenchRun>> start, string setting, IdentityReconciliationOptions options, int count, int tail)
    {
        await using var run = await start();
        var reconciler = new IdentityReconciler(run.Store, options);
        var requests = Generate(count);
        var latencies = new long[count];
        var bytes = new long[count];
        ContactCluster? last = null;
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            last = await reconciler.IdentifyAsync(requests[i]);
            latencies[i] = Stopwatch.GetTimestamp() - started;
            bytes[i] = JsonSerializer.SerializeToUtf8Bytes(new HubResponse(last), Json).Length;
        }

        var elapsed = stopwatch.Elapsed;
        var hub = await reconciler.FindAsync(new IdentifyRequest(null, SharedPhone));
        return new HubMeasurement(
            setting,
            count,
            tail,
            PercentileMs(latencies.AsSpan(0, tail), 0.50),
            PercentileMs(latencies.AsSpan(count - tail), 0.50),
            PercentileMs(latencies.AsSpan(0, tail), 0.99),
            PercentileMs(latencies.AsSpan(count - tail), 0.99),
            (long)bytes.AsSpan(0, tail).ToArray().Average(),
            (long)bytes.AsSpan(count - tail).ToArray().Average(),
            hub?.Emails.Count ?? 0,
            elapsed.TotalSeconds);
    }

    private static double PercentileMs(ReadOnlySpan<long> ticks, double p)
    {
        var sorted = ticks.ToArray();
        Array.Sort(sorted);
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
    }

    private sealed record HubResponse(ContactCluster Contact);
}

/// <summary>The hub workload's figures for one setting: the first and the last <see cref="Tail"/> requests.</summary>
internal sealed record HubMeasurement(
    string Setting,
    int Requests,
    int Tail,
    double FirstP50Ms,
    double LastP50Ms,
    double FirstP99Ms,
    double LastP99Ms,
    long FirstBytesPerResponse,
    long LastBytesPerResponse,
    int HubEmails,
    double Seconds);
