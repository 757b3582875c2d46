using System.Diagnostics;

namespace IdentityReconciliation.Benchmarks;

/// <summary>One measured run: callers send pre-generated requests as fast as they can for a fixed time.</summary>
internal static class Runner
{
    public static async Task<Measurement> RunAsync(IIdentityReconciler reconciler, IdentifyRequest[] requests, int callers, TimeSpan duration)
    {
        // Warm up on a few requests outside the measurement (JIT, connection pools, page cache).
        var warmup = Math.Min(requests.Length / 20, 2_000);
        for (var i = 0; i < warmup; i++)
        {
            await reconciler.IdentifyAsync(requests[i]);
        }

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
        Array.Sort(measured);
        return new Measurement(
            measured.Length,
            elapsed,
            Percentile(measured, 0.50),
            Percentile(measured, 0.99),
            measured.Length == 0 ? 0 : Ms(measured[^1]),
            measured.Length == 0 ? 0 : allocated / measured.Length,
            Process.GetCurrentProcess().PeakWorkingSet64);
    }

    private static double Percentile(long[] sorted, double p) =>
        sorted.Length == 0 ? 0 : Ms(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)]);

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

internal sealed record Measurement(long Operations, TimeSpan Elapsed, double P50Ms, double P99Ms, double MaxMs, long BytesPerOperation, long PeakWorkingSetBytes)
{
    public double OperationsPerSecond => Operations / Elapsed.TotalSeconds;
}
