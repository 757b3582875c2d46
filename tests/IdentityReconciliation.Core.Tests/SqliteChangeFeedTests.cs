using System.Text.RegularExpressions;
using Dapper;
using IdentityReconciliation.Sqlite;
using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Tests;

/// <summary>
/// The SQLite change feed beyond the contract: schema version 3 and the upgrade from versions 1 and 2, indexed reads, and
/// sequence numbers that never go back across a reopen.
/// </summary>
public sealed class SqliteChangeFeedTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task OlderSchemaVersion_IsUpgradedInPlace_KeepsRowsAndLinksAndTheFeedStartsEmpty(int version)
    {
        using (var raw = _database.OpenRaw())
        {
            raw.Execute(SqliteSql.Schema);
            if (version >= 2)
            {
                raw.Execute(SqliteErasureSql.Schema);
                raw.Execute("INSERT INTO ContactLink (email, phoneNumber, createdAt) VALUES ('george@hillvalley.edu', '717171', '2023-04-01T00:02:00.0000000Z')");
            }

            // George (1); Biff (2), merged into George by the request (george, 717171) that version 2 recorded as a link.
            raw.Execute($"""
                INSERT INTO Contact (phoneNumber, email, linkedId, linkPrecedence, createdAt, updatedAt) VALUES
                  ('919191', 'george@hillvalley.edu', NULL, 'primary', '2023-04-01T00:00:00.0000000Z', '2023-04-01T00:00:00.0000000Z'),
                  ('717171', 'biffsucks@hillvalley.edu', 1, 'secondary', '2023-04-01T00:01:00.0000000Z', '2023-04-01T00:02:00.0000000Z');
                PRAGMA user_version = {version};
                """);
        }

        var rows = SqliteRows.ReadAll(_database);
        var links = SqliteRows.ReadLinks(_database);
        await using var store = new SqliteContactStore(_database.ConnectionString);
        var reconciler = new IdentityReconciler(store);

        (await store.GetChangesAsync(0, 100)).Should().BeEmpty("what was written before the upgrade was not recorded");
        (await store.GetHistoryAsync(2)).Should().BeEmpty();
        var person = await store.LoadPersonAsync(2);
        person!.Contacts.Should().BeEquivalentTo(rows, o => o.WithStrictOrdering());
        person.Links.Should().BeEquivalentTo(links);
        using (var check = _database.OpenRaw())
        {
            check.ExecuteScalar<long>("PRAGMA user_version").Should().Be(SqliteContactStore.SchemaVersion).And.Be(4);
            check.Query<string>("SELECT name FROM pragma_index_list('ContactChange') WHERE origin = 'c' ORDER BY name")
                .Should().Equal("IX_ContactChange_contactId", "IX_ContactChange_primaryContactId");
        }

        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(rows, o => o.WithStrictOrdering());
        SqliteRows.ReadLinks(_database).Should().BeEquivalentTo(links);

        // Then the feed works: a new secondary of George's person is its first entry, and in the person's history.
        var added = (await reconciler.IdentifyAsync(new IdentifyRequest("biffsucks@hillvalley.edu", "555"))).SecondaryContactIds.Max();
        var feed = await store.GetChangesAsync(0, 100);

        var entry = feed.Should().ContainSingle().Subject;
        entry.Should().Match<ContactChange>(e => e.Sequence == 1 && e.Kind == ContactChangeKind.SecondaryCreated && e.ContactId == added && e.PrimaryContactId == 1);
        (await store.GetHistoryAsync(2)).Should().Equal(feed);
    }

    [Fact]
    public async Task FeedHistoryAndPersonReads_UseIndexes()
    {
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            await store.FindClustersAsync(new ContactIdentifiers("a@x.io", null));
        }

        using var raw = _database.OpenRaw();
        var changes = Plan(raw, SqliteChangeFeedSql.Changes, new { After = 0L, Max = 10 });
        var history = Plan(raw, SqliteChangeFeedSql.History, new { ContactId = 1L });
        var contacts = Plan(raw, SqliteChangeFeedSql.PersonContacts, new { ContactId = 1L });
        var links = Plan(raw, SqliteChangeFeedSql.PersonLinks, new { ContactId = 1L });

        foreach (var plan in new[] { changes, history, contacts, links })
        {
            // Scanning the person's own rows (the CTE) is fine; scanning a table is not.
            plan.Should().NotContain(d => Regex.IsMatch(d, @"^SCAN (Contact|ContactChange|ContactLink)\b"), "no read scans a table: {0}", string.Join(" | ", plan));
        }

        changes.Should().Contain(d => d.Contains("ContactChange USING INTEGER PRIMARY KEY (rowid>?)", StringComparison.Ordinal));
        history.Should().Contain(d => d.Contains("ContactChange USING INDEX IX_ContactChange_contactId (contactId=?)", StringComparison.Ordinal));
        history.Should().Contain(d => d.Contains("ContactChange USING INDEX IX_ContactChange_primaryContactId (primaryContactId=?)", StringComparison.Ordinal));
        history.Should().Contain(d => d.Contains("IX_Contact_linkedId", StringComparison.Ordinal), "the person's contacts are found by their link");
        links.Should().Contain(d => d.Contains("ContactLink USING PRIMARY KEY", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PruneChangesAsync_ThenReopen_SequencesContinueAboveTheNewest()
    {
        long newest;
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            var reconciler = new IdentityReconciler(store);
            for (var i = 0; i < 5; i++)
            {
                await reconciler.IdentifyAsync(new IdentifyRequest($"p{i}@x.io", null));
            }

            (await store.PruneChangesAsync(DateTimeOffset.UtcNow.AddDays(1), 1)).Should().Be(4);
            newest = (await store.GetChangesAsync(0, 10)).Should().ContainSingle().Subject.Sequence;
        }

        SqliteConnection.ClearAllPools();
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            await new IdentityReconciler(store).IdentifyAsync(new IdentifyRequest("after@x.io", null));

            (await store.GetChangesAsync(newest, 10)).Should().ContainSingle().Which.Sequence.Should().BeGreaterThan(newest);
        }
    }

    [Fact]
    public async Task PruneChangesAsync_ManyOldEntries_DeletesThemInBatchesBetweenWhichWritesGoThrough()
    {
        var clock = new ManualTimeProvider { AutoAdvance = TimeSpan.FromMilliseconds(1) };
        await using var store = new SqliteContactStore(_database.ConnectionString) { PruneBatchSize = 7 };
        var reconciler = new IdentityReconciler(store, DefaultContactNormalizer.Instance, clock, null);
        await WriteNewPersonsAsync(reconciler, 50);

        var old = await store.GetChangesAsync(0, 1_000);
        clock.Advance(TimeSpan.FromDays(1));
        var cutoff = clock.GetUtcNow();
        var batches = 0;
        store.PruneBatchDeleted = async () =>
        {
            // Between two batches the writer is free: a write made now commits before the pruning goes on.
            batches++;
            await reconciler.IdentifyAsync(new IdentifyRequest($"during{batches}@x.io", null)).WaitAsync(TimeSpan.FromSeconds(30));
        };

        var deleted = await store.PruneChangesAsync(cutoff, null);

        deleted.Should().Be(old.Count - 1, "every old entry but the one that was the newest when the pruning read the feed");
        batches.Should().Be((old.Count - 1 + 6) / 7);
        var feed = await store.GetChangesAsync(0, 1_000);
        feed[0].Should().Be(old[^1]);
        feed.Skip(1).Should().NotBeEmpty().And.OnlyContain(e => e.OccurredAt >= cutoff, "what remains was written during the pruning");
        (await store.PruneChangesAsync(cutoff, null)).Should().Be(1, "the next pruning deletes the entry that was kept as the newest");
    }

    [Fact]
    public async Task PruneChangesAsync_ByCountOverABacklog_DeletesInBatchesAndKeepsExactlyTheNewestAtTheEnd()
    {
        await using var store = new SqliteContactStore(_database.ConnectionString) { PruneBatchSize = 7 };
        var reconciler = new IdentityReconciler(store);
        await WriteNewPersonsAsync(reconciler, 50);

        var before = await store.GetChangesAsync(0, 1_000);
        var batches = 0;
        store.PruneBatchDeleted = async () =>
        {
            // Between two batches the writer is free; what this write adds pushes older entries beyond the newest five.
            batches++;
            await reconciler.IdentifyAsync(new IdentifyRequest($"during{batches}@x.io", null)).WaitAsync(TimeSpan.FromSeconds(30));
        };

        var deleted = await store.PruneChangesAsync(null, 5);

        batches.Should().Be((before.Count - 5 + 6) / 7, "the backlog beyond the newest five, seven sequence numbers a batch");
        var feed = await store.GetChangesAsync(0, 1_000);
        var newest = feed[^1].Sequence;
        feed.Select(e => e.Sequence).Should().Equal(Enumerable.Range(0, 5).Select(k => newest - 4 + k), "exactly the newest five at the end");
        var written = before.Count + (newest - before[^1].Sequence); // sequence numbers run without gaps in a new file
        deleted.Should().Be(written - 5, "the last statement also deletes what the writes between batches pushed beyond the newest five");
    }

    [Fact]
    public async Task PruneChangesAsync_LongGapBetweenSequenceNumbers_IsSkippedNotWalkedThrough()
    {
        var clock = new ManualTimeProvider { AutoAdvance = TimeSpan.FromMilliseconds(1) };
        await using var store = new SqliteContactStore(_database.ConnectionString) { PruneBatchSize = 7 };
        var reconciler = new IdentityReconciler(store, DefaultContactNormalizer.Instance, clock, null);
        await WriteNewPersonsAsync(reconciler, 10);

        using (var raw = _database.OpenRaw())
        {
            // An entry far ahead, as years of writes and prunings leave them; the store numbers the next ones after it.
            raw.Execute("INSERT INTO ContactChange (sequence, occurredAt, kind, contactId) SELECT 1000000000, occurredAt, kind, contactId FROM ContactChange WHERE sequence = 1");
        }

        clock.Advance(TimeSpan.FromDays(1));
        var cutoff = clock.GetUtcNow();
        await reconciler.IdentifyAsync(new IdentifyRequest("new@x.io", null));
        var windows = 0;
        store.PruneBatchDeleted = () => ++windows > 10 ? throw new InvalidOperationException("the pruning walks the gap") : Task.CompletedTask;

        var deleted = await store.PruneChangesAsync(cutoff, null);

        deleted.Should().Be(11, "the ten first entries and the one far ahead are old");
        windows.Should().Be(3, "two windows over the ten first entries and one at the entry far ahead");
        (await store.GetChangesAsync(0, 100)).Should().ContainSingle().Which.Sequence.Should().Be(1_000_000_001);
    }

    [Fact]
    public async Task PruneChangesAsync_KeepNewestBelowOne_Throws()
    {
        await using var store = new SqliteContactStore(_database.ConnectionString);

        var act = () => store.PruneChangesAsync(null, 0);

        await act.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    /// <summary>Identifies <paramref name="count"/> new persons (old0@x.io, old1@x.io, ...), one feed entry each.</summary>
    private static async Task WriteNewPersonsAsync(IdentityReconciler reconciler, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await reconciler.IdentifyAsync(new IdentifyRequest($"old{i}@x.io", null));
        }
    }

    private static List<string> Plan(SqliteConnection connection, string sql, object parameters) =>
        connection.Query("EXPLAIN QUERY PLAN " + sql, parameters).Select(row => (string)((IDictionary<string, object>)row)["detail"]).ToList();
}
