using Dapper;
using IdentityReconciliation.PostgreSql.Tests.Support;
using IdentityReconciliation.Tests.Support;
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

    private (PostgreSqlContactStore Store, IdentityReconciler Reconciler) CreateStore(bool recordChangeFeed = true)
    {
        var store = new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions
        {
            ConnectionString = Database.ConnectionString,
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
