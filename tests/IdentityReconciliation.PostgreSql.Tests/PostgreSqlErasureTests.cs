using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>Erasure on PostgreSQL beyond the shared contract: schema 1 upgraded in place, VACUUM after an erasure, indexed lookups, and no value in the logs.</summary>
[RequiresPostgreSql]
public sealed class PostgreSqlErasureTests(PostgreSqlDatabaseFixture fixture) : IClassFixture<PostgreSqlDatabaseFixture>, IAsyncLifetime
{
    private readonly string _schema = "erasure_" + Guid.NewGuid().ToString("N")[..12];
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
    public async Task EnsureSchemaAsync_VersionOneSchema_IsUpgradedInPlaceAndKeepsItsContacts()
    {
        // A version 1 schema: what the previous package created (no links table), with a merged person in it.
        await CreateStore().EnsureSchemaAsync();
        await Database.ExecuteAsync($"""
            DROP TABLE "{_schema}"."ContactLink";
            UPDATE "{_schema}"."ContactSchemaVersion" SET "version" = 1;
            INSERT INTO "{_schema}"."Contact" ("id", "phoneNumber", "email", "linkedId", "linkPrecedence", "createdAt", "updatedAt") OVERRIDING SYSTEM VALUE VALUES
                (1, '919191', 'george@hillvalley.edu', NULL, 'primary', '2023-04-01T00:00:00Z', '2023-04-01T00:00:00Z'),
                (2, '717171', 'biffsucks@hillvalley.edu', 1, 'secondary', '2023-04-01T00:01:00Z', '2023-04-01T00:02:00Z'),
                (3, '555', 'george@hillvalley.edu', 1, 'secondary', '2023-04-01T00:03:00Z', '2023-04-01T00:03:00Z');
            SELECT setval(pg_get_serial_sequence('"{_schema}"."Contact"', 'id'), 3);
            """);
        var before = await Database.ReadAllAsync(_schema);
        var reconciler = new IdentityReconciler(CreateStore());

        (await reconciler.FindAsync(new IdentifyRequest("biffsucks@hillvalley.edu", null)))!.SecondaryContactIds.Should().Equal(2, 3);

        (await Database.QueryAsync<int>($"SELECT \"version\" FROM \"{_schema}\".\"ContactSchemaVersion\" ORDER BY 1")).Should().Equal(1, PostgreSqlContactStore.SchemaVersion);
        (await Database.ReadAllAsync(_schema)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        (await Database.ReadLinksAsync(_schema)).Should().BeEmpty("version 1 recorded no merge evidence");

        // Adopted data without evidence: erasing 555 leaves nothing that joins biffsucks (2) to george (1), so it splits.
        var result = await reconciler.EraseAsync(new IdentifyRequest(null, "555"));

        result.Persons.Select(p => p.PrimaryContactId).Should().Equal(1, 2);
        (await reconciler.IdentifyAsync(new IdentifyRequest("george@hillvalley.edu", "717171"))).SecondaryContactIds.Should().Equal(2, 3);
        (await Database.ReadLinksAsync(_schema)).Should().ContainSingle("a new merge records its evidence");
    }

    [Fact]
    public async Task EnsureSchemaAsync_VersionOneWithoutAutoMigrate_ThrowsNamingBothVersions()
    {
        await CreateStore().EnsureSchemaAsync();
        await Database.ExecuteAsync($"DROP TABLE \"{_schema}\".\"ContactLink\"; UPDATE \"{_schema}\".\"ContactSchemaVersion\" SET \"version\" = 1;");

        var act = () => CreateStore(autoMigrate: false).EnsureSchemaAsync();

        (await act.Should().ThrowAsync<ContactStoreSchemaException>()).Which.Message.Should().Contain("version 1").And.Contain($"{PostgreSqlContactStore.SchemaVersion} is required");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task EraseAsync_VacuumAfterErasure_VacuumsBothTablesOnlyWhenOn(bool vacuum)
    {
        var reconciler = new IdentityReconciler(CreateStore(vacuumAfterErasure: vacuum));
        await reconciler.IdentifyAsync(new IdentifyRequest("forget-me@erasure.test", "+447700900123"));
        await reconciler.IdentifyAsync(new IdentifyRequest("keep-me@erasure.test", "+447700900123"));

        await reconciler.EraseAsync(new IdentifyRequest("forget-me@erasure.test", null));

        var vacuumed = await Database.QueryAsync<string>(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = @Schema AND last_vacuum IS NOT NULL ORDER BY relname", new { Schema = _schema });
        vacuumed.Should().Equal(vacuum ? ["Contact", "ContactLink"] : []);
    }

    [Fact]
    public async Task EraseAsync_LogsCountsAndIdentifiersButNeverTheValue()
    {
        var storeLogger = new CollectingLogger<PostgreSqlContactStore>();
        var reconcilerLogger = new CollectingLogger<IdentityReconciler>();
        var store = CreateStore(vacuumAfterErasure: true, logger: storeLogger);
        var reconciler = new IdentityReconciler(store, DefaultContactNormalizer.Instance, TimeProvider.System, reconcilerLogger);
        await reconciler.IdentifyAsync(new IdentifyRequest("forget-me@erasure.test", "+447700900123"));
        var person = await reconciler.IdentifyAsync(new IdentifyRequest("keep-me@erasure.test", "+447700900123"));

        await reconciler.EraseAsync(new IdentifyRequest("forget-me@erasure.test", null));
        await reconciler.ErasePersonAsync(person.PrimaryContactId);
        var bad = () => reconciler.EraseAsync(new IdentifyRequest("forget-me.erasure.test", null));
        (await bad.Should().ThrowAsync<InvalidIdentifyRequestException>()).Which.Message.Should().NotContain("forget-me");

        var messages = storeLogger.Entries.Select(e => e.Message + e.Exception).Concat(reconcilerLogger.Entries.Select(e => e.Message + e.Exception)).ToList();
        messages.Should().Contain(m => m.StartsWith("Erased ", StringComparison.Ordinal));
        messages.Should().NotContain(m => m.Contains("forget-me", StringComparison.Ordinal) || m.Contains("keep-me", StringComparison.Ordinal) || m.Contains("447700900123", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ErasureLookups_LargeTable_UseOnlyIndexes()
    {
        await CreateStore().EnsureSchemaAsync();
        await Database.ExecuteAsync($"""
            INSERT INTO "{_schema}"."Contact" ("email", "phoneNumber", "linkPrecedence", "createdAt", "updatedAt", "deletedAt")
            SELECT 'user' || i || '@x.io', '+1555' || i, 'primary', now(), now(), CASE WHEN i % 10 = 0 THEN now() END FROM generate_series(1, 20000) AS i;
            INSERT INTO "{_schema}"."ContactLink" ("email", "phoneNumber", "createdAt")
            SELECT 'user' || i || '@x.io', '+1555' || (i + 1), now() FROM generate_series(1, 20000) AS i;
            ANALYZE "{_schema}"."Contact";
            ANALYZE "{_schema}"."ContactLink";
            """);
        const string Emails = "ARRAY['user77@x.io', 'user78@x.io']";
        const string Phones = "ARRAY['+155579']";

        foreach (var sql in new[]
        {
            PostgreSqlContactStore.ErasureContactsSql(_schema).Replace("@PersonId", "77"),
            PostgreSqlContactStore.ErasureDeletedSql(_schema).Replace("@Ids", "ARRAY[70::bigint, 77]"),
            PostgreSqlContactStore.ErasureLinksSql(_schema),
        })
        {
            var plan = string.Join('\n', await Database.QueryAsync<string>("EXPLAIN " + sql.Replace("@Emails", Emails).Replace("@Phones", Phones)));
            plan.Should().NotContain("Seq Scan", plan);
        }
    }

    private PostgreSqlContactStore CreateStore(bool autoMigrate = true, bool vacuumAfterErasure = false, CollectingLogger<PostgreSqlContactStore>? logger = null)
    {
        var store = new PostgreSqlContactStore(
            Options.Create(new PostgreSqlContactStoreOptions
            {
                ConnectionString = Database.ConnectionString,
                Schema = _schema,
                AutoMigrate = autoMigrate,
                VacuumAfterErasure = vacuumAfterErasure,
            }),
            logger);
        _stores.Add(store);
        return store;
    }
}
