using System.Collections.Concurrent;
using System.Text;
using Dapper;
using IdentityReconciliation.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Tests;

/// <summary>
/// Erasure on a real SQLite file: the erased value is in neither the database file nor its WAL afterwards (the bytes are
/// read raw), version 1 databases are upgraded in place, and the erasure's lookups are indexed.
/// </summary>
public sealed class SqliteErasureTests : IDisposable
{
    private const string Erased = "forget-me@erasure.test";
    private const string ErasedPhone = "+447700900123";
    private const string Kept = "keep-me@erasure.test";

    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private string[] Files => [_database.FilePath, _database.FilePath + "-wal", _database.FilePath + "-shm"];

    /// <summary>Which of the database's files hold <paramref name="value"/> as UTF-8 bytes (SQLite's text encoding here).</summary>
    private List<string> FilesHolding(string value)
    {
        var needle = Encoding.UTF8.GetBytes(value);
        var holding = new List<string>();
        foreach (var file in Files.Where(File.Exists))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            if (copy.ToArray().AsSpan().IndexOf(needle) >= 0)
            {
                holding.Add(Path.GetFileName(file));
            }
        }

        return holding;
    }

    [Fact]
    public async Task EraseAsync_ThenDispose_TheValueIsInNeitherTheDatabaseFileNorTheWal()
    {
        var store = new SqliteContactStore(_database.ConnectionString);
        var reconciler = new IdentityReconciler(store);
        await reconciler.IdentifyAsync(new IdentifyRequest(Erased, "+447700900001"));
        await reconciler.IdentifyAsync(new IdentifyRequest(Kept, "+447700900001"));
        await reconciler.IdentifyAsync(new IdentifyRequest("other@erasure.test", ErasedPhone));
        await reconciler.IdentifyAsync(new IdentifyRequest(Erased, ErasedPhone)); // a merge: the link holds both values
        for (var i = 0; i < 50; i++)
        {
            await reconciler.IdentifyAsync(new IdentifyRequest($"filler{i}@erasure.test", $"+4477009{i:00000}"));
        }

        FilesHolding(Erased).Should().NotBeEmpty("the value was written (otherwise this test could not fail)");
        FilesHolding(ErasedPhone).Should().NotBeEmpty();
        SqliteRows.ReadLinks(_database).Should().ContainSingle();

        var result = await reconciler.EraseAsync(new IdentifyRequest(Erased, ErasedPhone));

        result.ChangedContactIds.Should().HaveCount(2);
        SqliteRows.ReadLinks(_database).Should().BeEmpty();
        FilesHolding(Erased).Should().BeEmpty("secure_delete zeroed it in the pages and the checkpoint left no old page image in the WAL");
        FilesHolding(ErasedPhone).Should().BeEmpty();
        FilesHolding(Kept).Should().NotBeEmpty("the search finds what is there");

        await store.DisposeAsync();
        SqliteConnection.ClearAllPools();

        FilesHolding(Erased).Should().BeEmpty("nothing brings it back when the store closes");
        FilesHolding(ErasedPhone).Should().BeEmpty();
        FilesHolding(Kept).Should().NotBeEmpty();
    }

    [Fact]
    public async Task ErasePersonAsync_ThenDispose_NoValueOfThePersonIsInTheFiles()
    {
        long person;
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            var reconciler = new IdentityReconciler(store);
            person = (await reconciler.IdentifyAsync(new IdentifyRequest(Erased, ErasedPhone))).PrimaryContactId;
            await reconciler.IdentifyAsync(new IdentifyRequest("second-address@erasure.test", ErasedPhone));
            await reconciler.IdentifyAsync(new IdentifyRequest(Kept, "+447700900999"));

            await reconciler.ErasePersonAsync(person);
        }

        SqliteConnection.ClearAllPools();
        FilesHolding(Erased).Should().BeEmpty();
        FilesHolding("second-address@erasure.test").Should().BeEmpty();
        FilesHolding(ErasedPhone).Should().BeEmpty();
        FilesHolding(Kept).Should().NotBeEmpty();
    }

    [Fact]
    public void RawBytesCheck_WithoutSecureDelete_FindsTheDeletedValue()
    {
        // The control: the same check on a file written without secure_delete finds a deleted value, so the check above
        // would fail if the store did not zero what it frees.
        using (var raw = _database.OpenRaw())
        {
            raw.Execute("PRAGMA secure_delete = OFF; CREATE TABLE t (v TEXT); INSERT INTO t VALUES (@Erased), (@Kept); DELETE FROM t WHERE v = @Erased;", new { Erased, Kept });
        }

        SqliteConnection.ClearAllPools();
        FilesHolding(Erased).Should().Contain("contacts.db");
    }

    [Fact]
    public async Task EraseAsync_ReaderHoldsAnOldSnapshot_CheckpointIsRetriedAfterTheNextWrite()
    {
        var logger = new CollectingLogger<SqliteContactStore>();
        var options = Options.Create(new SqliteContactStoreOptions { ConnectionString = _database.ConnectionString, BusyTimeout = TimeSpan.FromMilliseconds(200) });
        await using var store = new SqliteContactStore(options, logger);
        var reconciler = new IdentityReconciler(store);
        await reconciler.IdentifyAsync(new IdentifyRequest(Erased, "+447700900001"));
        await reconciler.IdentifyAsync(new IdentifyRequest(Kept, "+447700900001"));

        // Another connection (as another process would) keeps a read transaction open on the snapshot before the erasure.
        using var reader = _database.OpenRaw();
        using var transaction = reader.BeginTransaction(deferred: true);
        reader.ExecuteScalar<long>("SELECT count(*) FROM Contact", transaction: transaction);

        await reconciler.EraseAsync(new IdentifyRequest(Erased, null));

        logger.Entries.Should().Contain(e => e.EventId.Id == 12 && e.Level == LogLevel.Warning);
        logger.Entries.Should().NotContain(e => e.Message.Contains("forget-me", StringComparison.Ordinal));
        FilesHolding(Erased).Should().Contain("contacts.db-wal", "the old frames could not be checkpointed away yet");

        transaction.Commit();
        await reconciler.IdentifyAsync(new IdentifyRequest("next@erasure.test", "+447700900002"));

        FilesHolding(Erased).Should().BeEmpty("the checkpoint ran again after the next write");
        new FileInfo(_database.FilePath + "-wal").Length.Should().Be(0, "TRUNCATE cuts the WAL to zero bytes");
    }

    [Fact]
    public async Task VersionOneDatabase_IsUpgradedInPlaceAndKeepsItsContacts()
    {
        using (var raw = _database.OpenRaw())
        {
            raw.Execute(SqliteSql.Schema);
            raw.Execute("""
                INSERT INTO Contact (phoneNumber, email, linkedId, linkPrecedence, createdAt, updatedAt) VALUES
                  ('919191', 'george@hillvalley.edu', NULL, 'primary', '2023-04-01T00:00:00.0000000Z', '2023-04-01T00:00:00.0000000Z'),
                  ('717171', 'biffsucks@hillvalley.edu', 1, 'secondary', '2023-04-01T00:01:00.0000000Z', '2023-04-01T00:02:00.0000000Z'),
                  ('555', 'george@hillvalley.edu', 1, 'secondary', '2023-04-01T00:03:00.0000000Z', '2023-04-01T00:03:00.0000000Z');
                PRAGMA user_version = 1;
                """);
        }

        var before = SqliteRows.ReadAll(_database);
        await using var store = new SqliteContactStore(_database.ConnectionString);
        var reconciler = new IdentityReconciler(store);

        var view = await reconciler.FindAsync(new IdentifyRequest("biffsucks@hillvalley.edu", null));

        view!.SecondaryContactIds.Should().Equal(2, 3);
        using (var check = _database.OpenRaw())
        {
            check.ExecuteScalar<long>("PRAGMA user_version").Should().Be(SqliteContactStore.SchemaVersion).And.Be(4);
            check.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE name = 'ContactLink'").Should().Be(1);
            check.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE name = 'ContactChange'").Should().Be(1);
            check.Query<string>("SELECT name FROM pragma_index_list('Contact') WHERE origin = 'c'").Should().HaveCount(6);
        }

        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        SqliteRows.ReadLinks(_database).Should().BeEmpty("version 1 recorded no merge evidence");

        // What re-resolution does with such data: biffsucks (2) was merged into george (1) by a request that left no row and,
        // before version 2, no link. Erasing 555 leaves nothing that joins 2 to 1, so the person splits there (docs/erasure.md).
        var result = await reconciler.EraseAsync(new IdentifyRequest(null, "555"));

        result.Persons.Select(p => p.PrimaryContactId).Should().Equal(1, 2);
        (await reconciler.IdentifyAsync(new IdentifyRequest("george@hillvalley.edu", "717171"))).SecondaryContactIds.Should().Equal(2, 3);
        SqliteRows.ReadLinks(_database).Should().ContainSingle("a new merge records its evidence");
    }

    [Fact]
    public async Task ErasureLookups_UseIndexesOnly()
    {
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            await store.FindClustersAsync(new ContactIdentifiers("a@x.io", null));
        }

        using var raw = _database.OpenRaw();
        foreach (var sql in new[]
        {
            SqliteErasureSql.PersonRoot, SqliteErasureSql.RootsByEmail, SqliteErasureSql.RootsByPhoneNumber,
            SqliteErasureSql.DeletedByEmail, SqliteErasureSql.DeletedByPhoneNumber, SqliteErasureSql.DeletedById, SqliteErasureSql.DeletedByLinkedId,
            SqliteErasureSql.LinksByEmail, SqliteErasureSql.LinksByPhoneNumber, SqliteErasureSql.DeleteLink, SqliteErasureSql.DeleteContact,
        })
        {
            var plan = raw.Query("EXPLAIN QUERY PLAN " + sql, new { Value = "x", Email = "x", PhoneNumber = "1", Id = 1L })
                .Select(row => (string)((IDictionary<string, object>)row)["detail"]).ToList();
            plan.Should().NotContain(d => d.StartsWith("SCAN", StringComparison.Ordinal), "{0} scans: {1}", sql, string.Join(" | ", plan));
        }
    }
}
