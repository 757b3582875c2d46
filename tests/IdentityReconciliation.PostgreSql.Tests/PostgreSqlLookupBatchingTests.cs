using System.Globalization;
using IdentityReconciliation.PostgreSql.Diagnostics;
using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>
/// Lookup batching (<see cref="PostgreSqlContactStoreOptions.LookupBatchMaxSize"/>): read-only lookups that queue while the
/// store's lookup lanes are busy are sent together in one statement, each keeping its own result and cancellation. The tests
/// give the store one lane and hold it with a lookup that waits for a table lock taken on another connection.
/// </summary>
[RequiresPostgreSql]
public sealed class PostgreSqlLookupBatchingTests(PostgreSqlDatabaseFixture fixture) : IClassFixture<PostgreSqlDatabaseFixture>
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    private readonly string _schema = "lookups_" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task FindClustersAsync_LookupsQueuedBehindABusyLane_AreSentInOneStatementEachWithItsOwnResult()
    {
        using var metrics = new StoreMetrics();
        await using var store = await CreateStoreAsync();
        await SeedAsync(store, ("a@x.io", "1"), ("b@x.io", "2"), ("b@x.io", "3"), ("c@x.io", "4"), ("a@x.io", "4"));
        var expected = new Dictionary<ContactIdentifiers, long[]>
        {
            [new("a@x.io", null)] = await IdsAsync(store, new("a@x.io", null)),
            [new(null, "3")] = await IdsAsync(store, new(null, "3")),
            [new("nobody@x.io", "9")] = [],
            [new("b@x.io", "4")] = await IdsAsync(store, new("b@x.io", "4")),
        };
        expected[new("a@x.io", null)].Should().HaveCount(2, "a and c were merged");
        expected[new("b@x.io", "4")].Should().HaveCount(4, "b's person and the merged person a/c");

        Task<IReadOnlyList<Contact>>[] queued;
        await using (var table = await TableLock.TakeAsync(fixture.Database, _schema))
        {
            var holder = store.FindClustersAsync(new ContactIdentifiers("a@x.io", "1"));
            await table.WaitForWaiterAsync();
            queued = [.. expected.Keys.Select(k => store.FindClustersAsync(k))];
            await Task.Delay(50);
            queued.Should().OnlyContain(t => !t.IsCompleted, "the only lane is held");
            table.Release();
            (await holder).Should().HaveCount(2);
        }

        var results = await Task.WhenAll(queued);
        results.Select(r => r.Select(c => c.Id).ToArray()).Should().BeEquivalentTo(expected.Values, o => o.WithStrictOrdering());
        metrics.Values(PostgreSqlContactStoreTelemetry.LookupBatchSizeHistogram).Should().Contain(4, "the four queued lookups shared one statement");
    }

    [Fact]
    public async Task FindClustersAsync_CancelledWhileQueued_CompletesAtOnce()
    {
        await using var store = await CreateStoreAsync();
        await SeedAsync(store, ("a@x.io", "1"));
        using var cancellation = new CancellationTokenSource();

        await using var table = await TableLock.TakeAsync(fixture.Database, _schema);
        var holder = store.FindClustersAsync(new ContactIdentifiers("a@x.io", null));
        await table.WaitForWaiterAsync();
        var cancelled = store.FindClustersAsync(new ContactIdentifiers("a@x.io", null), cancellation.Token);
        var kept = store.FindClustersAsync(new ContactIdentifiers(null, "1"));
        await cancellation.CancelAsync();

        await cancelled.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>("it was still waiting for the lane");
        kept.IsCompleted.Should().BeFalse();
        table.Release();
        (await holder).Should().ContainSingle();
        (await kept).Should().ContainSingle().Which.Email.Should().Be("a@x.io");
    }

    [Fact]
    public async Task FindClustersAsync_RowReachedByBothBranchesInABatch_IsReturnedOnce()
    {
        // A graph broken outside the store (as in PostgreSqlSchemaTests): Y links to the secondary X, so X matches both
        // branches of the statement for (y, +1001).
        await using var store = await CreateStoreAsync();
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO "{_schema}"."Contact" ("id", "email", "phoneNumber", "linkedId", "linkPrecedence", "createdAt", "updatedAt") VALUES
                (1, 'p@x.io', '+1001', NULL, 'primary', now(), now()),
                (2, 'x@x.io', '+1002', 1, 'secondary', now(), now()),
                (3, 'y@x.io', '+1003', 2, 'secondary', now(), now());
            """);

        Task<IReadOnlyList<Contact>>[] queued;
        await using (var table = await TableLock.TakeAsync(fixture.Database, _schema))
        {
            var holder = store.FindClustersAsync(new ContactIdentifiers("p@x.io", null));
            await table.WaitForWaiterAsync();
            queued = [store.FindClustersAsync(new ContactIdentifiers("y@x.io", "+1001")), store.FindClustersAsync(new ContactIdentifiers("y@x.io", "+1001"))];
            table.Release();
            await holder;
        }

        foreach (var contacts in await Task.WhenAll(queued))
        {
            contacts.Select(c => c.Id).Should().Equal(1, 2, 3);
        }
    }

    [Fact]
    public async Task FindClustersAsync_ManyConcurrentLookups_SeeWhatSingleLookupsSee()
    {
        using var metrics = new StoreMetrics();
        var random = new Random(20261205);
        await using var batched = await CreateStoreAsync();
        await using var single = await CreateStoreAsync(lookupBatchMaxSize: 1);
        var reconciler = new IdentityReconciler(single);
        for (var i = 0; i < 150; i++)
        {
            await reconciler.IdentifyAsync(Request(random));
        }

        var lookups = Enumerable.Range(0, 400).Select(_ => Request(random)).Select(r => new ContactIdentifiers(r.Email, r.PhoneNumber)).ToArray();
        var expected = new List<long[]>();
        foreach (var identifiers in lookups)
        {
            expected.Add(await IdsAsync(single, identifiers));
        }

        var next = -1;
        var actual = new long[lookups.Length][];
        await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < lookups.Length)
            {
                actual[index] = await IdsAsync(batched, lookups[index]);
            }
        })));

        actual.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
        metrics.Values(PostgreSqlContactStoreTelemetry.LookupBatchSizeHistogram).Should().Contain(v => v > 1, "24 callers on one lane queue behind each other");
    }

    [Fact]
    public async Task FindClustersAsync_TheBatchFails_FailsEachOfItsLookupsWithTheStoreErrorAndNoValueInIt()
    {
        await using var store = await CreateStoreAsync();
        await SeedAsync(store, ("a@x.io", "1"));

        Task<IReadOnlyList<Contact>>[] queued;
        Task<IReadOnlyList<Contact>> holder;
        await using (var table = await TableLock.TakeAsync(fixture.Database, _schema))
        {
            holder = store.FindClustersAsync(new ContactIdentifiers("a@x.io", null));
            await table.WaitForWaiterAsync();
            queued = [store.FindClustersAsync(new ContactIdentifiers("secret.one@x.io", "+15550001")), store.FindClustersAsync(new ContactIdentifiers("secret.two@x.io", null))];
            await table.RenameTableAndCommitAsync("ContactGone"); // the batch behind the holder then finds no table
        }

        await holder.Invoking(t => t).Should().ThrowAsync<PostgreSqlContactStoreException>();
        foreach (var lookup in queued)
        {
            var failure = (await lookup.Invoking(t => t).Should().ThrowAsync<PostgreSqlContactStoreException>()).Which;
            failure.SqlState.Should().Be("42P01", "the table is gone");
            failure.Message.Should().NotContain("secret").And.NotContain("+1555");
        }
    }

    [Fact]
    public void Constructor_LookupBatchMaxSizeBelowOne_Throws()
    {
        var act = () => new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions { ConnectionString = "Host=127.0.0.1", LookupBatchMaxSize = 0 }));

        act.Should().Throw<OptionsValidationException>().WithMessage("*LookupBatchMaxSize*");
    }

    /// <summary>A store with one lookup lane, so that queued lookups wait for the lookup holding it.</summary>
    private async Task<PostgreSqlContactStore> CreateStoreAsync(int lookupBatchMaxSize = 32)
    {
        var store = new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions
        {
            ConnectionString = fixture.Database.ConnectionString,
            Schema = _schema,
            LookupBatchMaxSize = lookupBatchMaxSize,
            LookupBatchLanes = 1,
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        }));
        await store.EnsureSchemaAsync();
        return store;
    }

    private static async Task SeedAsync(PostgreSqlContactStore store, params (string Email, string Phone)[] requests)
    {
        foreach (var (email, phone) in requests)
        {
            var identifiers = new ContactIdentifiers(email, phone);
            await store.ReconcileAsync(identifiers, touched => ContactPlanner.Plan(identifiers, touched, Now));
        }
    }

    private static async Task<long[]> IdsAsync(PostgreSqlContactStore store, ContactIdentifiers identifiers) =>
        [.. (await store.FindClustersAsync(identifiers)).Select(c => c.Id)];

    private static IdentifyRequest Request(Random random)
    {
        string? email = random.Next(5) == 0 ? null : $"g{random.Next(80).ToString(CultureInfo.InvariantCulture)}@x.io";
        string? phone = email is not null && random.Next(4) == 0 ? null : (2000 + random.Next(80)).ToString(CultureInfo.InvariantCulture);
        return new IdentifyRequest(email, phone);
    }

    /// <summary>An ACCESS EXCLUSIVE lock on the contact table, held by a transaction on a connection of its own.</summary>
    private sealed class TableLock : IAsyncDisposable
    {
        private readonly PostgreSqlDatabase _database;
        private readonly string _schema;
        private NpgsqlConnection? _connection;
        private NpgsqlTransaction? _transaction;

        private TableLock(PostgreSqlDatabase database, string schema)
        {
            _database = database;
            _schema = schema;
        }

        public static async Task<TableLock> TakeAsync(PostgreSqlDatabase database, string schema)
        {
            var table = new TableLock(database, schema) { _connection = await database.OpenAsync() };
            table._transaction = await table._connection.BeginTransactionAsync();
            await using var command = new NpgsqlCommand($"""LOCK TABLE "{schema}"."Contact" IN ACCESS EXCLUSIVE MODE""", table._connection, table._transaction);
            await command.ExecuteNonQueryAsync();
            return table;
        }

        /// <summary>Waits until a statement of another session waits for the lock.</summary>
        public async Task WaitForWaiterAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (await _database.ScalarAsync<long>($"""SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = '"{_schema}"."Contact"'::regclass""") == 0)
            {
                DateTime.UtcNow.Should().BeBefore(deadline, "a lookup should have been waiting for the table lock");
                await Task.Delay(10);
            }
        }

        /// <summary>Renames the locked table and commits, which releases the lock.</summary>
        public async Task RenameTableAndCommitAsync(string newName)
        {
            await using var command = new NpgsqlCommand($"""ALTER TABLE "{_schema}"."Contact" RENAME TO "{newName}" """, _connection, _transaction);
            await command.ExecuteNonQueryAsync();
            await _transaction!.CommitAsync();
            _transaction = null;
        }

        public void Release()
        {
            _transaction?.Rollback();
            _transaction = null;
        }

        public async ValueTask DisposeAsync()
        {
            if (_transaction is not null)
            {
                await _transaction.RollbackAsync();
            }

            if (_connection is not null)
            {
                await _connection.DisposeAsync();
            }
        }
    }
}
