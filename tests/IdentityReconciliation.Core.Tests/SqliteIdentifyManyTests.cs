
namespace IdentityReconciliation.Tests;

/// <summary><see cref="IdentifyManyTests"/> on real SQLite files (the store's default, one-by-one batch).</summary>
public sealed class SqliteIdentifyManyTests : IdentifyManyTests, IDisposable
{
    private readonly List<TempDatabase> _databases = [];

    protected override Task<StoreUnderTest> CreateStoreAsync()
    {
        var database = new TempDatabase();
        _databases.Add(database);
        var store = new Sqlite.SqliteContactStore(database.ConnectionString);
        return Task.FromResult(new StoreUnderTest(
            store,
            () => Task.FromResult(SqliteRows.ReadAll(database)),
            () => Task.FromResult(SqliteRows.ReadLinks(database)),
            async email =>
            {
                await store.FindClustersAsync(new ContactIdentifiers(email, null)); // creates the schema
                using var connection = database.OpenRaw();
                using var command = connection.CreateCommand();
                var literal = "'" + email.Replace("'", "''", StringComparison.Ordinal) + "'";
                command.CommandText = $"CREATE TRIGGER fail_insert BEFORE INSERT ON Contact WHEN NEW.email = {literal} BEGIN SELECT RAISE(ABORT, 'insert refused by the test'); END";
                command.ExecuteNonQuery();
            }));
    }

    public void Dispose()
    {
        foreach (var database in _databases)
        {
            database.Dispose();
        }
    }
}
