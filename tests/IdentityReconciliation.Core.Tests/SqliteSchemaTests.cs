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
        raw.Query<string>("SELECT name FROM pragma_table_info('ContactLink') ORDER BY cid").Should().Equal("email", "phoneNumber", "createdAt");
        raw.Query<string>("SELECT name FROM pragma_table_info('ContactChange') ORDER BY cid")
            .Should().Equal("sequence", "occurredAt", "kind", "contactId", "primaryContactId", "relatedContactIds");
        raw.Query<string>("SELECT name FROM pragma_index_list('ContactChange') WHERE origin = 'c' ORDER BY name")
            .Should().Equal("IX_ContactChange_contactId", "IX_ContactChange_primaryContactId");
    }

    [Fact]
    public async Task TouchedClustersQueries_UseIndexesOnly()
    {
        await using var store = await CreateInitialisedStoreAsync();
        using var raw = _database.OpenRaw();

        var roots = Plan(raw, SqliteSql.TouchedRoots, new { Email = "a@x.io", PhoneNumber = "1" });
        var cluster = Plan(raw, SqliteSql.Cluster, new { Root = 1L });

        roots.Should().NotContain(d => d.StartsWith("SCAN", StringComparison.Ordinal), "no lookup scans: {0}", string.Join(" | ", roots));
        cluster.Should().NotContain(d => d.StartsWith("SCAN", StringComparison.Ordinal), "no lookup scans: {0}", string.Join(" | ", cluster));
        roots.Should().Contain(d => d.Contains("COVERING INDEX IX_Contact_email", StringComparison.Ordinal), "the roots come from the index alone");
        roots.Should().Contain(d => d.Contains("COVERING INDEX IX_Contact_phoneNumber", StringComparison.Ordinal));
        cluster.Should().Contain(d => d.Contains("INTEGER PRIMARY KEY", StringComparison.Ordinal));
        cluster.Should().Contain(d => d.Contains("IX_Contact_linkedId", StringComparison.Ordinal));
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
