using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>
/// The store contract (IdentityReconciliation.Testing), against a real PostgreSQL server: the same
/// contract, invariant and concurrency tests as the SQLite store, including 64 parallel identical new requests and
/// parallel bridging requests. Each test gets its own schema in the class's database.
/// </summary>
[RequiresPostgreSql]
public sealed class PostgreSqlContactStoreContractTests(PostgreSqlDatabaseFixture fixture) : ContactStoreContractTests, IClassFixture<PostgreSqlDatabaseFixture>
{
    private readonly string _schema = "contract_" + Guid.NewGuid().ToString("N")[..12];

    protected override Task<IContactStore> CreateStoreAsync() =>
        Task.FromResult<IContactStore>(new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions
        {
            ConnectionString = fixture.Database.ConnectionString,
            Schema = _schema,
        })));

    protected override Task<IReadOnlyList<Contact>> ReadAllAsync() => fixture.Database.ReadAllAsync(_schema);

    protected override Task SoftDeleteAsync(long id, DateTimeOffset at) =>
        fixture.Database.ExecuteAsync($"UPDATE \"{_schema}\".\"Contact\" SET \"deletedAt\" = @At WHERE \"id\" = @Id", new { Id = id, At = at });

    protected override Task<IReadOnlyList<ContactLink>> ReadLinksAsync() => fixture.Database.ReadLinksAsync(_schema);
}
