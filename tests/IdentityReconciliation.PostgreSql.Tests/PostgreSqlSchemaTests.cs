using Dapper;
using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>Schema creation, migration and adoption, and that every lookup is indexed.</summary>
[RequiresPostgreSql]
public sealed class PostgreSqlSchemaTests(PostgreSqlDatabaseFixture fixture) : IClassFixture<PostgreSqlDatabaseFixture>, IAsyncLifetime
{
    private readonly string _schema = "schema_" + Guid.NewGuid().ToString("N")[..12];
    private readonly List<PostgreSqlContactStore> _stores = [];

    private PostgreSqlDatabase Database => fixture.Database;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task EnsureSchemaAsync_EmptyDatabase_CreatesTableWithProductColumnsIndexesAndVersion()
    {
        await CreateStore().EnsureSchemaAsync();

        var columns = (await Database.QueryAsync<(string Name, string Type, string Nullable)>(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = @Schema AND table_name = 'Contact' ORDER BY ordinal_position",
            new { Schema = _schema })).ToList();
        columns.Should().Equal(
            ("id", "bigint", "NO"),
            ("phoneNumber", "text", "YES"),
            ("email", "text", "YES"),
            ("linkedId", "bigint", "YES"),
            ("linkPrecedence", "text", "NO"),
            ("createdAt", "timestamp with time zone", "NO"),
            ("updatedAt", "timestamp with time zone", "NO"),
            ("deletedAt", "timestamp with time zone", "YES"));
        (await Database.ScalarAsync<string>(
            "SELECT is_identity FROM information_schema.columns WHERE table_schema = @Schema AND table_name = 'Contact' AND column_name = 'id'", new { Schema = _schema }))
            .Should().Be("YES");
        var indexes = await Database.QueryAsync<string>("SELECT indexdef FROM pg_indexes WHERE schemaname = @Schema AND tablename = 'Contact'", new { Schema = _schema });
        indexes.Should().Contain(i => i.Contains("(email)")).And.Contain(i => i.Contains("(\"phoneNumber\")")).And.Contain(i => i.Contains("(\"linkedId\")"));
        (await Database.QueryAsync<int>($"SELECT \"version\" FROM \"{_schema}\".\"ContactSchemaVersion\"")).Should().Equal(PostgreSqlContactStore.SchemaVersion);

        var feedColumns = (await Database.QueryAsync<(string Name, string Type, string Nullable)>(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = @Schema AND table_name = 'ContactChange' ORDER BY ordinal_position",
            new { Schema = _schema })).ToList();
        feedColumns.Should().Equal(
            ("sequence", "bigint", "NO"),
            ("occurredAt", "timestamp with time zone", "NO"),
            ("kind", "smallint", "NO"),
            ("contactId", "bigint", "NO"),
            ("primaryContactId", "bigint", "YES"),
            ("relatedContactIds", "ARRAY", "YES"));
        (await Database.ScalarAsync<string>(
            "SELECT identity_generation FROM information_schema.columns WHERE table_schema = @Schema AND table_name = 'ContactChange' AND column_name = 'sequence'", new { Schema = _schema }))
            .Should().Be("ALWAYS");
        (await Database.ScalarAsync<long>("SELECT seqcache FROM pg_sequence WHERE seqrelid = pg_get_serial_sequence(@Table, 'sequence')::regclass", new { Table = $"\"{_schema}\".\"ContactChange\"" }))
            .Should().Be(1, "no session may hold numbers in advance");
        (await Database.QueryAsync<string>("SELECT indexname FROM pg_indexes WHERE schemaname = @Schema AND tablename = 'ContactChange'", new { Schema = _schema }))
            .Should().Contain(["IX_ContactChange_contactId", "IX_ContactChange_primaryContactId"]);
    }

