using System.Diagnostics;
using IdentityReconciliation.Sqlite;

namespace IdentityReconciliation.Tests;

/// <summary>Several OS processes write to one SQLite file at once: the file's write lock must keep the graph whole.</summary>
public sealed class MultiProcessTests : IDisposable
{
    private const int RequestsPerProcess = 1000;
    private readonly TempDatabase _database = new();

    private static IEnumerable<(string? Email, string? Phone)> Requests(int seed, int count) =>
        MultiProcessRequests.Random(seed, count, MultiProcessRequests.SqliteUniverse);

    [Fact]
    public async Task IdentifyAsync_ThreeProcessesCheckpointingEveryFewPages_InvariantsHoldAndTheFileIsSound()
    {
        // Each process's checkpointer runs after every 8 pages its writer adds, so checkpoints of the three processes
        // overlap each other's commits and each other all the time (SQLite lets one run at a time).
        const int Threshold = 8;
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            (await store.FindClustersAsync(new ContactIdentifiers("nobody@x.io", null))).Should().BeEmpty();
        }

        var threshold = Threshold.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var children = new[] { 111, 222 }.Select(seed => Start("hammer", _database.FilePath, seed.ToString(System.Globalization.CultureInfo.InvariantCulture), RequestsPerProcess.ToString(System.Globalization.CultureInfo.InvariantCulture), threshold)).ToArray();
        await GoAsync(children);

        var options = Microsoft.Extensions.Options.Options.Create(new SqliteContactStoreOptions { ConnectionString = _database.ConnectionString, CheckpointThreshold = Threshold });
        await using (var store = new SqliteContactStore(options))
        {
            var reconciler = new IdentityReconciler(store);
            await Parallel.ForEachAsync(Requests(333, RequestsPerProcess).Chunk(RequestsPerProcess / 4), async (chunk, ct) =>
            {
                foreach (var (email, phone) in chunk)
                {
                    await reconciler.IdentifyAsync(new IdentifyRequest(email, phone), ct);
                }
            });
        }

        await WaitForAsync(children);

        var rows = SqliteRows.ReadAll(_database);
        var all = new[] { 111, 222, 333 }.SelectMany(seed => Requests(seed, RequestsPerProcess)).ToList();
        GraphInvariants.AssertHold(rows, all, new IdentityReconciliationOptions());

