using System.Diagnostics;
using System.Globalization;
using IdentityReconciliation.PostgreSql.Tests.Support;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>Several OS processes, each with its own connection pool, hammer one database: the locking protocol must keep the graph whole.</summary>
[RequiresPostgreSql]
public sealed class PostgreSqlMultiProcessTests : IAsyncLifetime
{
    private const int RequestsPerProcess = 300;
    private PostgreSqlDatabase? _database;

    private PostgreSqlDatabase Database => _database!;

    private static IEnumerable<(string? Email, string? Phone)> Requests(int seed, int count) =>
        MultiProcessRequests.Random(seed, count, MultiProcessRequests.PostgreSqlUniverse);

    public async Task InitializeAsync() => _database = await PostgreSqlDatabase.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    [Fact]
    public async Task IdentifyAsync_ThreeProcessesStartingTogether_MigrateOnceAndKeepInvariants()
    {
        // The children start on an empty database: schema creation races too (it runs under an advisory lock).
        var children = new[] { 101, 202, 303 }.Select(Start).ToArray();
        try
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

            // This process joins in with its own store and pool.
            await using (var store = new PostgreSqlContactStore(Database.ConnectionString))
            {
                var reconciler = new IdentityReconciler(store);
                await Parallel.ForEachAsync(Requests(404, RequestsPerProcess).Chunk(RequestsPerProcess / 4), async (chunk, ct) =>
                {
                    foreach (var (email, phone) in chunk)
                    {
                        await reconciler.IdentifyAsync(new IdentifyRequest(email, phone), ct);
                    }
                });
            }

            foreach (var child in children)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
                await child.WaitForExitAsync(timeout.Token);
                var stderr = await child.StandardError.ReadToEndAsync();
                child.ExitCode.Should().Be(0, stderr);
                (await child.StandardOutput.ReadToEndAsync()).Should().Contain("done");
            }
        }
        finally
        {
            foreach (var child in children)
            {
                if (!child.HasExited)
                {
                    child.Kill();
                }

                child.Dispose();
            }
        }

        (await Database.ScalarAsync<long>("SELECT count(*) FROM \"ContactSchemaVersion\"")).Should().Be(1, "the schema was created once");
        var rows = await Database.ReadAllAsync();
        var all = new[] { 101, 202, 303, 404 }.SelectMany(seed => Requests(seed, RequestsPerProcess)).ToList();
        GraphInvariants.AssertHold(rows, all, new IdentityReconciliationOptions()); // the default guards: a universe of 300 reaches the limits
        rows.Count.Should().BeLessThan(all.Count, "repeat customers add no rows");

        // Repeating any request changes nothing.
        await using (var store = new PostgreSqlContactStore(Database.ConnectionString))
        {
            var reconciler = new IdentityReconciler(store);
            await Parallel.ForEachAsync(all.Distinct(), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (request, ct) =>
                await reconciler.IdentifyAsync(new IdentifyRequest(request.Email, request.Phone), ct));
        }

        (await Database.ReadAllAsync()).Should().BeEquivalentTo(rows, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task EraseAsync_RacingIdentifyInOtherProcesses_KeepsTheGraphWholeAndTheValuesGone()
    {
        const int RaceRequestsPerProcess = 250;
        await using (var store = new PostgreSqlContactStore(Database.ConnectionString))
        {
            var reconciler = new IdentityReconciler(store, ContactStoreContractTests.RaceGuards);
            foreach (var (email, phone) in ContactStoreContractTests.RaceSeed())
            {
                await reconciler.IdentifyAsync(new IdentifyRequest(email, phone));
            }
        }

        var children = new[] { 101, 202 }.Select(seed => Start(seed, "race", RaceRequestsPerProcess)).ToArray();
        try
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

            // This process erases every gone{k} while the children write to the same persons, and races them too.
            await using (var store = new PostgreSqlContactStore(Database.ConnectionString))
            {
                var reconciler = new IdentityReconciler(store, ContactStoreContractTests.RaceGuards);
                var erasures = ContactStoreContractTests.RaceErased().Select(value => (Func<Task>)(() => reconciler.EraseAsync(new IdentifyRequest(value, null))));
                var identifies = ContactStoreContractTests.RaceRequests(303, RaceRequestsPerProcess).Select(r => (Func<Task>)(() => reconciler.IdentifyAsync(new IdentifyRequest(r.Email, r.Phone))));
                var work = erasures.Concat(identifies).OrderBy(_ => Random.Shared.Next()).ToList();
                await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (item, _) => await item());
            }

            foreach (var child in children)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
                await child.WaitForExitAsync(timeout.Token);
                var stderr = await child.StandardError.ReadToEndAsync();
                child.ExitCode.Should().Be(0, stderr);
                (await child.StandardOutput.ReadToEndAsync()).Should().Contain("done");
            }
        }
        finally
        {
            foreach (var child in children)
            {
                if (!child.HasExited)
                {
                    child.Kill();
                }

                child.Dispose();
            }
        }

        var requests = new[] { 101, 202, 303 }.SelectMany(seed => ContactStoreContractTests.RaceRequests(seed, RaceRequestsPerProcess)).ToList();
        ContactStoreContractTests.AssertRaceOutcome(await Database.ReadAllAsync(), await Database.ReadLinksAsync(), requests);
    }

    [Fact]
    public async Task GetChangesAsync_ProcessesWritingWhileAReaderPolls_ReaderSeesEveryCommittedEntryOnceInOrder()
    {
        const int FeedRequestsPerProcess = 120;
        await using var store = new PostgreSqlContactStore(Database.ConnectionString);
        await store.EnsureSchemaAsync();
        var children = new[] { 111, 222, 333 }.Select(seed => Start(seed, "hammer", FeedRequestsPerProcess)).ToArray();
        var seen = new List<ContactChange>();
        using var writersDone = new CancellationTokenSource();
        try
        {
            foreach (var child in children)
            {
                using var ready = new CancellationTokenSource(TimeSpan.FromMinutes(2));
                (await child.StandardOutput.ReadLineAsync(ready.Token)).Should().Be("ready", await TestingHost.ReadErrorIfExitedAsync(child));
            }

            // The reader polls from the last sequence it has read, in small pages, on its own connections, while the
            // children (each with its own pool) and this process write.
            var reader = Task.Run(async () =>
            {
                var after = 0L;
                while (true)
                {
                    var finished = writersDone.IsCancellationRequested;
                    var page = await store.GetChangesAsync(after, 5);
                    foreach (var entry in page)
                    {
                        entry.Sequence.Should().BeGreaterThan(after, "a reader never finds an entry at or below what it has read");
                        after = entry.Sequence;
                    }

                    seen.AddRange(page);
                    if (finished && page.Count == 0)
                    {
                        return;
                    }
                }
            });

            foreach (var child in children)
            {
                await child.StandardInput.WriteLineAsync("go");
                await child.StandardInput.FlushAsync();
            }

            await using (var writer = new PostgreSqlContactStore(Database.ConnectionString))
            {
                var reconciler = new IdentityReconciler(writer);
                await Parallel.ForEachAsync(Requests(444, FeedRequestsPerProcess).Chunk(FeedRequestsPerProcess / 4), async (chunk, ct) =>
                {
                    foreach (var (email, phone) in chunk)
                    {
                        await reconciler.IdentifyAsync(new IdentifyRequest(email, phone), ct);
                    }
                });
            }

            foreach (var child in children)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
                await child.WaitForExitAsync(timeout.Token);
                var stderr = await child.StandardError.ReadToEndAsync();
                child.ExitCode.Should().Be(0, stderr);
            }

            await writersDone.CancelAsync();
            await reader;
        }
        finally
        {
            await writersDone.CancelAsync();
            foreach (var child in children)
            {
                if (!child.HasExited)
                {
                    child.Kill();
                }

                child.Dispose();
            }
        }

        var feed = await FeedReplay.ReadAllAsync((after, max) => store.GetChangesAsync(after, max));
        feed.Should().NotBeEmpty();
        seen.Should().Equal(feed, "the reader saw every committed entry exactly once, in sequence order");
        FeedReplay.AssertRebuilds(seen, await Database.ReadAllAsync());
    }

    private Process Start(int seed) => Start(seed, "hammer", RequestsPerProcess);

    private Process Start(int seed, string mode, int count) =>
        TestingHost.Start(
            "postgres",
            [mode, seed.ToString(CultureInfo.InvariantCulture), count.ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string> { [TestingHost.PostgreSqlConnectionVariable] = Database.ConnectionString });
}