    [Fact]
    public async Task EnsureSchemaAsync_VersionTwoSchema_IsUpgradedInPlaceKeepingRowsAndLinksWithAnEmptyFeed()
    {
        // A version 2 schema: what the previous package created (no feed table), with a person joined by a recorded link.
        await CreateStore().EnsureSchemaAsync();
        await Database.ExecuteAsync($"""
            DROP TABLE "{_schema}"."ContactChange";
            UPDATE "{_schema}"."ContactSchemaVersion" SET "version" = 2;
            INSERT INTO "{_schema}"."Contact" ("id", "phoneNumber", "email", "linkedId", "linkPrecedence", "createdAt", "updatedAt") OVERRIDING SYSTEM VALUE VALUES
                (1, '919191', 'george@hillvalley.edu', NULL, 'primary', '2023-04-01T00:00:00Z', '2023-04-01T00:00:00Z'),
                (2, '717171', 'biffsucks@hillvalley.edu', 1, 'secondary', '2023-04-01T00:01:00Z', '2023-04-01T00:02:00Z');
            INSERT INTO "{_schema}"."ContactLink" ("email", "phoneNumber", "createdAt") VALUES ('george@hillvalley.edu', '717171', '2023-04-01T00:02:00Z');
            SELECT setval(pg_get_serial_sequence('"{_schema}"."Contact"', 'id'), 2);
            """);
        var rows = await Database.ReadAllAsync(_schema);
        var links = await Database.ReadLinksAsync(_schema);
        var store = CreateStore();

        var person = await store.LoadPersonAsync(2);

        (await Database.QueryAsync<int>($"SELECT \"version\" FROM \"{_schema}\".\"ContactSchemaVersion\" ORDER BY 1")).Should().Equal(2, 3);
        (await Database.ReadAllAsync(_schema)).Should().BeEquivalentTo(rows, o => o.WithStrictOrdering());
        (await Database.ReadLinksAsync(_schema)).Should().BeEquivalentTo(links);
        person!.Contacts.Select(c => c.Id).Should().Equal(1, 2);
        person.Links.Should().ContainSingle();
        (await store.GetChangesAsync(0, 10)).Should().BeEmpty("the feed of an upgraded database starts empty");
        (await store.GetHistoryAsync(1)).Should().BeEmpty();

        var cluster = await new IdentityReconciler(store).IdentifyAsync(new IdentifyRequest("marty@hillvalley.edu", "717171"));

        var entry = (await store.GetChangesAsync(0, 10)).Should().ContainSingle().Subject;
        entry.Kind.Should().Be(ContactChangeKind.SecondaryCreated);
        entry.ContactId.Should().Be(cluster.SecondaryContactIds.Max());
        entry.PrimaryContactId.Should().Be(1);
    }

    [Fact]
    public async Task EnsureSchemaAsync_VersionTwoWithoutAutoMigrate_ThrowsNamingBothVersions()
    {
        await CreateStore().EnsureSchemaAsync();
        await Database.ExecuteAsync($"DROP TABLE \"{_schema}\".\"ContactChange\"; UPDATE \"{_schema}\".\"ContactSchemaVersion\" SET \"version\" = 2;");

        var act = () => CreateStore(autoMigrate: false).EnsureSchemaAsync();

        (await act.Should().ThrowAsync<ContactStoreSchemaException>()).Which.Message.Should().Contain("version 2").And.Contain("3 is required");
    }

    [Fact]
    public async Task HistoryQuery_LargeFeed_UsesOnlyIndexes()
    {
        await CreateStore().EnsureSchemaAsync();
        await Database.ExecuteAsync($"""
            INSERT INTO "{_schema}"."Contact" ("email", "phoneNumber", "linkPrecedence", "createdAt", "updatedAt")
            SELECT 'user' || i || '@x.io', '+1555' || i, 'primary', now(), now() FROM generate_series(1, 20000) AS i;
            INSERT INTO "{_schema}"."ContactChange" ("occurredAt", "kind", "contactId", "primaryContactId")
            SELECT now(), 1, i, i FROM generate_series(1, 20000) AS i;
            ANALYZE "{_schema}"."Contact";
            ANALYZE "{_schema}"."ContactChange";
            """);

        var plan = string.Join('\n', await Database.QueryAsync<string>("EXPLAIN " + PostgreSqlContactStore.HistorySql(_schema).Replace("@Id", "77")));

        plan.Should().NotContain("Seq Scan", plan);
        plan.Should().Contain("IX_ContactChange_contactId").And.Contain("IX_ContactChange_primaryContactId").And.Contain("IX_Contact_linkedId");
    }

