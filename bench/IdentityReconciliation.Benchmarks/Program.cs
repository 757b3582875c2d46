using System.Globalization;
using System.Text;
using System.Text.Json;
using IdentityReconciliation;
using IdentityReconciliation.Benchmarks;
using IdentityReconciliation.Sqlite;

// Throughput harness: every workload at every store size and caller count, with the bare-SQL floor measured in the
// same run. Prints a table and writes it as Markdown and JSON under bench/results/.
if (args.Contains(ProcessesBench.ChildFlag))
{
    // One of the processes of --processes (internal: started by the parent, which owns the database).
    return await ProcessesBench.ChildAsync(Arg, GuardOptions);
}

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(Usage.Text);
    return 0;
}

if (Usage.Check(args) is { } mistake)
{
    await Console.Error.WriteLineAsync($"{mistake} Run with --help for the options.");
    return 2;
}

if (Array.IndexOf(args, "--export") is var export and >= 0)
{
    // Writes a preloaded SQLite file (the benchmark's data set) for other tools, such as the web API load test.
    var contacts = long.Parse(args[export + 1], CultureInfo.InvariantCulture);
    var exportPath = Path.GetFullPath(args[export + 2]);
    var built = await SqliteBench.TemplateAsync(Path.GetDirectoryName(exportPath)!, contacts);
    File.Move(built, exportPath, overwrite: true);
    Console.WriteLine($"Wrote {contacts:N0} contacts to {exportPath}");
    return 0;
}

if (args.Contains("--overhead"))
{
    // The guards' own CPU per identify, with no database (see GuardOverhead).
    var table = await GuardOverhead.RunAsync(rounds: 9, callsPerRound: args.Contains("--quick") ? 20_000 : 200_000);
    Console.WriteLine(table);
    var overheadOut = Arg("--out") ?? Path.Combine(FindRepositoryRoot(), "bench", "results");
    Directory.CreateDirectory(overheadOut);
    await File.WriteAllTextAsync(Path.Combine(overheadOut, "guard-overhead.md"), $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}.{Environment.NewLine}{Environment.NewLine}{table}{Environment.NewLine}");
    return 0;
}

var quick = args.Contains("--quick");
var sizes = Arg("--sizes")?.Split(',').Select(long.Parse).ToArray() ?? (quick ? [10_000L] : [10_000L, 100_000L, 1_000_000L]);
var callerCounts = Arg("--callers")?.Split(',').Select(int.Parse).ToArray() ?? [1, 16];
var workloads = Arg("--workloads")?.Split(',') ?? [.. Workloads.All, HubBench.Workload];
foreach (var unknown in workloads.Except(Usage.Workloads))
{
    throw new ArgumentException($"Unknown workload '{unknown}': use {string.Join(", ", Usage.Workloads)}.");
}

