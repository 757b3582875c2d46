using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace IdentityReconciliation.Benchmarks;

/// <summary>
/// The <c>backfill</c> workload: a shop loading its order history. N rows go through
/// <see cref="IIdentityReconciler.IdentifyManyAsync(IEnumerable{IdentifyRequest}, CancellationToken)"/> on a fresh copy of the
/// preloaded store, one caller, in order; the figure is rows per second over the whole back-fill, compared with the bare-SQL
/// floor of 100 writes per transaction measured in the same run. The rows are new customers (N/2 persons not in the store):
/// 60% (email, phone), 20% (email, second phone), 10% phone only, 10% (email, another new person's phone) — so the back-fill
/// creates primaries and secondaries, repeats itself and merges persons.
/// </summary>
internal static class BackfillBench
{
    public const string Workload = "backfill";

    public static IdentifyRequest[] Generate(long contacts, int rows, int seed)
    {
        var first = (contacts / 2) + 1;
        var persons = Math.Max(1, rows / 2);
        var random = new Random(seed);
        var requests = new IdentifyRequest[rows];
        for (var i = 0; i < rows; i++)
        {
            var k = first + random.Next(persons);
            requests[i] = random.Next(10) switch
            {
                < 6 => new IdentifyRequest(Workloads.Email(k), Workloads.Phone(k)),
                < 8 => new IdentifyRequest(Workloads.Email(k), Workloads.SecondPhone(k)),
                < 9 => new IdentifyRequest(null, Workloads.Phone(k)),
                _ => new IdentifyRequest(Workloads.Email(k), Workloads.Phone(first + random.Next(persons))),
            };
        }

        return requests;
    }

    public static async Task<BackfillRow> RunAsync(IBenchTarget target, long contacts, IdentifyRequest[] requests, IdentityReconciliationOptions options, double batchedFloor, double ownRowsFloor)
    {
        await using var run = await target.StartRunAsync();
        var reconciler = new IdentityReconciler(run.Store, options);
        var outcomes = new long[5];
        long errors = 0;
        var stopwatch = Stopwatch.StartNew();
        await foreach (var result in reconciler.IdentifyManyAsync(requests))
        {
            if (result.Succeeded)
            {
                outcomes[(int)result.Result.Outcome]++;
            }
            else
            {
                errors++;
            }
        }

        stopwatch.Stop();
        var rate = requests.Length / stopwatch.Elapsed.TotalSeconds;
        return new BackfillRow(
            target.Name, contacts, requests.Length, options.IdentifyManyChunkSize, Math.Round(stopwatch.Elapsed.TotalSeconds, 2), Math.Round(rate),
            Math.Round(batchedFloor), Math.Round(rate / batchedFloor, 2),
            outcomes[(int)IdentifyOutcome.PrimaryCreated], outcomes[(int)IdentifyOutcome.SecondaryCreated], outcomes[(int)IdentifyOutcome.PersonsMerged],
            outcomes[(int)IdentifyOutcome.Unchanged], errors, Math.Round(ownRowsFloor), Math.Round(rate / ownRowsFloor, 2));
    }

    public static string Line(BackfillRow r) => string.Create(
        CultureInfo.InvariantCulture,
        $"backfill {r.Rows:N0} rows, chunks of {r.ChunkSize}: {r.Seconds:0.0} s, {r.RowsPerSecond,10:N0} rows/s  {r.RatioToBatchedFloor:0.00}x the 100-per-transaction floor ({r.BatchedFloor:N0}/s); {r.PrimariesCreated:N0} primaries, {r.SecondariesCreated:N0} secondaries, {r.Merges:N0} merges, {r.Unchanged:N0} unchanged; {r.RatioToOwnRowsFloor:0.00}x the same bare inserts on the back-fill's own rows ({r.OwnRowsFloor:N0}/s)");

    public static void AppendMarkdown(StringBuilder markdown, IReadOnlyList<BackfillRow> rows)
    {
        markdown.AppendLine();
        markdown.AppendLine("| store | contacts before | back-fill rows | chunk | seconds | rows/s | 100-per-transaction floor | × floor | primaries | secondaries | merges | unchanged | floor on its own rows | × that |");
        markdown.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            markdown.AppendLine(CultureInfo.InvariantCulture, $"| {r.Store} | {r.Contacts:N0} | {r.Rows:N0} | {r.ChunkSize} | {r.Seconds:0.0} | {r.RowsPerSecond:N0} | {r.BatchedFloor:N0}/s | {r.RatioToBatchedFloor:0.00} | {r.PrimariesCreated:N0} | {r.SecondariesCreated:N0} | {r.Merges:N0} | {r.Unchanged:N0} | {r.OwnRowsFloor:N0}/s | {r.RatioToOwnRowsFloor:0.00} |");
        }
    }
}

internal sealed record BackfillRow(
    string Store, long Contacts, int Rows, int ChunkSize, double Seconds, double RowsPerSecond, double BatchedFloor, double RatioToBatchedFloor,
    long PrimariesCreated, long SecondariesCreated, long Merges, long Unchanged, long Errors, double OwnRowsFloor, double RatioToOwnRowsFloor);