    [Fact]
    public async Task Schema_LinkPrecedenceConstraints_RejectBadRows()
    {
        await CreateStore().EnsureSchemaAsync();

        var badText = () => Database.ExecuteAsync($"INSERT INTO \"{_schema}\".\"Contact\" (\"email\", \"linkPrecedence\", \"createdAt\", \"updatedAt\") VALUES ('a@x.io', 'boss', now(), now())");
        var primaryWithLink = () => Database.ExecuteAsync($"INSERT INTO \"{_schema}\".\"Contact\" (\"email\", \"linkedId\", \"linkPrecedence\", \"createdAt\", \"updatedAt\") VALUES ('a@x.io', 7, 'primary', now(), now())");

        (await badText.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.CheckViolation);
        (await primaryWithLink.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.CheckViolation);
    }

    [Fact]
    public async Task EnsureSchemaAsync_EightInstancesStartingAtOnce_CreateTheSchemaOnce()
    {
        var stores = Enumerable.Range(0, 8).Select(_ => CreateStore()).ToList();
        using var start = new ManualResetEventSlim();
        var tasks = stores.Select(store => Task.Run(async () =>
        {
            start.Wait();
            await store.EnsureSchemaAsync();
        })).ToArray();
        start.Set();

        await Task.WhenAll(tasks);

        (await Database.ScalarAsync<long>($"SELECT count(*) FROM \"{_schema}\".\"ContactSchemaVersion\"")).Should().Be(1);
    }

    [Fact]
    public async Task EnsureSchemaAsync_AutoMigrateOffOnEmptyDatabase_ThrowsSchemaExceptionAndCreatesNothing()
    {
        var act = () => CreateStore(autoMigrate: false).EnsureSchemaAsync();

        (await act.Should().ThrowAsync<ContactStoreSchemaException>()).Which.Message.Should().Contain(nameof(PostgreSqlContactStore.GetSchemaScript)).And.Contain("AutoMigrate");
        (await Database.ScalarAsync<bool>("SELECT to_regnamespace(@Schema) IS NULL", new { Schema = _schema })).Should().BeTrue();
    }

