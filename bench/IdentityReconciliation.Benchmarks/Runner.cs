using System.Diagnostics;

namespace IdentityReconciliation.Benchmarks;

/// <summary>One measured run: callers send pre-generated requests as fast as they can for a fixed time.</summary>
internal static class Runner
{
    /// <summary>
    /// Runs the workload for <paramref name="duration"/>. A workload that runs out of requests first (merge-heavy on a
    /// small store has only so many disjoint pairs to join) is run again on a fresh copy of the data, and the rounds
    /// are added up, so that every figure covers the same measured time.
    /// </summary>
    public static async Task<Measurement> RunAsync(Func<Task<BenchRun>> start, IdentifyRequest[] requests, int callers, TimeSpan duration, IdentityReconciliationOptions options)
    {
        var rounds = new List<(Measurement Measurement, long[] Latencies)>();
        var measured = TimeSpan.Zero;
        do
        {
            await using var run = await start();
            var round = await RunOnceAsync(new IdentityReconciler(run.Store, options), requests, callers, duration - measured);
            rounds.Add(round);
            measured += round.Measurement.Elapsed;
        }
        while (measured < duration * 0.95 && rounds.Count < 1000);

        var latencies = rounds.SelectMany(r => r.Latencies).ToArray();
        Array.Sort(latencies);
        var operations = rounds.Sum(r => r.Measurement.Operations);
        return new Measurement(
            operations,
            measured,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.99),
            latencies.Length == 0 ? 0 : Ms(latencies[^1]),
            operations == 0 ? 0 : rounds.Sum(r => r.Measurement.BytesPerOperation * r.Measurement.Operations) / operations,
            rounds.Max(r => r.Measurement.PeakWorkingSetBytes),
            rounds.Count);
    }

    private static async Task<(Measurement Measurement, long[] Latencies)> RunOnceAsync(IIdentityReconciler reconciler, IdentifyRequest[] requests, int callers, TimeSpan duration)
    {
        var warmup = await WarmUpAsync(reconciler, requests, callers);
        return await RunRoundAsync(reconciler, requests, warmup, callers, duration);
    }

    /// <summary>
    /// Warms up on a few requests outside the measurement (JIT, page cache, and the connection pool: the warm-up runs with
    /// as many callers as the figure, so that the connections the figure will use are open before it starts; opening them
    /// inside the figure stalled every caller for up to half a second on PostgreSQL at the start of each round).
    /// Returns how many requests it used.
    /// </summary>
    public static async Task<int> WarmUpAsync(IIdentityReconciler reconciler, IdentifyRequest[] requests, int callers)
    {
        var warmup = Math.Min(requests.Length / 20, 2_000);
        var next = -1;
        var workers = new Task[Math.Max(1, callers)];
        for (var c = 0; c < workers.Length; c++)
        {
            workers[c] = Task.Run(async () =>
            {
                int index;
                while ((index = Interlocked.Increment(ref next)) < warmup)
                {
                    await reconciler.IdentifyAsync(requests[index]);
                }
            });
        }

        await Task.WhenAll(workers);
        return warmup;
    }

    /// <summary>
    /// Callers send <paramref name="requests"/> from index <paramref name="first"/> on until they run out or
    /// <paramref name="duration"/> (may be <see cref="Timeout.InfiniteTimeSpan"/>) is up; the latencies are in
    /// <see cref="Stopwatch"/> ticks, unsorted, and the measurement's percentiles are left at zero.
    /// </summary>
    public static async Task<(Measurement Measurement, long[] Latencies)> RunRoundAsync(IIdentityReconciler reconciler, IdentifyRequest[] requests, int first, int callers, TimeSpan duration)
    {
        var warmup = first;
        var latencies = new long[requests.Length];
        var next = (long)warmup - 1;
        var stop = false;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var stopwatch = Stopwatch.StartNew();
        var workers = new Task[callers];
        for (var c = 0; c < callers; c++)
        {
            workers[c] = Task.Run(async () =>
            {
                while (!Volatile.Read(ref stop))
                {
                    var index = Interlocked.Increment(ref next);
                    if (index >= requests.Length)
                    {
                        return;
                    }

                    var started = Stopwatch.GetTimestamp();
                    await reconciler.IdentifyAsync(requests[index]);
                    latencies[index] = Stopwatch.GetTimestamp() - started;
                }
            });
        }

        var timer = Task.Delay(duration);
        var all = Task.WhenAll(workers);
        await Task.WhenAny(timer, all);
        Volatile.Write(ref stop, true);
        await all;
        var elapsed = stopwatch.Elapsed;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        var measured = latencies.Skip(warmup).Where(l => l > 0).ToArray();
        return (new Measurement(
            measured.Length,
            elapsed,
            0,
            0,
            0,
            measured.Length == 0 ? 0 : allocated / measured.Length,
            Process.GetCurrentProcess().PeakWorkingSet64,
            1), measured);
    }

    public static double Percentile(long[] sorted, double p) =>
        sorted.Length == 0 ? 0 : Ms(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)]);

    public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

internal sealed record Measurement(long Operations, TimeSpan Elapsed, double P50Ms, double P99Ms, double MaxMs, long BytesPerOperation, long PeakWorkingSetBytes, int Rounds)
{
    public double OperationsPerSecond => Operations / Elapsed.TotalSeconds;
}
