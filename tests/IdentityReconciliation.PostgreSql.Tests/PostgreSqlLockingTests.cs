using System.Diagnostics.Metrics;
using IdentityReconciliation.PostgreSql.Diagnostics;
using Dapper;
using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>
/// The locking protocol and the failure handling, interleaved by hand: another connection plays a second application
/// instance that holds a lock, and the test waits (on pg_locks, not on the clock) until the store is blocked on it.
/// </summary>
[RequiresPostgreSql]
public sealed class PostgreSqlLockingTests(PostgreSqlDatabaseFixture fixture) : IClassFixture<PostgreSqlDatabaseFixture>, IAsyncLifetime
{
    private readonly string _schema = "locking_" + Guid.NewGuid().ToString("N")[..12];
    private readonly ManualTimeProvider _clock = new() { AutoAdvance = TimeSpan.FromMilliseconds(1) };
    private readonly CollectingLogger<PostgreSqlContactStore> _logger = new();
    private readonly List<IAsyncDisposable> _disposables = [];

    private PostgreSqlDatabase Database => fixture.Database;

    private string Table => $"\"{_schema}\".\"Contact\"";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }
    }

    [Fact]
    public async Task IdentifyAsync_MergeWhileAnotherInstanceInsertsIntoTheLosingCluster_RelinksTheNewRowToo()
    {
        var (store, reconciler) = CreateStore();
        var older = await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var newer = await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        await reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "2"));

        // Another instance is adding a secondary to the newer cluster: it holds that cluster's primary.
        await using var other = await BeginAsync();
        await LockRootAsync(other, newer.PrimaryContactId);
        var merge = reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "2"));
        await WaitUntilBlockedAsync(1);
        await other.Connection.ExecuteAsync(
            $"INSERT INTO {Table} (\"email\", \"phoneNumber\", \"linkedId\", \"linkPrecedence\", \"createdAt\", \"updatedAt\") VALUES ('d@x.io', '2', @Id, 'secondary', @At, @At)",
            new { Id = newer.PrimaryContactId, At = _clock.GetUtcNow() },
            other.Transaction);
        await other.CommitAsync();

        var merged = await merge;

        merged.PrimaryContactId.Should().Be(older.PrimaryContactId);
        merged.Emails.Should().Equal("a@x.io", "b@x.io", "c@x.io", "d@x.io");
        var rows = await Database.ReadAllAsync(_schema);
        rows.Where(r => r.Id != older.PrimaryContactId).Should().OnlyContain(r => r.LinkedId == older.PrimaryContactId, "the row inserted during the merge is re-linked too: no chain");
        GraphInvariants.AssertHold(rows, [("a@x.io", "1"), ("b@x.io", "2"), ("c@x.io", "2"), ("d@x.io", "2"), ("a@x.io", "2")]);
    }

    [Fact]
    public async Task ReconcileAsync_PrimaryDemotedWhileWaitingAndNewPrimaryBusy_RestartsAndLinksToTheNewPrimary()
    {
        using var metrics = new StoreMetrics();
        var (store, reconciler) = CreateStore();
        var (older, newer, merger, busy) = await ArrangeMergerAndBusyInstanceAsync(reconciler);

        // c@x.io with a new phone: a secondary for c's cluster, whose primary is about to change. Called without a snapshot
        // (as the store's other callers do), the store runs the locking protocol from its own load.
        var identifiers = new ContactIdentifiers("c@x.io", "9");
        var request = store.ReconcileAsync(identifiers, touched => ContactPlanner.Plan(identifiers, touched, _clock.GetUtcNow()));
        await WaitUntilBlockedAsync(1);
        await DemoteAsync(merger, newer.PrimaryContactId, older.PrimaryContactId);

        // The store now sees the older primary, which sorts before the lock it holds and is busy: it must restart rather
        // than wait out of order, and then wait for the older primary like everyone else.
        await WaitUntilAsync(() => _logger.Entries.Any(e => e.EventId.Id == 102), "the reconcile restarted");
        metrics.Count(PostgreSqlContactStoreTelemetry.RestartsCounter, ("operation", "reconcile")).Should().BeGreaterThanOrEqualTo(1);
        await WaitUntilBlockedAsync(1);
        await busy.CommitAsync();

        var touched = await request;

        touched.Single(c => c.PhoneNumber == "9").LinkedId.Should().Be(older.PrimaryContactId);
        await AssertLinkedToTheOlderPrimaryAsync(older.PrimaryContactId);
    }

    [Fact]
    public async Task IdentifyAsync_PrimaryDemotedWhileWaitingOnTheSnapshotsLocks_PlansAgainAndLinksToTheNewPrimary()
    {
        using var metrics = new StoreMetrics();
        var (store, reconciler) = CreateStore();
        var (older, newer, merger, busy) = await ArrangeMergerAndBusyInstanceAsync(reconciler);

        // The reconciler's lookup sees c's cluster under the newer primary and hands that snapshot to the store, which
        // waits for the newer primary's lock inside its one-batch write. The merger then demotes the newer primary: the
        // snapshot is stale, so the batch must roll back and the store load and plan again (now under the older primary).
        var request = reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "9"));
        await WaitUntilBlockedAsync(1);
        await DemoteAsync(merger, newer.PrimaryContactId, older.PrimaryContactId);

        await WaitUntilAsync(() => _logger.Entries.Any(e => e.EventId.Id == 106), "the snapshot was found stale");
        _logger.Entries.Count(e => e.EventId.Id == 106).Should().Be(1);
        metrics.Count(PostgreSqlContactStoreTelemetry.RestartsCounter, ("operation", "reconcile_snapshot")).Should().BeGreaterThanOrEqualTo(1);
        await WaitUntilBlockedAsync(1); // the locking protocol waits for the older primary like everyone else
        await busy.CommitAsync();

        var result = await request;

        result.PrimaryContactId.Should().Be(older.PrimaryContactId);
        result.PhoneNumbers.Should().Equal("1", "2", "9");
        await AssertLinkedToTheOlderPrimaryAsync(older.PrimaryContactId);
    }

    [Fact]
    public async Task IdentifyAsync_NothingChangedSinceTheLookup_WritesFromTheSnapshotWithoutRestarting()
    {
        var (store, reconciler) = CreateStore();
        var older = await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var newer = await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));

        // A merge and a new secondary, each waiting on a lock held by another instance that then commits without a change.
        await using var other = await BeginAsync();
        await LockRootAsync(other, newer.PrimaryContactId);
        var merge = reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "2"));
        await WaitUntilBlockedAsync(1);
        await other.CommitAsync();
        var merged = await merge;
        await reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "2"));

        merged.PrimaryContactId.Should().Be(older.PrimaryContactId);
        _logger.Entries.Should().NotContain(e => e.EventId.Id == 106 || e.EventId.Id == 102, "an unchanged snapshot is written from directly, without a restart");
        var rows = await Database.ReadAllAsync(_schema);
        rows.Where(r => r.Id != older.PrimaryContactId).Should().OnlyContain(r => r.LinkedId == older.PrimaryContactId);
        GraphInvariants.AssertHold(rows, [("a@x.io", "1"), ("b@x.io", "2"), ("a@x.io", "2"), ("c@x.io", "2")]);
    }

    /// <summary>
    /// a@x.io/1 (older) and b@x.io/2 (newer) with c@x.io as newer's secondary; then one instance holds the newer primary
    /// (about to merge it away) and another is busy in the older cluster. Both are disposed with the test.
    /// </summary>
    private async Task<(ContactCluster Older, ContactCluster Newer, OtherInstance Merger, OtherInstance Busy)> ArrangeMergerAndBusyInstanceAsync(IdentityReconciler reconciler)
    {
        var older = await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var newer = await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        await reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "2"));
        var merger = await BeginAsync();
        var busy = await BeginAsync();
        _disposables.Add(merger);
        _disposables.Add(busy);
        await LockRootAsync(merger, newer.PrimaryContactId);
        await LockRootAsync(busy, older.PrimaryContactId);
        return (older, newer, merger, busy);
    }

    private async Task DemoteAsync(OtherInstance merger, long newer, long older)
    {
        await merger.Connection.ExecuteAsync(
            $"UPDATE {Table} SET \"linkedId\" = @Older, \"linkPrecedence\" = 'secondary', \"updatedAt\" = @At WHERE \"id\" = @Newer OR \"linkedId\" = @Newer",
            new { Older = older, Newer = newer, At = _clock.GetUtcNow() },
            merger.Transaction);
        await merger.CommitAsync();
    }

    private async Task AssertLinkedToTheOlderPrimaryAsync(long older)
    {
        var rows = await Database.ReadAllAsync(_schema);
        rows.Single(r => r.PhoneNumber == "9").LinkedId.Should().Be(older, "the new secondary links to the surviving primary, not the demoted one");
        GraphInvariants.AssertHold(rows, [("a@x.io", "1"), ("b@x.io", "2"), ("c@x.io", "2"), ("a@x.io", "2"), ("c@x.io", "9")]); // the merger played ("a@x.io", "2")
    }

    [Fact]
    public async Task IdentifyAsync_ConnectionKilledWhileWaiting_RetriesOnANewConnection()
    {
        using var metrics = new StoreMetrics();
        var (store, reconciler) = CreateStore();
        await using var other = await BeginAsync();
        await LockIdentifierAsync(other, PostgreSqlLockKeys.Email(_schema, "x@x.io"));
        var request = reconciler.IdentifyAsync(new IdentifyRequest("x@x.io", "5"));
        var pid = (await WaitUntilBlockedAsync(1)).Single();

        await TerminateAsync(pid);
        await WaitUntilAsync(() => _logger.Entries.Any(e => e.EventId.Id == 101), "the failure was logged as transient");
        (await WaitUntilBlockedAsync(1)).Single().Should().NotBe(pid, "the retry waits on a new connection");
        await other.CommitAsync();

        var result = await request;

        result.Emails.Should().Equal("x@x.io");
        (await Database.ReadAllAsync(_schema)).Should().ContainSingle();
        _logger.Entries.Single(e => e.EventId.Id == 101).Message.Should().Contain("57P01");
        metrics.Count(PostgreSqlContactStoreTelemetry.RetriesCounter, ("operation", "reconcile")).Should().BeGreaterThanOrEqualTo(1);
        metrics.Count(PostgreSqlContactStoreTelemetry.TransientFailuresCounter, ("sqlstate", "57P01"), ("retried", true)).Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task IdentifyAsync_ConnectionKilledAndNoRetriesLeft_ThrowsTransientFailureAndWritesNothing()
    {
        var (store, reconciler) = CreateStore(maxRetryAttempts: 0);
        await reconciler.FindAsync(new IdentifyRequest("warm@x.io", null)); // creates the schema
        await using var other = await BeginAsync();
        await LockIdentifierAsync(other, PostgreSqlLockKeys.Email(_schema, "x@x.io"));
        var request = reconciler.IdentifyAsync(new IdentifyRequest("x@x.io", "5"));
        var pid = (await WaitUntilBlockedAsync(1)).Single();

        await TerminateAsync(pid);

        var failure = (await request.Invoking(r => r).Should().ThrowAsync<PostgreSqlTransientFailureException>()).Which;
        failure.Attempts.Should().Be(1);
        failure.SqlState.Should().Be("57P01");
        await other.CommitAsync();
        (await Database.ReadAllAsync(_schema)).Should().BeEmpty();
    }

    [Fact]
    public async Task IdentifyAsync_DeadlockWithAnotherSession_IsRetriedAndCompletes()
    {
        // The store's sessions detect deadlocks after 50 ms, the other session only after 10 s: the store is the victim.
        var (store, reconciler) = CreateStore(connectionOptions: "-c deadlock_timeout=50ms");
        await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        var cluster = await reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "2"));

        // A session outside the protocol: it holds the cluster's primary and will want the request's email lock.
        await using var gate = await BeginAsync();
        await using var rogue = await BeginAsync();
        var emailKey = PostgreSqlLockKeys.Email(_schema, "c@x.io");
        await LockIdentifierAsync(gate, emailKey);
        await rogue.Connection.ExecuteAsync("SET LOCAL deadlock_timeout = '10s'", transaction: rogue.Transaction);
        await LockRootAsync(rogue, cluster.PrimaryContactId);

        var request = reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "9"));
        await WaitUntilBlockedAsync(1);
        var rogueWaits = rogue.Connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@Key)", new { Key = emailKey }, rogue.Transaction);
        await WaitUntilBlockedAsync(2);
        await gate.CommitAsync(); // the store gets the email lock first, then waits for the primary: a cycle

        await rogueWaits; // the store was chosen as the victim and rolled back
        await rogue.CommitAsync();
        var result = await request;

        result.PhoneNumbers.Should().Equal("2", "9");
        _logger.Entries.Should().Contain(e => e.EventId.Id == 101 && e.Message.Contains("40P01"), "the deadlock was retried");
        (await Database.ReadAllAsync(_schema)).Should().HaveCount(3);
    }

    [Fact]
    public async Task IdentifyAsync_CancelledWhileWaitingForALock_ThrowsAndWritesNothing()
    {
        var (store, reconciler) = CreateStore();
        await reconciler.FindAsync(new IdentifyRequest("warm@x.io", null));
        await using var other = await BeginAsync();
        await LockIdentifierAsync(other, PostgreSqlLockKeys.PhoneNumber(_schema, "5"));
        using var cancellation = new CancellationTokenSource();
        var request = reconciler.IdentifyAsync(new IdentifyRequest("x@x.io", "5"), cancellation.Token);
        await WaitUntilBlockedAsync(1);

        await cancellation.CancelAsync();

        await request.Invoking(r => r).Should().ThrowAsync<OperationCanceledException>();
        await other.CommitAsync();
        (await Database.ReadAllAsync(_schema)).Should().BeEmpty();
        _logger.Entries.Should().NotContain(e => e.EventId.Id == 101, "cancellation is not a transient failure");
    }

    [Fact]
    public async Task IdentifyAsync_NonTransientDatabaseError_ThrowsTypedExceptionWithoutRetrying()
    {
        var (store, reconciler) = CreateStore();
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await Database.ExecuteAsync($"ALTER TABLE {Table} RENAME COLUMN \"email\" TO \"mail\"");

        var act = () => reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "1"));

        var failure = (await act.Should().ThrowAsync<PostgreSqlContactStoreException>()).Which;
        failure.Should().NotBeOfType<PostgreSqlTransientFailureException>();
        failure.SqlState.Should().Be(PostgresErrorCodes.UndefinedColumn);
        failure.InnerException.Should().BeAssignableTo<PostgresException>();
        _logger.Entries.Should().NotContain(e => e.EventId.Id == 101);
    }

    [Fact]
    public async Task ReconcileAsync_ParallelMergesOfDisjointClusters_DoNotWaitForEachOther()
    {
        // Two merges in unrelated clusters hold different locks: while one is blocked, the other completes.
        var (store, reconciler) = CreateStore();
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var b = await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        var c = await reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "3"));
        await reconciler.IdentifyAsync(new IdentifyRequest("d@x.io", "4"));
        await using var other = await BeginAsync();
        await LockRootAsync(other, b.PrimaryContactId);
        var blocked = reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "2"));
        await WaitUntilBlockedAsync(1);

        var free = await reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "4"));

        free.PrimaryContactId.Should().Be(c.PrimaryContactId);
        blocked.IsCompleted.Should().BeFalse("the other merge still waits for the primary held by another instance");
        await other.CommitAsync();
        (await blocked).SecondaryContactIds.Should().Equal(b.PrimaryContactId);
    }

    private (PostgreSqlContactStore Store, IdentityReconciler Reconciler) CreateStore(int maxRetryAttempts = 5, string? connectionOptions = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(Database.ConnectionString);
        if (connectionOptions is not null)
        {
            builder.Options = connectionOptions;
        }

        var store = new PostgreSqlContactStore(
            Options.Create(new PostgreSqlContactStoreOptions
            {
                ConnectionString = builder.ConnectionString,
                Schema = _schema,
                MaxRetryAttempts = maxRetryAttempts,
                RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            }),
            _logger);
        _disposables.Add(store);
        return (store, new IdentityReconciler(store, DefaultContactNormalizer.Instance, _clock, null));
    }

    private async Task<OtherInstance> BeginAsync()
    {
        var connection = await Database.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        return new OtherInstance(connection, transaction);
    }

    private static Task LockRootAsync(OtherInstance other, long primaryId)
    {
        var (high, low) = PostgreSqlLockKeys.Root(primaryId);
        return other.Connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@High, @Low)", new { High = high, Low = low }, other.Transaction);
    }

    private static Task LockIdentifierAsync(OtherInstance other, long key) =>
        other.Connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@Key)", new { Key = key }, other.Transaction);

    private async Task TerminateAsync(int pid) =>
        (await Database.ScalarAsync<bool>("SELECT pg_terminate_backend(@Pid)", new { Pid = pid })).Should().BeTrue();

    /// <summary>Waits until exactly <paramref name="count"/> sessions of this database wait for an advisory lock; returns their pids.</summary>
    private async Task<IReadOnlyList<int>> WaitUntilBlockedAsync(int count)
    {
        IReadOnlyList<int> pids = [];
        await WaitUntilAsync(
            async () =>
            {
                pids = (await Database.QueryAsync<int>(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).ToList();
                return pids.Count == count;
            },
            $"{count} session(s) wait for an advisory lock");
        return pids;
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!await condition())
        {
            timeout.IsCancellationRequested.Should().BeFalse($"expected: {what}");
            await Task.Delay(10);
        }
    }

    private sealed record OtherInstance(NpgsqlConnection Connection, NpgsqlTransaction Transaction) : IAsyncDisposable
    {
        public Task CommitAsync() => Transaction.CommitAsync();

        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }
}

/// <summary>Collects the PostgreSQL store's counters and histograms while alive (the meter is process-wide: tests in other classes may add to it too).</summary>
internal sealed class StoreMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(string Name, long Value, KeyValuePair<string, object?>[] Tags)> _measurements = [];

    public StoreMetrics()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == PostgreSqlContactStoreTelemetry.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument.Name, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Add(instrument.Name, value, tags));
        _listener.Start();
    }

    public long Count(string name, params (string Key, object Value)[] tags)
    {
        lock (_measurements)
        {
            return _measurements
                .Where(m => m.Name == name && tags.All(t => m.Tags.Any(k => k.Key == t.Key && Equals(k.Value, t.Value))))
                .Sum(m => m.Value);
        }
    }

    /// <summary>Every value recorded for an instrument (for a histogram: each recording), in order.</summary>
    public IReadOnlyList<long> Values(string name)
    {
        lock (_measurements)
        {
            return [.. _measurements.Where(m => m.Name == name).Select(m => m.Value)];
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Add(string name, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_measurements)
        {
            _measurements.Add((name, value, tags.ToArray()));
        }
    }
}
