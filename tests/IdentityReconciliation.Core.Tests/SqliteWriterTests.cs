using Dapper;
using IdentityReconciliation.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Tests;

/// <summary>Group commit: requests that queue up share a transaction, yet each stands or falls alone.</summary>
public sealed class SqliteWriterTests : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private SqliteContactStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteContactStore(_database.ConnectionString);
        await _store.FindClustersAsync(new ContactIdentifiers("warm-up@x.io", null));
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _database.Dispose();
    }

    private static readonly DateTimeOffset Now = new(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);

    private static Func<IReadOnlyList<Contact>, ContactChangeSet> Planner(ContactIdentifiers identifiers) =>
        touched => ContactPlanner.Plan(identifiers, touched, DateTimeOffset.UtcNow);

    /// <summary>
    /// Starts a write that holds the writer inside its plan until <paramref name="gate"/> is set, and returns once it is
    /// there: requests made meanwhile queue up behind it and form one batch.
    /// </summary>
    private Task<IReadOnlyList<Contact>> StartBlocker(ContactIdentifiers identifiers, ManualResetEventSlim gate)
    {
        using var entered = new ManualResetEventSlim();
        var task = Task.Run(() => _store.ReconcileAsync(identifiers, touched =>
        {
            entered.Set();
            gate.Wait(TimeSpan.FromSeconds(10));
            return ContactPlanner.Plan(identifiers, touched, DateTimeOffset.UtcNow);
        }));
        entered.Wait(TimeSpan.FromSeconds(10)).Should().BeTrue("the blocker reaches its plan");
        return task;
    }

    /// <summary>A change set that fails after its insert ran: the update names a contact that does not exist.</summary>
    private static Func<IReadOnlyList<Contact>, ContactChangeSet> HalfDone(ContactIdentifiers identifiers) =>
        _ => new ContactChangeSet(
            new NewContact(identifiers.Email, identifiers.PhoneNumber, null, LinkPrecedence.Primary, DateTimeOffset.UtcNow),
            [new ContactUpdate(987_654_321, 1, LinkPrecedence.Secondary, DateTimeOffset.UtcNow)]);

    [Fact]
    public async Task ReconcileAsync_OneRequestOfABatchFails_OnlyThatRequestIsLost()
    {
        using var gate = new ManualResetEventSlim();
        var first = new ContactIdentifiers("first@x.io", "1");

        // The first request holds the writer until the others have queued behind it, so they form one batch.
        var blocker = StartBlocker(first, gate);
        var tasks = Enumerable.Range(0, 40).Select(i =>
        {
            var identifiers = new ContactIdentifiers($"user{i}@x.io", $"{100 + i}");
            return i % 10 == 3
                ? _store.ReconcileAsync(identifiers, HalfDone(identifiers))
                : _store.ReconcileAsync(identifiers, Planner(identifiers));
        }).ToList();
        gate.Set();

        await blocker;
        var outcomes = await Task.WhenAll(tasks.Select(async t =>
        {
            try
            {
                return (await t).Count;
            }
            catch (InvalidOperationException)
            {
                return -1;
            }
        }));

        outcomes.Count(o => o == -1).Should().Be(4);
        outcomes.Where(o => o != -1).Should().OnlyContain(count => count == 1);
        var rows = SqliteRows.ReadAll(_database);
        rows.Select(r => r.Email).Should().BeEquivalentTo(
            new[] { "first@x.io" }.Concat(Enumerable.Range(0, 40).Where(i => i % 10 != 3).Select(i => $"user{i}@x.io")));
    }

    [Fact]
    public async Task ReconcileManyAsync_ChunkFailsInABatchWithOtherRequests_OnlyTheChunkIsLost()
    {
        using var gate = new ManualResetEventSlim();
        var blocker = StartBlocker(new ContactIdentifiers("first@x.io", "1"), gate);
        var before = Enumerable.Range(0, 5).Select(i => new ContactIdentifiers($"before{i}@x.io", $"{100 + i}")).Select(r => _store.ReconcileAsync(r, Planner(r))).ToList();
        var chunk = Enumerable.Range(0, 30).Select(i => new ContactIdentifiers($"chunk{i}@x.io", $"{200 + i}")).ToArray();
        var failing = Task.Run(async () =>
        {
            // The chunk's request 20 fails after its insert ran, so requests 0..20 of the chunk wrote rows in this transaction.
            await foreach (var _ in ((IContactStore)_store).ReconcileManyAsync(chunk, (i, touched) => i == 20 ? HalfDone(chunk[i])(touched) : Planner(chunk[i])(touched)))
            {
                throw new InvalidOperationException("a result of the failed chunk was yielded");
            }
        });
        await Task.Delay(100); // the chunk queues behind the blocker
        var after = Enumerable.Range(0, 5).Select(i => new ContactIdentifiers($"after{i}@x.io", $"{300 + i}")).Select(r => _store.ReconcileAsync(r, Planner(r))).ToList();
        gate.Set();

        await blocker;
        await Task.WhenAll(before.Concat(after));
        (await failing.Invoking(t => t).Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("987654321");
        SqliteRows.ReadAll(_database).Select(r => r.Email).Should().BeEquivalentTo(
            new[] { "first@x.io" }.Concat(Enumerable.Range(0, 5).SelectMany(i => new[] { $"before{i}@x.io", $"after{i}@x.io" })),
            "the chunk is rolled back as a whole, the requests batched with it commit");
        (await _store.GetChangesAsync(0, 1000)).Should().HaveCount(11, "no feed entry of the chunk remains");
    }

    [Fact]
    public async Task ReconcileManyAsync_Chunk_CommitsOnceAndYieldsTheSameAsOneByOne()
    {
        var requests = Enumerable.Range(0, 200).Select(i => new ContactIdentifiers($"u{i % 150}@x.io", $"{i % 70}")).ToArray();
        using var other = new TempDatabase();
        await using (var oneByOne = new SqliteContactStore(other.ConnectionString))
        {
            foreach (var r in requests)
            {
                await oneByOne.ReconcileAsync(r, touched => ContactPlanner.Plan(r, touched, Now));
            }
        }

        // Another connection, as another process, looks at the file while the last request is planned.
        var visibleWhilePlanning = -1;
        var results = new List<IReadOnlyList<Contact>>();
        await foreach (var result in ((IContactStore)_store).ReconcileManyAsync(requests, (i, touched) =>
        {
            if (i == requests.Length - 1)
            {
                visibleWhilePlanning = SqliteRows.ReadAll(_database).Count;
            }

            return ContactPlanner.Plan(requests[i], touched, Now);
        }))
        {
            results.Add(result);
        }

        visibleWhilePlanning.Should().Be(0, "the chunk is one transaction: nothing of it is committed before its end");
        results.Should().HaveCount(200);
        results.Select(r => r.Count).Should().OnlyContain(count => count > 0);
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(SqliteRows.ReadAll(other), o => o.WithStrictOrdering());
        SqliteRows.ReadLinks(_database).Should().BeEquivalentTo(SqliteRows.ReadLinks(other), o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task ReconcileAsync_RequestOfABatchFailsAfterItsFirstFeedEntry_LeavesNoEntryWhileTheOthersKeepTheirs()
    {
        var victimIds = new ContactIdentifiers("victim@x.io", "9");
        var victim = (await _store.ReconcileAsync(victimIds, Planner(victimIds))).Single().Id;
        using (var raw = _database.OpenRaw())
        {
            // Fails the feed insert of the poisoned contact's entry: the failing request's second entry, after its first one
            // (the victim's) went in. Only the request's savepoint can take that first entry back.
            raw.Execute("""
                CREATE TRIGGER poison BEFORE INSERT ON ContactChange
                WHEN (SELECT email FROM Contact WHERE id = NEW.contactId) = 'poison@x.io'
                BEGIN SELECT RAISE(ABORT, 'injected failure'); END;
                """);
        }

        Func<IReadOnlyList<Contact>, ContactChangeSet> poisoned = _ => new ContactChangeSet(
            new NewContact("poison@x.io", "666", null, LinkPrecedence.Primary, DateTimeOffset.UtcNow),
            [new ContactUpdate(victim, null, LinkPrecedence.Primary, DateTimeOffset.UtcNow)]); // entries: victim re-pointed, then poison created
        using var gate = new ManualResetEventSlim();
        var blocker = StartBlocker(new ContactIdentifiers("first@x.io", "1"), gate);
        var tasks = Enumerable.Range(0, 20).Select(i =>
        {
            var identifiers = new ContactIdentifiers($"user{i}@x.io", $"{100 + i}");
            return i == 7 ? _store.ReconcileAsync(identifiers, poisoned) : _store.ReconcileAsync(identifiers, Planner(identifiers));
        }).ToList();
        gate.Set();
        await blocker;

        await FluentActions.Awaiting(() => tasks[7]).Should().ThrowAsync<SqliteException>().WithMessage("*injected failure*");
        await Task.WhenAll(tasks.Where((_, i) => i != 7));
        var feed = await FeedReplay.ReadAllAsync((after, max) => _store.GetChangesAsync(after, max));
        var rows = SqliteRows.ReadAll(_database);
        var emailOf = rows.ToDictionary(r => r.Id, r => r.Email);

        rows.Should().NotContain(r => r.Email == "poison@x.io");
        feed.Should().OnlyContain(e => e.Kind == ContactChangeKind.PrimaryCreated, "the failing request's re-pointing entry was rolled back with it");
        feed.Select(e => emailOf[e.ContactId]).Should().BeEquivalentTo(
            new[] { "victim@x.io", "first@x.io" }.Concat(Enumerable.Range(0, 20).Where(i => i != 7).Select(i => $"user{i}@x.io")));
        feed.Select(e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        FeedReplay.AssertRebuilds(feed, rows);
    }

    [Fact]
    public async Task ReconcileAsync_RecordChangeFeedOff_WritesContactsWithoutEntries()
    {
        await using var store = new SqliteContactStore(Options.Create(new SqliteContactStoreOptions { ConnectionString = _database.ConnectionString, RecordChangeFeed = false }));
        var identifiers = new ContactIdentifiers("baseline@x.io", "5");

        await store.ReconcileAsync(identifiers, Planner(identifiers));

        SqliteRows.ReadAll(_database).Should().ContainSingle(r => r.Email == "baseline@x.io");
        (await store.GetChangesAsync(0, 100)).Should().BeEmpty();
    }

    [Fact]
    public async Task ReconcileAsync_LaterRequestInABatch_SeesTheEarlierOnesChanges()
    {
        using var gate = new ManualResetEventSlim();
        var blocker = StartBlocker(new ContactIdentifiers("blocker@x.io", null), gate);

        // Same new person three times in one batch: the first inserts, the others must see it and insert nothing.
        var same = new ContactIdentifiers("same@x.io", "777");
        var tasks = Enumerable.Range(0, 3).Select(_ => _store.ReconcileAsync(same, Planner(same))).ToList();
        gate.Set();
        await blocker;
        var results = await Task.WhenAll(tasks);

        results.Should().OnlyContain(r => r.Count == 1);
        SqliteRows.ReadAll(_database).Count(r => r.Email == "same@x.io").Should().Be(1);
    }

    [Fact]
    public async Task ReconcileAsync_CancelledWhileQueued_IsNotWritten()
    {
        using var gate = new ManualResetEventSlim();
        var blocker = StartBlocker(new ContactIdentifiers("blocker@x.io", null), gate);
        using var cts = new CancellationTokenSource();
        var queuedIds = new ContactIdentifiers("queued@x.io", null);
        var queued = _store.ReconcileAsync(queuedIds, Planner(queuedIds), cts.Token);

        await cts.CancelAsync();
        gate.Set();
        await blocker;

        await FluentActions.Awaiting(() => queued).Should().ThrowAsync<OperationCanceledException>();
        SqliteRows.ReadAll(_database).Select(r => r.Email).Should().Equal("blocker@x.io");
    }

    [Fact]
    public async Task Dispose_WithQueuedRequests_CompletesThemFirst()
    {
        var tasks = Enumerable.Range(0, 20).Select(i =>
        {
            var ids = new ContactIdentifiers($"d{i}@x.io", null);
            return _store.ReconcileAsync(ids, Planner(ids));
        }).ToList();

        await _store.DisposeAsync();

        // Every request either landed or failed as disposed; none hangs, none is half-done.
        var landed = 0;
        foreach (var task in tasks)
        {
            try
            {
                await task.WaitAsync(TimeSpan.FromSeconds(30));
                landed++;
            }
            catch (ObjectDisposedException)
            {
            }
        }

        SqliteRows.ReadAll(_database).Should().HaveCount(landed);
    }
}

/// <summary>The store contract with group commit turned off (one request per transaction).</summary>
public sealed class SqliteUnbatchedContactStoreContractTests : ContactStoreContractTests
{
    private readonly TempDatabase _database = new();

    protected override Task<IContactStore> CreateStoreAsync() => Task.FromResult<IContactStore>(
        new SqliteContactStore(Options.Create(new SqliteContactStoreOptions { ConnectionString = _database.ConnectionString, MaxBatchSize = 1, Synchronous = SqliteSynchronousMode.Normal })));

    protected override Task<IReadOnlyList<Contact>> ReadAllAsync() => Task.FromResult(SqliteRows.ReadAll(_database));

    protected override Task SoftDeleteAsync(long id, DateTimeOffset at)
    {
        using var connection = _database.OpenRaw();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE Contact SET deletedAt = $at WHERE id = $id";
        command.Parameters.AddWithValue("$at", at.UtcDateTime.ToString("O"));
        command.Parameters.AddWithValue("$id", id);
        command.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    protected override Task<IReadOnlyList<ContactLink>> ReadLinksAsync() => Task.FromResult(SqliteRows.ReadLinks(_database));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _database.Dispose();
    }
}