// backfill: how many rows the back-fill sends through IdentifyManyAsync, and the chunk size (IdentifyManyChunkSize).
var backfillRows = int.Parse(Arg("--backfill-rows") ?? (quick ? "10000" : "100000"), CultureInfo.InvariantCulture);
var backfillChunk = int.Parse(Arg("--chunk") ?? IdentityReconciliationOptions.DefaultIdentifyManyChunkSize.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

// from-empty: how many persons the callers write into the new database, and how many read-only identifies follow.
var emptyPersons = int.Parse(Arg("--empty-persons") ?? "5000", CultureInfo.InvariantCulture);
var emptyReads = int.Parse(Arg("--empty-reads") ?? "10000", CultureInfo.InvariantCulture);
// --processes 1,2,4: the workloads run in that many child processes sharing one database, instead of in this process.
var processCounts = Arg("--processes")?.Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
// The guards: "on" (the defaults), "off" (no blocklist, no limits), or "both" (each figure with guards off, then on).
var guardSettings = (Arg("--guards") ?? "on") switch
{
    "on" => new[] { "on" },
    "off" => ["off"],
    "both" => ["off", "on"],
    var other => throw new ArgumentException($"Unknown --guards '{other}': use on, off or both."),
};
// The change feed: "on" (the default: every change recorded in its transaction), "off" (the store's internal switch, for
// the baseline only), or "both" (each figure with the feed off, then on: what recording the feed costs).
var feedSettings = (Arg("--feed") ?? "on") switch
{
    "on" => new[] { "on" },
    "off" => ["off"],
    "both" => ["off", "on"],
    var other => throw new ArgumentException($"Unknown --feed '{other}': use on, off or both."),
};
var variants = guardSettings.SelectMany(g => feedSettings.Select(f => (Guards: g, Feed: f))).ToArray();
// With --repeat N, each figure is measured N times per guard setting, alternating the order, and the best is kept (the
// machines are shared: a noisy moment must not decide a comparison).
var repeat = int.Parse(Arg("--repeat") ?? "1", CultureInfo.InvariantCulture);
// --paired-floors: each figure's ratio is taken against its floor measured right before and right after it (the better
// of the two), instead of the size's floor measured once before every figure, so that a shared machine's slow or fast
// minutes weigh on both sides of the ratio.
var pairedFloors = args.Contains("--paired-floors");
var hubRequests = int.Parse(Arg("--hub-requests") ?? (quick ? "1000" : "10000"), CultureInfo.InvariantCulture);
var hubTail = hubRequests / 10;
var hubSettings = (Arg("--hub-settings") ?? "on,off").Split(',');
var duration = TimeSpan.FromSeconds(double.Parse(Arg("--seconds") ?? (quick ? "1" : "5"), CultureInfo.InvariantCulture));
var output = Arg("--out") ?? Path.Combine(FindRepositoryRoot(), "bench", "results");
var storeName = Arg("--store") ?? "sqlite";
var synchronous = Arg("--synchronous") is "normal" ? SqliteSynchronousMode.Normal : SqliteSynchronousMode.Full;
var work = Path.Combine(Path.GetTempPath(), "idr-bench");
Directory.CreateDirectory(work);
Directory.CreateDirectory(output);
const int Seed = 20261121;
var maxOperations = quick ? 50_000 : 1_000_000;

IBenchTarget target = storeName switch
{
    "sqlite" => new SqliteTarget(work, synchronous),
    "postgres" => new PostgresTarget(Arg("--postgres") ?? Environment.GetEnvironmentVariable("IDR_POSTGRES")
        ?? throw new InvalidOperationException("--store postgres needs a server: set IDR_POSTGRES (an Npgsql connection string of a user that may create databases) or pass --postgres, or run under .ci/postgres.sh.")),
    _ => throw new ArgumentException($"Unknown store '{storeName}': use sqlite or postgres."),
};
await using var disposeTarget = target;
if (processCounts is not null && target is not PostgresTarget)
{
    throw new ArgumentException("--processes needs --store postgres (several processes sharing one server).");
}

var setup = await target.DescribeAsync();
Console.WriteLine($"IdentityReconciliation benchmark — store {target.Name}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {(quick ? "quick" : "full")} run, {duration.TotalSeconds:0.#} s per figure; {setup}");
var rows = new List<Row>();
var hubRows = new List<(long Contacts, HubMeasurement Measurement)>();
var fromEmptyRows = new List<FromEmptyRow>();
var processRows = new List<ProcessesRow>();
var backfillResults = new List<BackfillRow>();
var sizeWorkloads = workloads.Where(w => w != FromEmptyBench.Workload && (processCounts is null || w != HubBench.Workload)).ToArray();

// From empty: independent of the store sizes, so once per run, before them.
if (workloads.Contains(FromEmptyBench.Workload))
{
    Console.WriteLine($"\n== {FromEmptyBench.Workload}: {emptyPersons:N0} persons written into a new database, then {emptyReads:N0} read-only identifies");
    foreach (var callers in callerCounts)
    {
        var row = await FromEmptyBench.RunAsync(target, emptyPersons, emptyReads, callers, duration, GuardOptions(guardSettings[^1]), Seed);
        fromEmptyRows.Add(row);
        Console.WriteLine(FromEmptyBench.Line(row));
    }
}

foreach (var size in sizeWorkloads.Length == 0 ? [] : sizes)
{
    Console.WriteLine($"\n== {size:N0} contacts: preloading");
    await target.PrepareAsync(size);

    if (processCounts is not null)
    {
        // Several processes sharing one database: the figure is the total, so the in-process figures and floors are skipped.
        foreach (var workload in sizeWorkloads)
        {
            foreach (var callers in callerCounts)
            {
                foreach (var processes in processCounts)
                {
                    var row = await ProcessesBench.RunAsync((PostgresTarget)target, workload, size, processes, callers, duration, guardSettings[^1], feedSettings[^1], maxOperations, Seed, work);
                    processRows.Add(row);
                    Console.WriteLine(ProcessesBench.Line(row));
                }
            }
        }

        await target.DropAsync();
        continue;
    }

    // The floors, on the same data.
    var writeRequests = Workloads.Generate(Workloads.WriteHeavy, size, maxOperations, Seed);
    var readRequests = Workloads.Generate(Workloads.Retail, size, 200_000, Seed);
    // Each floor is the better of two measurements, so that a noisy moment never flatters the library's ratios.
    var writeFloor = Math.Max(Rate(await target.WriteFloorAsync(writeRequests, duration, perTransaction: 1)), Rate(await target.WriteFloorAsync(writeRequests, duration, perTransaction: 1)));
    var batchedFloor = Math.Max(Rate(await target.WriteFloorAsync(writeRequests, duration, perTransaction: 100)), Rate(await target.WriteFloorAsync(writeRequests, duration, perTransaction: 100)));
    var readFloor = Math.Max(Rate(await target.ReadFloorAsync(readRequests, duration)), Rate(await target.ReadFloorAsync(readRequests, duration)));
    Console.WriteLine($"floor: {writeFloor,10:N0} writes/s (1 per transaction)  {batchedFloor,10:N0} writes/s (100 per transaction)  {readFloor,10:N0} lookups/s (1 thread)");

    // The back-fill, on a fresh copy of the same data, against the 100-per-transaction floor just measured.
    if (workloads.Contains(BackfillBench.Workload))
    {
        var options = GuardOptions(guardSettings[^1]);
        options.IdentifyManyChunkSize = backfillChunk;
        var backfillRequests = BackfillBench.Generate(size, backfillRows, Seed);

        // A second floor, for diagnosis only (the target is against the one above): the same bare inserts on the back-fill's
        // own rows, in its order, all of them. The floor above inserts the write-heavy rows, whose keys rise, so every index
        // insert appends at the B-tree's right edge; the back-fill's rows are random persons.
        var ownRowsFloor = Rate(await target.WriteFloorAsync(backfillRequests, TimeSpan.FromHours(1), perTransaction: 100));
        var backfill = await BackfillBench.RunAsync(target, size, backfillRequests, options, batchedFloor, ownRowsFloor);
        backfillResults.Add(backfill);
        Console.WriteLine(BackfillBench.Line(backfill));
    }

    foreach (var workload in sizeWorkloads.Where(w => w != HubBench.Workload && w != BackfillBench.Workload))
    {
        var requests = Workloads.Generate(workload, size, maxOperations, Seed);
        foreach (var callers in callerCounts)
        {
            async Task<double> MeasureFloorAsync() => workload == Workloads.Retail
                ? Rate(await target.ReadFloorAsync(readRequests, duration))
                : Rate(await target.WriteFloorAsync(writeRequests, duration, perTransaction: 1));
            var floorBefore = pairedFloors ? await MeasureFloorAsync() : 0;
            var best = new Dictionary<(string Guards, string Feed), Measurement>();
            for (var attempt = 0; attempt < repeat; attempt++)
            {
                foreach (var variant in attempt % 2 == 0 ? variants : Enumerable.Reverse(variants))
                {
                    target.RecordChangeFeed = variant.Feed == "on";
                    var attemptMeasurement = await Runner.RunAsync(target.StartRunAsync, requests, callers, duration, GuardOptions(variant.Guards));
                    if (!best.TryGetValue(variant, out var previous) || attemptMeasurement.OperationsPerSecond > previous.OperationsPerSecond)
                    {
                        best[variant] = attemptMeasurement;
                    }
                }
            }

            target.RecordChangeFeed = true;
            var pairedFloor = pairedFloors ? Math.Max(floorBefore, await MeasureFloorAsync()) : 0;
            foreach (var variant in variants)
            {
                var (guards, feed) = variant;
                var measurement = best[variant];

                var floor = pairedFloors ? pairedFloor : workload == Workloads.Retail ? readFloor : writeFloor;
                var row = new Row(target.Name, workload, size, callers, guards, feed, measurement.Operations, Math.Round(measurement.OperationsPerSecond),
                    Math.Round(measurement.OperationsPerSecond / floor, 2), workload == Workloads.Retail ? "read" : "write",
                    measurement.P50Ms, measurement.P99Ms, measurement.MaxMs, measurement.BytesPerOperation,
                    measurement.PeakWorkingSetBytes / (1024 * 1024), Math.Round(writeFloor), Math.Round(batchedFloor), Math.Round(readFloor), measurement.Rounds, Math.Round(floor));
                rows.Add(row);
                Console.WriteLine($"{workload,-12} {callers,2} callers guards {guards,-3} feed {feed,-3}: {row.OpsPerSecond,10:N0} ops/s  {row.RatioToFloor,5:0.00}x {row.Floor} floor ({row.FloorPerSecond:N0}/s{(pairedFloors ? ", paired" : "")})  p50 {row.P50Ms,7:0.000} ms  p99 {row.P99Ms,7:0.000} ms  max {row.MaxMs,8:0.0} ms  {row.BytesPerOp,6:N0} B/op  peak WS {row.PeakWorkingSetMiB:N0} MiB{(row.Rounds > 1 ? $"  ({row.Rounds} rounds)" : "")}");
            }
        }
    }

    // The hub: once per run (at the first size), with the guards and with the limits off for contrast.
    if (workloads.Contains(HubBench.Workload) && size == sizes[0])
    {
        var settings = new[] { ("on", "guards on", GuardOptions("on")), ("off", "limits off", new IdentityReconciliationOptions { MaxEmailsPerPerson = null, MaxPhoneNumbersPerPerson = null }) };
        foreach (var (_, setting, options) in settings.Where(s => hubSettings.Contains(s.Item1)))
        {
            var hub = await HubBench.RunAsync(target.StartRunAsync, setting, options, hubRequests, hubTail);
            hubRows.Add((size, hub));
            Console.WriteLine($"hub {setting,-10}: {hub.Requests:N0} requests in {hub.Seconds:0.0} s; first {hub.Tail:N0}: p50 {hub.FirstP50Ms:0.000} ms, p99 {hub.FirstP99Ms:0.000} ms, {hub.FirstBytesPerResponse:N0} B/response; last {hub.Tail:N0}: p50 {hub.LastP50Ms:0.000} ms, p99 {hub.LastP99Ms:0.000} ms, {hub.LastBytesPerResponse:N0} B/response; the shared phone's person has {hub.HubEmails:N0} emails");
        }
    }

    await target.DropAsync();
}

var durableSuffix = target is PostgresTarget { Durable: true } ? "-durable" : "";
if (fromEmptyRows.Count > 0)
{
    var fromEmpty = FromEmptyBench.Markdown(fromEmptyRows, setup);
    var fromEmptyStem = Path.Combine(output, $"{target.Name}{durableSuffix}-from-empty{(quick ? "-quick" : "")}");
    await File.WriteAllTextAsync(fromEmptyStem + ".md", fromEmpty);
    await File.WriteAllTextAsync(fromEmptyStem + ".json", JsonSerializer.Serialize(fromEmptyRows, new JsonSerializerOptions { WriteIndented = true }));
    Console.WriteLine();
    Console.WriteLine(fromEmpty);
    Console.WriteLine($"Wrote {fromEmptyStem}.md and {fromEmptyStem}.json");
}

if (processRows.Count > 0)
{
    var processesTable = ProcessesBench.Markdown(processRows, setup, duration);
    var processesStem = Path.Combine(output, $"{target.Name}{durableSuffix}-processes{(quick ? "-quick" : "")}");
    await File.WriteAllTextAsync(processesStem + ".md", processesTable);
    await File.WriteAllTextAsync(processesStem + ".json", JsonSerializer.Serialize(processRows, new JsonSerializerOptions { WriteIndented = true }));
    Console.WriteLine();
    Console.WriteLine(processesTable);
    Console.WriteLine($"Wrote {processesStem}.md and {processesStem}.json");
}

if (rows.Count == 0 && hubRows.Count == 0 && backfillResults.Count == 0)
{
    return 0;
}

// Scale: throughput at the largest size relative to the smallest.
var markdown = new StringBuilder();
markdown.AppendLine(CultureInfo.InvariantCulture, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {(quick ? "quick" : "full")}, {duration.TotalSeconds:0.#} s per figure{(repeat > 1 ? $", best of {repeat} per setting (alternating order)" : "")}. {setup}.");
markdown.AppendLine();
if (rows.Count > 0)
{
    if (pairedFloors)
    {
        markdown.AppendLine("Each ratio is taken against its floor measured right before and right after the figure (the better of the two: floor/s).");
        markdown.AppendLine();
    }

    markdown.AppendLine("| store | workload | contacts | callers | guards | feed | ops/s | × floor | floor/s | p50 ms | p99 ms | max ms | B/op | peak WS MiB | operations (rounds) |");
    markdown.AppendLine("| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    foreach (var r in rows)
    {
        markdown.AppendLine(CultureInfo.InvariantCulture, $"| {r.Store} | {r.Workload} | {r.Contacts:N0} | {r.Callers} | {r.Guards} | {r.Feed} | {r.OpsPerSecond:N0} | {r.RatioToFloor:0.00} ({r.Floor}) | {r.FloorPerSecond:N0} | {r.P50Ms:0.000} | {r.P99Ms:0.000} | {r.MaxMs:0.0} | {r.BytesPerOp:N0} | {r.PeakWorkingSetMiB:N0} | {r.Operations:N0} ({r.Rounds}) |");
    }
}

if (guardSettings.Length > 1)
{
    markdown.AppendLine();
    markdown.AppendLine("| workload | contacts | callers | ops/s guards on ÷ guards off | B/op on − off |");
    markdown.AppendLine("| --- | ---: | ---: | ---: | ---: |");
    foreach (var g in rows.Where(r => r.Feed == feedSettings[^1]).GroupBy(r => (r.Workload, r.Contacts, r.Callers)))
    {
        var on = g.Single(r => r.Guards == "on");
        var off = g.Single(r => r.Guards == "off");
        markdown.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key.Workload} | {g.Key.Contacts:N0} | {g.Key.Callers} | {on.OpsPerSecond / off.OpsPerSecond:0.00} | {on.BytesPerOp - off.BytesPerOp:N0} |");
    }
}

if (feedSettings.Length > 1)
{
    markdown.AppendLine();
    markdown.AppendLine("| workload | contacts | callers | ops/s feed on ÷ feed off | B/op on − off |");
    markdown.AppendLine("| --- | ---: | ---: | ---: | ---: |");
    foreach (var g in rows.Where(r => r.Guards == guardSettings[^1]).GroupBy(r => (r.Workload, r.Contacts, r.Callers)))
    {
        var on = g.Single(r => r.Feed == "on");
        var off = g.Single(r => r.Feed == "off");
        markdown.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key.Workload} | {g.Key.Contacts:N0} | {g.Key.Callers} | {on.OpsPerSecond / off.OpsPerSecond:0.00} | {on.BytesPerOp - off.BytesPerOp:N0} |");
    }
}

if (hubRows.Count > 0)
{
    markdown.AppendLine();
    markdown.AppendLine(CultureInfo.InvariantCulture, $"Hub: {hubRequests:N0} requests, one caller, distinct emails and one shared phone, on a fresh copy of the {hubRows[0].Contacts:N0}-contact store.");
    markdown.AppendLine();
    markdown.AppendLine(CultureInfo.InvariantCulture, $"| setting | p50 ms, first {hubTail:N0} | p50 ms, last {hubTail:N0} | p99 ms, first {hubTail:N0} | p99 ms, last {hubTail:N0} | B/response, first {hubTail:N0} | B/response, last {hubTail:N0} | emails of the shared phone's person | total s |");
    markdown.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    foreach (var (_, h) in hubRows)
    {
        markdown.AppendLine(CultureInfo.InvariantCulture, $"| {h.Setting} | {h.FirstP50Ms:0.000} | {h.LastP50Ms:0.000} | {h.FirstP99Ms:0.000} | {h.LastP99Ms:0.000} | {h.FirstBytesPerResponse:N0} | {h.LastBytesPerResponse:N0} | {h.HubEmails:N0} | {h.Seconds:0.0} |");
    }
}

if (backfillResults.Count > 0)
{
    BackfillBench.AppendMarkdown(markdown, backfillResults);
}

if (rows.Count > 0)
{
    markdown.AppendLine();
    markdown.AppendLine("| contacts | write floor (1 write per transaction) | write floor (100 per transaction) | read floor (1 thread) |");
    markdown.AppendLine("| ---: | ---: | ---: | ---: |");
    foreach (var g in rows.GroupBy(r => r.Contacts))
    {
        var f = g.First();
        markdown.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key:N0} | {f.WriteFloor:N0}/s | {f.BatchedWriteFloor:N0}/s | {f.ReadFloor:N0}/s |");
    }
}

if (sizes.Length > 1)
{
    markdown.AppendLine();
    markdown.AppendLine(CultureInfo.InvariantCulture, $"| workload | callers | ops/s at {sizes[^1]:N0} ÷ ops/s at {sizes[0]:N0} |");
    markdown.AppendLine("| --- | ---: | ---: |");
    foreach (var g in rows.Where(r => r.Guards == guardSettings[^1] && r.Feed == feedSettings[^1]).GroupBy(r => (r.Workload, r.Callers)))
    {
        var small = g.First(r => r.Contacts == sizes[0]);
        var large = g.First(r => r.Contacts == sizes[^1]);
        markdown.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key.Workload} | {g.Key.Callers} | {large.OpsPerSecond / small.OpsPerSecond:0.00} |");
    }
}

