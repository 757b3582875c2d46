using System.Globalization;
using System.Text;

namespace IdentityReconciliation.Benchmarks;

/// <summary>
/// The <c>from-empty</c> workload: a brand-new database (the library's schema, no contacts); the callers first write
/// P persons through the library — each person's (email, phone), then each person's (email, second phone), so the data
/// ends up shaped like the preloaded data set — and then send R retail identifies over those persons, which write
/// nothing. The read phase is the figure. It shows what a shop's first hours look like, which the preloaded (and
/// analysed) data set never does: plans a server caches while the table is tiny stay in use as it grows. Where the
/// server counts scans (PostgreSQL's <c>pg_stat_user_tables</c>), the sequential and index scans of <c>Contact</c>
/// during each phase are reported too.
/// </summary>
internal static class FromEmptyBench
{
    public const string Workload = "from-empty";

    public static IdentifyRequest[] Writes(int persons)
    {
        var requests = new IdentifyRequest[2 * persons];
        for (var k = 1; k <= persons; k++)
        {
            requests[k - 1] = new IdentifyRequest(Workloads.Email(k), Workloads.Phone(k));
            requests[persons + k - 1] = new IdentifyRequest(Workloads.Email(k), Workloads.SecondPhone(k));
        }

        return requests;
    }

    public static async Task<FromEmptyRow> RunAsync(IBenchTarget target, int persons, int reads, int callers, TimeSpan floorDuration, IdentityReconciliationOptions options, int seed)
    {
        var writes = Writes(persons);
        var readRequests = Workloads.Generate(Workloads.Retail, 2L * persons, reads, seed);
        await using var run = await target.StartEmptyRunAsync();
        var reconciler = new IdentityReconciler(run.Store, options);
        var initial = await target.ContactScansAsync(run);

        var (write, _) = await Runner.RunRoundAsync(reconciler, writes, 0, callers, Timeout.InfiniteTimeSpan);

        // The store's connections stay open (their cached plans are the point); wait until their idle backends have
        // flushed the write phase's counters, so that none of them is counted in the read phase.
        await Task.Delay(target.StatisticsFlushDelay);
        var beforeReads = await target.ContactScansAsync(run);

        var (read, latencies) = await Runner.RunRoundAsync(reconciler, readRequests, 0, callers, Timeout.InfiniteTimeSpan);

        // Closing the store's connections makes their backends flush at once.
        await run.CloseStoreAsync();
        var afterReads = await SettledScansAsync(target, run);

        Array.Sort(latencies);
        var floor = Math.Max(Rate(await target.ReadFloorAsync(readRequests, floorDuration, run)), Rate(await target.ReadFloorAsync(readRequests, floorDuration, run)));
        return new FromEmptyRow(
            target.Name, persons, reads, callers,
            Math.Round(write.OperationsPerSecond),
            initial is null || beforeReads is null ? null : beforeReads - initial,
            read.Operations,
            Math.Round(read.OperationsPerSecond),
            Math.Round(read.OperationsPerSecond / floor, 2),
            Math.Round(floor),
            Runner.Percentile(latencies, 0.50),
            Runner.Percentile(latencies, 0.99),
            latencies.Length == 0 ? 0 : Runner.Ms(latencies[^1]),
            read.BytesPerOperation,
            beforeReads is null || afterReads is null ? null : afterReads - beforeReads);
    }

    public static string Line(FromEmptyRow r) =>
        $"{Workload} {r.Callers,2} callers: writes {r.WriteOpsPerSecond,8:N0} ops/s{Scans(r.WriteScans, " ")}; reads {r.ReadOpsPerSecond,8:N0} ops/s  {r.RatioToReadFloor,5:0.00}x read floor  p50 {r.P50Ms,7:0.000} ms  p99 {r.P99Ms,7:0.000} ms  {r.BytesPerOp,6:N0} B/op{Scans(r.ReadScans, " ")}";

    public static string Markdown(IReadOnlyList<FromEmptyRow> rows, string setup)
    {
        var markdown = new StringBuilder();
        var first = rows[0];
        markdown.AppendLine(CultureInfo.InvariantCulture, $"From empty: a new database with the schema and no contacts; the callers write {first.Persons:N0} persons (each (email, phone), then (email, second phone): {2 * first.Persons:N0} contacts), then send {first.Reads:N0} retail identifies over them (read-only), which are the figure; the read floor is measured afterwards on the same database. Scans: PostgreSQL's `pg_stat_user_tables` counters of `Contact` during each phase (n/a where the store keeps none). Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}. {setup}.");
        markdown.AppendLine();
        markdown.AppendLine("| store | persons | callers | write ops/s | write seq scans | read ops/s | × read floor | p50 ms | p99 ms | max ms | B/op | read seq scans | rows read by seq scans | read index scans |");
        markdown.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            markdown.AppendLine(CultureInfo.InvariantCulture, $"| {r.Store} | {r.Persons:N0} | {r.Callers} | {r.WriteOpsPerSecond:N0} | {Count(r.WriteScans?.SequentialScans)} | {r.ReadOpsPerSecond:N0} | {r.RatioToReadFloor:0.00} ({r.ReadFloor:N0}/s) | {r.P50Ms:0.000} | {r.P99Ms:0.000} | {r.MaxMs:0.0} | {r.BytesPerOp:N0} | {Count(r.ReadScans?.SequentialScans)} | {Count(r.ReadScans?.RowsReadBySequentialScans)} | {Count(r.ReadScans?.IndexScans)} |");
        }

        return markdown.ToString();
    }

    // Polls until two readings a quarter of a second apart agree (the closing backends have flushed), for up to 15 s.
    private static async Task<TableScans?> SettledScansAsync(IBenchTarget target, BenchRun run)
    {
        var previous = await target.ContactScansAsync(run);
        if (previous is null)
        {
            return null;
        }

        for (var i = 0; i < 60; i++)
        {
            await Task.Delay(250);
            var current = await target.ContactScansAsync(run);
            if (current == previous && i >= 3)
            {
                return current;
            }

            previous = current;
        }

        return previous;
    }

    private static string Scans(TableScans? scans, string prefix) => scans is null
        ? ""
        : string.Create(CultureInfo.InvariantCulture, $"{prefix} ({scans.SequentialScans:N0} seq scans reading {scans.RowsReadBySequentialScans:N0} rows, {scans.IndexScans:N0} index scans)");

    private static string Count(long? value) => value is { } v ? v.ToString("N0", CultureInfo.InvariantCulture) : "n/a";

    private static double Rate((long Operations, TimeSpan Elapsed) run) => run.Operations / run.Elapsed.TotalSeconds;
}

internal sealed record FromEmptyRow(
    string Store, int Persons, int Reads, int Callers, double WriteOpsPerSecond, TableScans? WriteScans, long ReadOperations, double ReadOpsPerSecond,
    double RatioToReadFloor, double ReadFloor, double P50Ms, double P99Ms, double MaxMs, long BytesPerOp, TableScans? ReadScans);
