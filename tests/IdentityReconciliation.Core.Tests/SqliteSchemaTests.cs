using Dapper;
using IdentityReconciliation.Sqlite;
using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Tests;

public sealed class SqliteSchemaTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private async Task<SqliteContactStore> CreateInitialisedStoreAsync()
    {
        var store = new SqliteContactStore(_database.ConnectionString);
        await store.FindClustersAsync(new ContactIdentifiers("a@x.io", null));
        return store;
    }

    [Fact]
    public async Task FirstUse_CreatesTheProductSchemaInWalModeWithVersion()
    {
        await using var store = await CreateInitialisedStoreAsync();
        using var raw = _database.OpenRaw();

        raw.Query<string>("SELECT name FROM pragma_table_info('Contact') ORDER BY cid")
            .Should().Equal("id", "phoneNumber", "email", "linkedId", "linkPrecedence", "createdAt", "updatedAt", "deletedAt");
        raw.ExecuteScalar<long>("PRAGMA user_version").Should().Be(SqliteContactStore.SchemaVersion);
        raw.ExecuteScalar<string>("PRAGMA journal_mode").Should().Be("wal");
        raw.Query<string>("SELECT name FROM pragma_index_list('Contact') WHERE origin = 'c' ORDER BY name")
            .Should().Equal(
                "IX_Contact_deleted_email", "IX_Contact_deleted_linkedId", "IX_Contact_deleted_phoneNumber",
                "IX_Contact_email", "IX_Contact_linkedId", "IX_Contact_phoneNumber");
        IndexColumns(raw, "IX_Contact_email").Should().Equal("email");
        IndexColumns(raw, "IX_Contact_phoneNumber").Should().Equal("phoneNumber");
        IndexColumns(raw, "IX_Contact_linkedId").Should().Equal("linkedId");
        IndexSql(raw, "IX_Contact_linkedId").Should().EndWith("WHERE deletedAt IS NULL AND linkedId IS NOT NULL", "primaries are not in the link index");
        raw.Query<string>("SELECT name FROM pragma_table_info('ContactLink') ORDER BY cid").Should().Equal("email", "phoneNumber", "createdAt");
        raw.Query<string>("SELECT name FROM pragma_table_info('ContactChange') ORDER BY cid")
            .Should().Equal("sequence", "occurredAt", "kind", "contactId", "primaryContactId", "relatedContactIds");
        raw.Query<string>("SELECT name FROM pragma_index_list('ContactChange') WHERE origin = 'c' ORDER BY name")
            .Should().Equal("IX_ContactChange_contactId", "IX_ContactChange_primaryContactId");
    }

    [Fact]
    public async Task TouchedClustersQueries_UseIndexes()
    {
        await using var store = await CreateInitialisedStoreAsync();
        using var raw = _database.OpenRaw();

        var roots = Plan(raw, SqliteSql.TouchedRoots, new { Email = "a@x.io", PhoneNumber = "1" });
        var cluster = Plan(raw, SqliteSql.Cluster, new { Root = 1L });

        roots.Should().NotContain(d => d.StartsWith("SCAN", StringComparison.Ordinal), "no lookup scans: {0}", string.Join(" | ", roots));
        cluster.Should().NotContain(d => d.StartsWith("SCAN", StringComparison.Ordinal), "no lookup scans: {0}", string.Join(" | ", cluster));
        roots.Should().Contain(d => d.Contains("USING INDEX IX_Contact_email (email=?)", StringComparison.Ordinal));
        roots.Should().Contain(d => d.Contains("USING INDEX IX_Contact_phoneNumber (phoneNumber=?)", StringComparison.Ordinal));
        cluster.Should().Contain(d => d.Contains("INTEGER PRIMARY KEY", StringComparison.Ordinal));
        cluster.Should().Contain(d => d.Contains("USING INDEX IX_Contact_linkedId (linkedId=?)", StringComparison.Ordinal), "the link index, which holds secondaries only, serves linkedId = @Root");
    }

    [Fact]
    public async Task ChangeOfLink_WritesTheLinkIndex_NotTheIdentifierIndexes()
    {
        // A merge demotes a primary and re-points its secondaries: an UPDATE of linkedId. With linkedId in the email and
        // phone indexes (schema versions 1 to 3), each such row rewrote an entry in both, on leaf pages of their own.
        await using var store = await CreateInitialisedStoreAsync();
        using var raw = _database.OpenRaw();

        var written = BtreesOpenedForWriting(raw, SqliteSql.Update);

        written.Should().Contain(["Contact", "IX_Contact_linkedId"]);
        written.Should().NotContain(["IX_Contact_email", "IX_Contact_phoneNumber"]);
    }

    [Fact]
    public async Task Version3Database_IsUpgradedInPlace_IndexesReshaped_RowsLinksAndFeedKept()
    {
        using (var raw = _database.OpenRaw())
        {
            raw.Execute(SqliteSql.Schema);
            raw.Execute(SqliteErasureSql.Schema);
            raw.Execute(SqliteChangeFeedSql.Schema);

            // George (1) and Biff (2), two persons merged by the request (george, 717171): its link and feed entries.
            raw.Execute("""
                INSERT INTO Contact (phoneNumber, email, linkedId, linkPrecedence, createdAt, updatedAt) VALUES
                  ('919191', 'george@hillvalley.edu', NULL, 'primary', '2023-04-01T00:00:00.0000000Z', '2023-04-01T00:00:00.0000000Z'),
                  ('717171', 'biffsucks@hillvalley.edu', 1, 'secondary', '2023-04-01T00:01:00.0000000Z', '2023-04-01T00:02:00.0000000Z');
                INSERT INTO ContactLink (email, phoneNumber, createdAt) VALUES ('george@hillvalley.edu', '717171', '2023-04-01T00:02:00.0000000Z');
                INSERT INTO ContactChange (occurredAt, kind, contactId, primaryContactId, relatedContactIds) VALUES
                  ('2023-04-01T00:00:00.0000000Z', 1, 1, 1, NULL),
                  ('2023-04-01T00:01:00.0000000Z', 1, 2, 2, NULL),
                  ('2023-04-01T00:02:00.0000000Z', 3, 2, 1, NULL);
                PRAGMA user_version = 3;
                """);
            BtreesOpenedForWriting(raw, SqliteSql.Update).Should().Contain("IX_Contact_email", "version 3's identifier indexes carry linkedId");
        }

        var rows = SqliteRows.ReadAll(_database);
        var links = SqliteRows.ReadLinks(_database);
        await using var store = new SqliteContactStore(_database.ConnectionString);

        (await store.GetChangesAsync(0, 100)).Select(e => e.Sequence).Should().Equal(1, 2, 3);
        (await store.GetHistoryAsync(2)).Select(e => e.Sequence).Should().Equal([1L, 2L, 3L], "the history written before the upgrade is kept, and found by the person's contacts");
        var person = await store.LoadPersonAsync(2);
        person!.Contacts.Should().BeEquivalentTo(rows, o => o.WithStrictOrdering());
        person.Links.Should().BeEquivalentTo(links);
        using (var check = _database.OpenRaw())
        {
            check.ExecuteScalar<long>("PRAGMA user_version").Should().Be(SqliteContactStore.SchemaVersion).And.Be(4);
            IndexColumns(check, "IX_Contact_email").Should().Equal("email");
            IndexColumns(check, "IX_Contact_phoneNumber").Should().Equal("phoneNumber");
            IndexSql(check, "IX_Contact_linkedId").Should().EndWith("WHERE deletedAt IS NULL AND linkedId IS NOT NULL");
            BtreesOpenedForWriting(check, SqliteSql.Update).Should().NotContain(["IX_Contact_email", "IX_Contact_phoneNumber"]);
            check.ExecuteScalar<string>("PRAGMA integrity_check").Should().Be("ok");
        }

        // Then the graph goes on through the new indexes: Lorraine joins the person by Biff's phone.
        var lorraine = await new IdentityReconciler(store).IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "717171"));
        lorraine.PrimaryContactId.Should().Be(1);
        lorraine.Emails.Should().Equal("george@hillvalley.edu", "biffsucks@hillvalley.edu", "lorraine@hillvalley.edu");
        lorraine.SecondaryContactIds.Should().HaveCount(2).And.Contain(2);
        (await store.GetChangesAsync(3, 100)).Should().ContainSingle().Which.Kind.Should().Be(ContactChangeKind.SecondaryCreated);
    }

    private static List<string> IndexColumns(SqliteConnection connection, string index) =>
        connection.Query<string>("SELECT name FROM pragma_index_info(@index) ORDER BY seqno", new { index }).ToList();

    private static string IndexSql(SqliteConnection connection, string index) =>
        connection.ExecuteScalar<string>("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = @index", new { index })!;

    // The tables and indexes a statement's program opens for writing (OpenWrite's p2 is the b-tree's root page).
    private static List<string> BtreesOpenedForWriting(SqliteConnection connection, string sql)
    {
        var names = connection.Query<(long Page, string Name)>("SELECT rootpage, name FROM sqlite_master WHERE rootpage > 0").ToDictionary(r => r.Page, r => r.Name);
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN " + sql;
        var opened = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (reader.GetString(reader.GetOrdinal("opcode")) == "OpenWrite")
            {
                opened.Add(names[reader.GetInt64(reader.GetOrdinal("p2"))]);
            }
        }

        return opened;
    }

    private static List<string> Plan(SqliteConnection connection, string sql, object parameters) =>
        connection.Query("EXPLAIN QUERY PLAN " + sql, parameters).Select(row => (string)((IDictionary<string, object>)row)["detail"]).ToList();

    [Fact]
    public async Task Schema_RejectsAPrimaryWithALinkOrASecondaryWithout()
    {
        await using var store = await CreateInitialisedStoreAsync();
        using var raw = _database.OpenRaw();

        var primaryWithLink = () => raw.Execute("INSERT INTO Contact (email, linkedId, linkPrecedence, createdAt, updatedAt) VALUES ('a@x.io', 1, 'primary', 'x', 'x')");
        var orphanSecondary = () => raw.Execute("INSERT INTO Contact (email, linkedId, linkPrecedence, createdAt, updatedAt) VALUES ('a@x.io', NULL, 'secondary', 'x', 'x')");
        var badPrecedence = () => raw.Execute("INSERT INTO Contact (email, linkedId, linkPrecedence, createdAt, updatedAt) VALUES ('a@x.io', NULL, 'boss', 'x', 'x')");

        primaryWithLink.Should().Throw<SqliteException>().WithMessage("*CHECK*");
        orphanSecondary.Should().Throw<SqliteException>().WithMessage("*CHECK*");
        badPrecedence.Should().Throw<SqliteException>().WithMessage("*CHECK*");
    }

    [Fact]
    public async Task Reopen_KeepsContacts()
    {
        long id;
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            id = (await new IdentityReconciler(store).IdentifyAsync(new IdentifyRequest("a@x.io", "1"))).PrimaryContactId;
        }

        SqliteConnection.ClearAllPools();
        await using (var store = new SqliteContactStore(_database.ConnectionString))
        {
            (await new IdentityReconciler(store).FindAsync(new IdentifyRequest(null, "1")))!.PrimaryContactId.Should().Be(id);
        }
    }

    [Fact]
    public async Task NewerSchemaVersion_FailsWithAClearMessage()
    {
        using (var raw = _database.OpenRaw())
        {
            raw.Execute("PRAGMA user_version = 99");
        }

        await using var store = new SqliteContactStore(_database.ConnectionString);
        var act = () => store.FindClustersAsync(new ContactIdentifiers("a@x.io", null));

        var thrown = (await act.Should().ThrowAsync<ContactStoreSchemaException>().WithMessage("*version 99*newer*")).Which;
        thrown.DatabaseVersion.Should().Be(99);
        thrown.SupportedVersion.Should().Be(SqliteContactStore.SchemaVersion);
    }

    [Fact]
    public async Task ExistingTableWithoutVersion_IsAdoptedAndIndexed()
    {
        // A table created by another tool with the product's schema (for example by a service being replaced).
        using (var raw = _database.OpenRaw())
        {
            raw.Execute("""
                CREATE TABLE Contact (id INTEGER PRIMARY KEY AUTOINCREMENT, phoneNumber TEXT, email TEXT, linkedId INTEGER,
                  linkPrecedence TEXT NOT NULL, createdAt TEXT NOT NULL, updatedAt TEXT NOT NULL, deletedAt TEXT);
                INSERT INTO Contact (phoneNumber, email, linkedId, linkPrecedence, createdAt, updatedAt)
                  VALUES ('123456', 'lorraine@hillvalley.edu', NULL, 'primary', '2023-04-01 00:00:00.374+00:00', '2023-04-01 00:00:00.374+00:00');
                """);
        }

        await using var store = new SqliteContactStore(_database.ConnectionString);
        var view = await new IdentityReconciler(store).IdentifyAsync(new IdentifyRequest("mcfly@hillvalley.edu", "123456"));

        view.Emails.Should().Equal("lorraine@hillvalley.edu", "mcfly@hillvalley.edu");
        using var check = _database.OpenRaw();
        check.ExecuteScalar<long>("PRAGMA user_version").Should().Be(SqliteContactStore.SchemaVersion);
        check.Query<string>("SELECT name FROM pragma_index_list('Contact') WHERE origin = 'c'").Should().HaveCount(6, "three on live rows, three on soft-deleted rows");
    }

    [Fact]
    public async Task Dispose_ThenUse_ThrowsObjectDisposed()
    {
        var store = await CreateInitialisedStoreAsync();
        await store.DisposeAsync();

        var act = () => store.ReconcileAsync(new ContactIdentifiers("a@x.io", null), _ => ContactChangeSet.Empty);

        await act.Should().ThrowAsync<ObjectDisposedException>();
    }
}
