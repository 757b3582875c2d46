using Dapper;
using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>
/// The change feed on PostgreSQL beyond the shared contract: the ordering hazard of sequence numbers taken before commit,
/// played by hand with another connection that is mid-append; a transaction that fails after appending; the benchmark's
/// switch. The multi-process reader test is in <see cref="PostgreSqlMultiProcessTests"/>.
/// </summary>
[RequiresPostgreSql]
public sealed class PostgreSqlChangeFeedTests(PostgreSqlDatabaseFixture fixture) : IClassFixture<PostgreSqlDatabaseFixture>, IAsyncLifetime
{
    private readonly string _schema = "feed_" + Guid.NewGuid().ToString("N")[..12];
    private readonly ManualTimeProvider _clock = new() { AutoAdvance = TimeSpan.FromMilliseconds(1) };
    private readonly List<IAsyncDisposable> _disposables = [];

    private PostgreSqlDatabase Database => fixture.Database;

    private string ChangeTable => $"\"{_schema}\".\"ContactChange\"";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("identify")]
    [InlineData("erase")]
    public async Task Append_WhileAnotherTransactionHoldsANumberItHasNotCommitted_WaitsAndTakesAHigherNumber(string kind)
    {
        var (store, reconciler) = CreateStore();
        var first = await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var read = (await store.GetChangesAsync(0, 100))[^1].Sequence;

        // Another instance is mid-append: it holds the feed lock and has taken its number, but has not committed.
        await using var other = await BeginAsync();
        var (high, low) = PostgreSqlLockKeys.Feed(_schema);
        await other.Connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@High, @Low)", new { High = high, Low = low }, other.Transaction);
        var early = await other.Connection.ExecuteScalarAsync<long>(
            $"INSERT INTO {ChangeTable} (\"occurredAt\", \"kind\", \"contactId\", \"primaryContactId\") VALUES (now(), 1, 999, 999) RETURNING \"sequence\"",
            transaction: other.Transaction);

        Task later = kind == "identify"
            ? reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"))
            : reconciler.ErasePersonAsync(first.PrimaryContactId);
        await WaitUntilBlockedOnTheFeedAsync();

        (await store.GetChangesAsync(read, 100)).Should().BeEmpty("the earlier number is not committed, and the later writer has not taken one");
        later.IsCompleted.Should().BeFalse("the later writer waits for the feed lock before taking a number");

        await other.Transaction.CommitAsync();
        await later;

        var after = await store.GetChangesAsync(read, 100);
        after.Should().HaveCountGreaterThan(1);
        after[0].Sequence.Should().Be(early);
        after[0].ContactId.Should().Be(999);
        after.Skip(1).Should().OnlyContain(e => e.Sequence > early, "a transaction that commits later takes a larger number");
        after.Select(e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task Append_TransactionFailsAfterAppending_LeavesNoEntryAndNoRow()
    {
        var (store, reconciler) = CreateStore();
        var a = await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        var feed = await FeedReplay.ReadAllAsync((after, max) => store.GetChangesAsync(after, max));
        var rows = await Database.ReadAllAsync(_schema);

        // Every append fails after its rows went in: the whole transaction (contact, merge, link, entries) rolls back.
        await Database.ExecuteAsync($"""
            CREATE FUNCTION "{_schema}".reject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'rejected after the append'; END $$;
            CREATE TRIGGER reject AFTER INSERT ON {ChangeTable} FOR EACH STATEMENT EXECUTE FUNCTION "{_schema}".reject();
            """);
        var insert = () => reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "3"));
        var merge = () => reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "2"));
        var erase = () => reconciler.ErasePersonAsync(a.PrimaryContactId);

        (await insert.Should().ThrowAsync<PostgreSqlContactStoreException>()).Which.SqlState.Should().Be(PostgresErrorCodes.RaiseException);
        (await merge.Should().ThrowAsync<PostgreSqlContactStoreException>()).Which.SqlState.Should().Be(PostgresErrorCodes.RaiseException);
        (await erase.Should().ThrowAsync<PostgreSqlContactStoreException>()).Which.SqlState.Should().Be(PostgresErrorCodes.RaiseException);
        (await FeedReplay.ReadAllAsync((after, max) => store.GetChangesAsync(after, max))).Should().Equal(feed);
        (await Database.ReadAllAsync(_schema)).Should().BeEquivalentTo(rows, o => o.WithStrictOrdering());
        (await Database.ReadLinksAsync(_schema)).Should().BeEmpty();

        await Database.ExecuteAsync($"DROP TRIGGER reject ON {ChangeTable}");
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "2"));
        var now = await FeedReplay.ReadAllAsync((after, max) => store.GetChangesAsync(after, max));
        now.Should().HaveCount(feed.Count + 1);
        now[^1].Sequence.Should().BeGreaterThan(feed[^1].Sequence + 1, "the failed appends left gaps, never entries");
        FeedReplay.AssertRebuilds(now, await Database.ReadAllAsync(_schema));
    }

    [Fact]
    public async Task Commit_DeferredTriggerFailsAtCommit_LeavesNoEntryNoRowAndTheConnectionUsable()
    {
        // One pooled connection: every call after a failure runs on the connection the failure happened on.
        var (store, reconciler) = CreateStore(configure: b => b.MaxPoolSize = 1);
        var a = await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        var feed = await FeedReplay.ReadAllAsync((after, max) => store.GetChangesAsync(after, max));
        var rows = await Database.ReadAllAsync(_schema);

        // The entries go in, and the COMMIT sent in the same round trip fails: the server rolls the transaction back.
        await Database.ExecuteAsync($"""
            CREATE FUNCTION "{_schema}".reject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'rejected at commit'; END $$;
            CREATE CONSTRAINT TRIGGER reject AFTER INSERT ON {ChangeTable} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "{_schema}".reject();
            """);
        var insert = () => reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "3"));
        var merge = () => reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "2"));
        var erase = () => reconciler.ErasePersonAsync(a.PrimaryContactId);

        (await insert.Should().ThrowAsync<PostgreSqlContactStoreException>()).Which.SqlState.Should().Be(PostgresErrorCodes.RaiseException);
        (await merge.Should().ThrowAsync<PostgreSqlContactStoreException>()).Which.SqlState.Should().Be(PostgresErrorCodes.RaiseException);
        (await erase.Should().ThrowAsync<PostgreSqlContactStoreException>()).Which.SqlState.Should().Be(PostgresErrorCodes.RaiseException);
        (await FeedReplay.ReadAllAsync((after, max) => store.GetChangesAsync(after, max))).Should().Equal(feed);
        (await Database.ReadAllAsync(_schema)).Should().BeEquivalentTo(rows, o => o.WithStrictOrdering());
        (await Database.ReadLinksAsync(_schema)).Should().BeEmpty();
        (await Database.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"))
            .Should().Be(0, "no connection is left inside a transaction");

        await Database.ExecuteAsync($"DROP TRIGGER reject ON {ChangeTable}");
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "2"));
        await reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "3"));
        var now = await FeedReplay.ReadAllAsync((after, max) => store.GetChangesAsync(after, max));
        now.Should().HaveCount(feed.Count + 2);
        FeedReplay.AssertRebuilds(now, await Database.ReadAllAsync(_schema));
    }

    [Theory]
    [InlineData("identify")]
    [InlineData("erase")]
    public async Task Commit_FeedLockHeldLongerThanLockTimeout_ThrowsBusyAndLeavesNothing(string kind)
    {
        var (store, reconciler) = CreateStore(configure: b =>
        {
            b.MaxPoolSize = 1;
            b.Options = "-c lock_timeout=300ms";
        });
        var first = await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var feed = await FeedReplay.ReadAllAsync((after, max) => store.GetChangesAsync(after, max));
        var rows = await Database.ReadAllAsync(_schema);

        // The writes are applied; the batch of the feed's lock, entries and COMMIT fails at its first statement.
        await using (var other = await BeginAsync())
        {
            var (high, low) = PostgreSqlLockKeys.Feed(_schema);
            await other.Connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@High, @Low)", new { High = high, Low = low }, other.Transaction);
            var act = kind == "identify"
                ? (Func<Task>)(() => reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2")))
                : () => reconciler.ErasePersonAsync(first.PrimaryContactId);

            (await act.Should().ThrowAsync<ContactStoreBusyException>()).Which.InnerException
                .Should().BeOfType<PostgresException>().Which.SqlState.Should().Be(PostgresErrorCodes.LockNotAvailable);
        }

        (await FeedReplay.ReadAllAsync((after, max) => store.GetChangesAsync(after, max))).Should().Equal(feed);
        (await Database.ReadAllAsync(_schema)).Should().BeEquivalentTo(rows, o => o.WithStrictOrdering());
        await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        (await store.GetChangesAsync(0, 100)).Should().HaveCount(feed.Count + 1);
    }

    [Fact]
    public async Task Npgsql_CommitSentInABatchOfATransactionItBegan_CompletesTheTransactionAndDisposeSendsNothing()
    {
        // What CommitWithEntriesAsync relies on: Npgsql follows the transaction status the server reports, so a COMMIT
        // sent as SQL completes the NpgsqlTransaction, whose dispose then sends no ROLLBACK (which would warn "there is no
        // transaction in progress"), and the connection returns to the pool outside any transaction.
        await Database.ExecuteAsync($"CREATE SCHEMA \"{_schema}\"; CREATE TABLE \"{_schema}\".probe (x int)");
        var builder = new NpgsqlConnectionStringBuilder(Database.ConnectionString) { MaxPoolSize = 1 };
        await using var dataSource = NpgsqlDataSource.Create(builder);
        var notices = new List<string>();

        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            connection.Notice += (_, e) => notices.Add(e.Notice.MessageText);
            var transaction = await connection.BeginTransactionAsync();
            await using (var batch = new NpgsqlBatch(connection, transaction))
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"INSERT INTO \"{_schema}\".probe VALUES (1)"));
                batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
                await batch.ExecuteNonQueryAsync();
            }

            (await Database.ScalarAsync<long>($"SELECT count(*) FROM \"{_schema}\".probe")).Should().Be(1, "the batch committed");
            await transaction.DisposeAsync();

            // Npgsql knows it is outside a transaction: a new one begins, and rolls back.
            await using (var next = await connection.BeginTransactionAsync())
            {
                await connection.ExecuteAsync($"INSERT INTO \"{_schema}\".probe VALUES (2)", transaction: next);
            }
        }

        await using (var pooled = await dataSource.OpenConnectionAsync())
        {
            pooled.Notice += (_, e) => notices.Add(e.Notice.MessageText);
            (await pooled.ExecuteScalarAsync<string>("SELECT state FROM pg_stat_activity WHERE pid = pg_backend_pid()")).Should().Be("active");
            await using var transaction = await pooled.BeginTransactionAsync();
            (await pooled.ExecuteScalarAsync<long>($"SELECT count(*) FROM \"{_schema}\".probe", transaction: transaction)).Should().Be(1);
        }

        notices.Should().BeEmpty("no ROLLBACK or BEGIN was sent in the wrong state");
    }

    [Fact]
    public async Task RecordChangeFeed_Off_WritesContactsButNoEntry()
    {
        var (store, reconciler) = CreateStore(recordChangeFeed: false);

        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "2"));
        await reconciler.EraseAsync(new IdentifyRequest("b@x.io", null));

        (await Database.ReadAllAsync(_schema)).Should().HaveCount(2);
        (await store.GetChangesAsync(0, 100)).Should().BeEmpty();
    }

    [Fact]
    public async Task PruneChangesAsync_KeepNewestBelowOne_Throws()
    {
        var (store, _) = CreateStore();

        var act = () => store.PruneChangesAsync(null, 0);

        await act.Should().ThrowAsync<ArgumentOutOfRangeException>().WithParameterName("keepNewest");
    }

    private (PostgreSqlContactStore Store, IdentityReconciler Reconciler) CreateStore(bool recordChangeFeed = true, Action<NpgsqlConnectionStringBuilder>? configure = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(Database.ConnectionString);
        configure?.Invoke(builder);
        var store = new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions
        {
            ConnectionString = builder.ConnectionString,
            Schema = _schema,
            RecordChangeFeed = recordChangeFeed,
        }));
        _disposables.Add(store);
        return (store, new IdentityReconciler(store, DefaultContactNormalizer.Instance, _clock, null));
    }

    private async Task<OtherInstance> BeginAsync()
    {
        var connection = await Database.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        return new OtherInstance(connection, transaction);
    }

    /// <summary>Waits until one session of this database waits for the feed lock (an advisory lock with the feed key).</summary>
    private async Task WaitUntilBlockedOnTheFeedAsync()
    {
        var (high, low) = PostgreSqlLockKeys.Feed(_schema);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await Database.ScalarAsync<long>(
            """
            SELECT count(*) FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND objsubid = 2 AND classid::bigint = @High AND objid::bigint = @Low
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """,
            new { High = (long)(uint)high, Low = (long)(uint)low }) != 1)
        {
            timeout.IsCancellationRequested.Should().BeFalse("the store waits for the feed lock that another transaction holds");
            await Task.Delay(10);
        }
    }

    private sealed record OtherInstance(NpgsqlConnection Connection, NpgsqlTransaction Transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }
}
