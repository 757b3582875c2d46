using Dapper;
using IdentityReconciliation.Sqlite;
using IdentityReconciliation.Tests.Support;

namespace IdentityReconciliation.Tests;

/// <summary>The store contract, against a real SQLite file.</summary>
public sealed class SqliteContactStoreContractTests : ContactStoreContractTests
{
    private readonly TempDatabase _database = new();

    protected override Task<IContactStore> CreateStoreAsync() => Task.FromResult<IContactStore>(new SqliteContactStore(_database.ConnectionString));

    protected override Task<IReadOnlyList<Contact>> ReadAllAsync() => Task.FromResult(SqliteRows.ReadAll(_database));

    protected override Task SoftDeleteAsync(long id, DateTimeOffset at)
    {
        using var connection = _database.OpenRaw();
        connection.Execute("UPDATE Contact SET deletedAt = @at WHERE id = @id", new { id, at = at.UtcDateTime.ToString("O") });
        return Task.CompletedTask;
    }

    protected override Task<IReadOnlyList<ContactLink>> ReadLinksAsync() => Task.FromResult(SqliteRows.ReadLinks(_database));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _database.Dispose();
    }
}

/// <summary>The store contract, against the hand-written in-memory store: the contract is not SQLite-shaped.</summary>
public sealed class InMemoryContactStoreContractTests : ContactStoreContractTests
{
    private readonly InMemoryContactStore _store = new();

    protected override Task<IContactStore> CreateStoreAsync() => Task.FromResult<IContactStore>(_store);

    protected override Task<IReadOnlyList<Contact>> ReadAllAsync() => Task.FromResult<IReadOnlyList<Contact>>(_store.Snapshot().OrderBy(c => c.Id).ToList());

    protected override Task SoftDeleteAsync(long id, DateTimeOffset at)
    {
        var contact = _store.Snapshot().Single(c => c.Id == id);
        _store.Replace(contact with { DeletedAt = at });
        return Task.CompletedTask;
    }

    protected override Task<IReadOnlyList<ContactLink>> ReadLinksAsync() => Task.FromResult(_store.Links());
}
