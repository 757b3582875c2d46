using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>
/// <see cref="IdentifyManyTests"/> (IdentityReconciliation.Testing) on a real PostgreSQL server: the store's
/// chunked override of <see cref="IContactStore.ReconcileManyAsync"/> against one-by-one requests. Each store gets its own schema.
/// </summary>
[RequiresPostgreSql]
public sealed class PostgreSqlIdentifyManyTests(PostgreSqlDatabaseFixture fixture) : IdentifyManyTests, IClassFixture<PostgreSqlDatabaseFixture>
{
    protected override Task<StoreUnderTest> CreateStoreAsync()
    {
        var schema = "bulk_" + Guid.NewGuid().ToString("N")[..12];
        var store = new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions
        {
            ConnectionString = fixture.Database.ConnectionString,
            Schema = schema,
        }));
        return Task.FromResult(new StoreUnderTest(
            store,
            () => fixture.Database.ReadAllAsync(schema),
            () => fixture.Database.ReadLinksAsync(schema),
            async email =>
            {
                await store.EnsureSchemaAsync();
                await fixture.Database.ExecuteAsync($"""
                    CREATE FUNCTION "{schema}".fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN RAISE EXCEPTION 'insert refused by the test'; END $$;
                    CREATE TRIGGER fail_insert BEFORE INSERT ON "{schema}"."Contact"
                    FOR EACH ROW WHEN (NEW."email" = '{email.Replace("'", "''", StringComparison.Ordinal)}') EXECUTE FUNCTION "{schema}".fail_insert();
                    """);
            }));
    }
}