    [Fact]
    public async Task GetSchemaScript_AppliedByTheHost_LetsAStoreWithoutAutoMigrateWork()
    {
        await Database.ExecuteAsync(PostgreSqlContactStore.GetSchemaScript(_schema));
        await Database.ExecuteAsync(PostgreSqlContactStore.GetSchemaScript(_schema)); // idempotent
        var reconciler = new IdentityReconciler(CreateStore(autoMigrate: false));

        var cluster = await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));

        (await Database.ReadAllAsync(_schema)).Single().Id.Should().Be(cluster.PrimaryContactId);
    }

    [Fact]
    public void GetSchemaScript_SchemaNameThatIsNotAnIdentifier_Throws()
    {
        var act = () => PostgreSqlContactStore.GetSchemaScript("x\"; DROP TABLE y; --");

        act.Should().Throw<ArgumentException>().WithParameterName("schema");
    }

    [Fact]
    public async Task EnsureSchemaAsync_NewerSchemaVersion_ThrowsSchemaException()
    {
        await CreateStore().EnsureSchemaAsync();
        await Database.ExecuteAsync($"INSERT INTO \"{_schema}\".\"ContactSchemaVersion\" (\"version\", \"description\") VALUES (99, 'from the future')");

        var act = () => CreateStore().EnsureSchemaAsync();

        var thrown = (await act.Should().ThrowAsync<ContactStoreSchemaException>()).Which;
        thrown.Message.Should().Contain("99");
        thrown.DatabaseVersion.Should().Be(99);
        thrown.SupportedVersion.Should().Be(PostgreSqlContactStore.SchemaVersion);
    }

    [Fact]
    public async Task EnsureSchemaAsync_ExistingContactTable_IsAdoptedWithItsRows()
    {
        // A table another tool created with the product's columns (as an ORM would), holding one contact.
        await Database.ExecuteAsync($"""
            CREATE SCHEMA "{_schema}";
            CREATE TABLE "{_schema}"."Contact" ("id" serial PRIMARY KEY, "phoneNumber" text, "email" text, "linkedId" int,
                "linkPrecedence" text NOT NULL, "createdAt" timestamptz NOT NULL, "updatedAt" timestamptz NOT NULL, "deletedAt" timestamptz);
            INSERT INTO "{_schema}"."Contact" ("phoneNumber", "email", "linkPrecedence", "createdAt", "updatedAt") VALUES ('123456', 'lorraine@hillvalley.edu', 'primary', now(), now());
            """);
        var reconciler = new IdentityReconciler(CreateStore());

        var cluster = await reconciler.IdentifyAsync(new IdentifyRequest("mcfly@hillvalley.edu", "123456"));

        cluster.Emails.Should().Equal("lorraine@hillvalley.edu", "mcfly@hillvalley.edu");
        (await Database.QueryAsync<string>("SELECT indexname FROM pg_indexes WHERE schemaname = @Schema", new { Schema = _schema }))
            .Should().Contain(["IX_Contact_email", "IX_Contact_phoneNumber", "IX_Contact_linkedId"]);
    }

    [Fact]
    public async Task EnsureSchemaAsync_ExistingTableWithoutAColumn_ThrowsSchemaExceptionNamingIt()
    {
        await Database.ExecuteAsync($"""
            CREATE SCHEMA "{_schema}";
            CREATE TABLE "{_schema}"."Contact" ("id" serial PRIMARY KEY, "phoneNumber" text, "email" text, "linkedId" int,
                "linkPrecedence" text NOT NULL, "createdAt" timestamptz NOT NULL, "updatedAt" timestamptz NOT NULL);
            """);

        var act = () => CreateStore().EnsureSchemaAsync();

        (await act.Should().ThrowAsync<ContactStoreSchemaException>()).Which.Message.Should().Contain("\"deletedAt\"");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TouchedClustersQuery_LargeTable_UsesOnlyIndexes(bool severalLookups)
    {
        await CreateStore().EnsureSchemaAsync();
        await Database.ExecuteAsync($"""
            INSERT INTO "{_schema}"."Contact" ("email", "phoneNumber", "linkPrecedence", "createdAt", "updatedAt")
            SELECT 'user' || i || '@x.io', '+1555' || i, 'primary', now(), now() FROM generate_series(1, 20000) AS i;
            ANALYZE "{_schema}"."Contact";
            """);
        var sql = severalLookups
            ? PostgreSqlContactStore.TouchedClustersManySql(_schema).Replace("$1", "ARRAY['user77@x.io', NULL, 'user9@x.io']").Replace("$2", "ARRAY['+155578', '+15553', NULL]")
            : PostgreSqlContactStore.TouchedClustersSql(_schema).Replace("$1", "'user77@x.io'").Replace("$2", "'+155578'");

        var plan = string.Join('\n', await Database.QueryAsync<string>("EXPLAIN " + sql));

        plan.Should().NotContain("Seq Scan", plan);
        plan.Should().Contain("IX_Contact_email").And.Contain("IX_Contact_phoneNumber").And.Contain("IX_Contact_linkedId").And.Contain("Contact_pkey");
    }

    [Fact]
    public async Task FindClustersAsync_RowReachedByBothBranches_IsReturnedOnce()
    {
        // A graph broken outside the store: Y links to the secondary X. Y's email makes X a root, P's phone makes P one, so X
        // matches both branches of the touched-clusters statement ("id" is a root, and "linkedId" is a root).
        var store = CreateStore();
        await store.EnsureSchemaAsync();
        await Database.ExecuteAsync($"""
            INSERT INTO "{_schema}"."Contact" ("id", "email", "phoneNumber", "linkedId", "linkPrecedence", "createdAt", "updatedAt") VALUES
                (1, 'p@x.io', '+1001', NULL, 'primary', now(), now()),
                (2, 'x@x.io', '+1002', 1, 'secondary', now(), now()),
                (3, 'y@x.io', '+1003', 2, 'secondary', now(), now());
            """);

        var contacts = await store.FindClustersAsync(new ContactIdentifiers("y@x.io", "+1001"));

        contacts.Select(c => c.Id).Should().Equal(1, 2, 3);
    }

    private PostgreSqlContactStore CreateStore(bool autoMigrate = true)
    {
        var store = new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions
        {
            ConnectionString = Database.ConnectionString,
            Schema = _schema,
            AutoMigrate = autoMigrate,
        }));
        _stores.Add(store);
        return store;
    }
}