var stem = Path.Combine(output, target.Name + durableSuffix + (rows.Count == 0 && hubRows.Count == 0 ? "-backfill" : "") + (synchronous == SqliteSynchronousMode.Normal && target.Name == "sqlite" ? "-normal" : "") + (guardSettings.Length > 1 ? "-guards" : "") + (feedSettings.Length > 1 ? "-feed" : "") + (quick ? "-quick" : ""));
await File.WriteAllTextAsync(stem + ".md", markdown.ToString());
await File.WriteAllTextAsync(stem + ".json", JsonSerializer.Serialize(new { Rows = rows, Hub = hubRows.Select(h => h.Measurement), Backfill = backfillResults }, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine();
Console.WriteLine(markdown);
Console.WriteLine($"Wrote {stem}.md and {stem}.json");
return 0;

string? Arg(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

static double Rate((long Operations, TimeSpan Elapsed) run) => run.Operations / run.Elapsed.TotalSeconds;

// "on": the default guards (placeholder blocklist, 10 emails and 10 phone numbers per person); "off": none of them.
static IdentityReconciliationOptions GuardOptions(string setting) => setting == "on"
    ? new IdentityReconciliationOptions()
    : new IdentityReconciliationOptions { UseDefaultBlocklist = false, MaxEmailsPerPerson = null, MaxPhoneNumbersPerPerson = null };

static string FindRepositoryRoot()
{
    var directory = new DirectoryInfo(AppContext.BaseDirectory);
    while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IdentityReconciliation.Core.sln")))
    {
        directory = directory.Parent;
    }

    return directory?.FullName ?? Directory.GetCurrentDirectory();
}

internal sealed record Row(
    string Store, string Workload, long Contacts, int Callers, string Guards, string Feed, long Operations, double OpsPerSecond, double RatioToFloor, string Floor,
    double P50Ms, double P99Ms, double MaxMs, long BytesPerOp, long PeakWorkingSetMiB, double WriteFloor, double BatchedWriteFloor, double ReadFloor, int Rounds, double FloorPerSecond);