        // Checkpoints of three processes ran over each other's commits and each other: the file is sound. (How large the
        // WAL grows here depends on how long a starved reader in another process holds its snapshot, which SQLite's own
        // checkpoints cannot shorten either; the bound is tested in one process, SqliteCheckpointerTests.)
        using var raw = _database.OpenRaw();
        using var check = raw.CreateCommand();
        check.CommandText = "PRAGMA integrity_check";
        check.ExecuteScalar().Should().Be("ok");
    }

    [Fact]
    public async Task IdentifyAsync_ProcessKilledRightAfterAcknowledgedCommits_LosesNothingAcknowledged()
    {
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            (await store.FindClustersAsync(new ContactIdentifiers("nobody@x.io", null))).Should().BeEmpty();
        }

        // Checkpoints every 8 pages: the kill lands among commits, checkpoints and WAL restarts.
        var child = Start("crash", _database.FilePath, "8");
        await GoAsync([child]);

        var acknowledged = new List<string>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            while (acknowledged.Count < 600)
            {
                var line = await child.StandardOutput.ReadLineAsync(timeout.Token);
                line.Should().NotBeNull(await TestingHost.ReadErrorIfExitedAsync(child));
                line.Should().StartWith("ack ");
                acknowledged.Add(line!["ack ".Length..]);
            }

            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync(timeout.Token);

            // Acknowledgements printed before the kill landed and not read yet count too.
            while (await child.StandardOutput.ReadLineAsync(timeout.Token) is { } rest)
            {
                if (rest.StartsWith("ack ", StringComparison.Ordinal) && rest.EndsWith("@x.io", StringComparison.Ordinal))
                {
                    acknowledged.Add(rest["ack ".Length..]);
                }
            }
        }

        child.ExitCode.Should().NotBe(0, "the child was killed in the middle of its writes");
        child.Dispose();

        var emails = SqliteRows.ReadAll(_database).Select(r => r.Email).ToHashSet();
        acknowledged.Where(email => !emails.Contains(email)).Should().BeEmpty("every acknowledged write was committed to the WAL before its acknowledgement");
        emails.Count.Should().BeGreaterThanOrEqualTo(acknowledged.Count);
        using var raw = _database.OpenRaw();
        using var check = raw.CreateCommand();
        check.CommandText = "PRAGMA integrity_check";
        check.ExecuteScalar().Should().Be("ok");
    }

    [Fact]
    public async Task IdentifyAsync_ThreeProcessesAddEmailsToOnePhone_ThePersonNeverExceedsTheLimit()
    {
        const int PerProcess = 200;
        const int MaxEmails = 5;
        var options = new IdentityReconciliationOptions { MaxEmailsPerPerson = MaxEmails };
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            (await store.FindClustersAsync(new ContactIdentifiers("nobody@x.io", null))).Should().BeEmpty();
        }

        var children = new[] { "first", "second" }.Select(prefix => Start("hub", _database.FilePath, prefix, PerProcess.ToString(System.Globalization.CultureInfo.InvariantCulture), MaxEmails.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        await GoAsync(children);

        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            var reconciler = new IdentityReconciler(store, options);
            await Parallel.ForEachAsync(MultiProcessRequests.Hub("third", PerProcess).Chunk(PerProcess / 4), async (chunk, ct) =>
            {
                foreach (var (email, phone) in chunk)
                {
                    await reconciler.IdentifyAsync(new IdentifyRequest(email, phone), ct);
                }
            });

            (await reconciler.IdentifyAsync(new IdentifyRequest(null, MultiProcessRequests.HubPhone))).Emails.Should().HaveCount(MaxEmails);
        }

        await WaitForAsync(children);
        var rows = SqliteRows.ReadAll(_database);
        GraphInvariants.AssertHold(rows, new[] { "first", "second", "third" }.SelectMany(prefix => MultiProcessRequests.Hub(prefix, PerProcess)).ToList(), options);
        rows.Should().HaveCount(3 * PerProcess, "every request adds one row: to the hub while it has room, else a person of its own");
        rows.Count(r => r.PhoneNumber == MultiProcessRequests.HubPhone).Should().Be(MaxEmails);
    }

    [Fact]
    public async Task IdentifyAsync_TwoProcessesAndThisOneHammerOneFile_InvariantsHold()
    {
        // Create the schema first so that the processes race on contacts, not on start-up (start-up races are covered too:
        // schema creation runs under BEGIN IMMEDIATE).
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            (await store.FindClustersAsync(new ContactIdentifiers("nobody@x.io", null))).Should().BeEmpty();
        }

        var children = new[] { 101, 202 }.Select(seed => Start("hammer", _database.FilePath, seed.ToString(System.Globalization.CultureInfo.InvariantCulture), RequestsPerProcess.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();

        // Go: both children and this process hammer the file at once, over a universe small enough for frequent merges.
        await GoAsync(children);

        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            var reconciler = new IdentityReconciler(store);
            await Parallel.ForEachAsync(Requests(303, RequestsPerProcess).Chunk(RequestsPerProcess / 4), async (chunk, ct) =>
            {
                foreach (var (email, phone) in chunk)
                {
                    await reconciler.IdentifyAsync(new IdentifyRequest(email, phone), ct);
                }
            });
        }

        await WaitForAsync(children);

        var rows = SqliteRows.ReadAll(_database);
        var all = new[] { 101, 202, 303 }.SelectMany(seed => Requests(seed, RequestsPerProcess)).ToList();
        GraphInvariants.AssertHold(rows, all, new IdentityReconciliationOptions()); // the default guards: a universe of 400 reaches the limits
        rows.Count.Should().BeLessThan(all.Count, "repeat customers add no rows");

        // Repeating any request changes nothing.
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            var reconciler = new IdentityReconciler(store);
            foreach (var (email, phone) in all.Distinct())
            {
                await reconciler.IdentifyAsync(new IdentifyRequest(email, phone));
            }
        }

        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(rows, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task EraseAsync_RacingIdentifyInOtherProcesses_KeepsTheGraphWholeAndTheValuesGone()
    {
        const int RaceRequestsPerProcess = 600;
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            var reconciler = new IdentityReconciler(store, ContactStoreContractTests.RaceGuards);
            foreach (var (email, phone) in ContactStoreContractTests.RaceSeed())
            {
                await reconciler.IdentifyAsync(new IdentifyRequest(email, phone));
            }
        }

        var count = RaceRequestsPerProcess.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var children = new[] { "101", "202" }.Select(seed => Start("race", _database.FilePath, seed, count)).ToArray();
        await GoAsync(children);

        // This process erases every gone{k} while the children write to the same persons, and races them too.
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            var reconciler = new IdentityReconciler(store, ContactStoreContractTests.RaceGuards);
            var erasures = ContactStoreContractTests.RaceErased().Select(value => (Func<Task>)(() => reconciler.EraseAsync(new IdentifyRequest(value, null))));
            var identifies = ContactStoreContractTests.RaceRequests(303, RaceRequestsPerProcess).Select(r => (Func<Task>)(() => reconciler.IdentifyAsync(new IdentifyRequest(r.Email, r.Phone))));
            var work = erasures.Concat(identifies).OrderBy(_ => Random.Shared.Next()).ToList();
            await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (item, _) => await item());
        }

        await WaitForAsync(children);

        var requests = new[] { 101, 202, 303 }.SelectMany(seed => ContactStoreContractTests.RaceRequests(seed, RaceRequestsPerProcess)).ToList();
        ContactStoreContractTests.AssertRaceOutcome(SqliteRows.ReadAll(_database), SqliteRows.ReadLinks(_database), requests);
    }

    [Fact]
    public async Task GetChangesAsync_TwoProcessesWriteWhileThisOnePolls_ReaderSeesEveryEntryOnceInOrder()
    {
        const int PerProcess = 300;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var store = new SqliteContactStore(_database.ConnectionString);
        (await store.FindClustersAsync(new ContactIdentifiers("nobody@x.io", null))).Should().BeEmpty();
        var children = new[] { 404, 505 }.Select(seed => Start("hammer", _database.FilePath, seed.ToString(System.Globalization.CultureInfo.InvariantCulture), PerProcess.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        await GoAsync(children);

        // Poll from the last sequence read, as a consumer in another process would, until the writers are gone and a
        // last read finds nothing more.
        var seen = new List<ContactChange>();
        var pagesWhileWriting = 0;
        var after = 0L;
        while (true)
        {
            var finished = children.All(c => c.HasExited);
            var page = await store.GetChangesAsync(after, 50, timeout.Token);
            foreach (var entry in page)
            {
                entry.Sequence.Should().BeGreaterThan(after, "a reader never finds an entry at or below what it has read");
                after = entry.Sequence;
            }

            seen.AddRange(page);
            if (page.Count > 0 && !finished)
            {
                pagesWhileWriting++;
            }

            if (finished && page.Count == 0)
            {
                break;
            }

            if (page.Count == 0)
            {
                await Task.Delay(5, timeout.Token);
            }
        }

        await WaitForAsync(children);

        pagesWhileWriting.Should().BeGreaterThan(1, "the reader read entries while the other processes were writing");
        seen.Should().Equal(await FeedReplay.ReadAllAsync((a, max) => store.GetChangesAsync(a, max)), "the reader saw every committed entry exactly once, in order");
        FeedReplay.AssertRebuilds(seen, SqliteRows.ReadAll(_database));
    }

    /// <summary>Waits until every child is ready, then tells them all to go.</summary>
    private static async Task GoAsync(Process[] children)
    {
        foreach (var child in children)
        {
            using var ready = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            (await child.StandardOutput.ReadLineAsync(ready.Token)).Should().Be("ready", await TestingHost.ReadErrorIfExitedAsync(child));
        }

        foreach (var child in children)
        {
            await child.StandardInput.WriteLineAsync("go");
            await child.StandardInput.FlushAsync();
        }
    }

    private static async Task WaitForAsync(Process[] children)
    {
        foreach (var child in children)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await child.WaitForExitAsync(timeout.Token);
            var stderr = await child.StandardError.ReadToEndAsync();
            child.ExitCode.Should().Be(0, stderr);
            (await child.StandardOutput.ReadToEndAsync()).Should().Contain("done");
            child.Dispose();
        }
    }

    private static Process Start(params string[] arguments) => TestingHost.Start("sqlite", arguments);

    public void Dispose() => _database.Dispose();
}
