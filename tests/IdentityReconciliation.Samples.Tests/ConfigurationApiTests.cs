using IdentityReconciliation.Samples.Tests.Support;
using IdentityReconciliation.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Samples.Tests;

/// <summary>The store's options come from configuration (<c>IdentityReconciliation:Sqlite:*</c>), as appsettings.json or the environment give them.</summary>
public sealed class ConfigurationApiTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task StoreOptions_ConfiguredUnderIdentityReconciliationSqlite_AreBound()
    {
        await using var factory = new SampleApiFactory(_database, new Dictionary<string, string?>
        {
            ["IdentityReconciliation:Sqlite:Synchronous"] = "Normal",
            ["IdentityReconciliation:Sqlite:BusyTimeout"] = "00:00:05",
            ["IdentityReconciliation:Sqlite:MaxBatchSize"] = "16",
            ["IdentityReconciliation:Sqlite:MemoryMapSize"] = "0",
        });

        var options = factory.Services.GetRequiredService<IOptions<SqliteContactStoreOptions>>().Value;

        options.Should().BeEquivalentTo(new SqliteContactStoreOptions
        {
            ConnectionString = _database.ConnectionString,
            Synchronous = SqliteSynchronousMode.Normal,
            BusyTimeout = TimeSpan.FromSeconds(5),
            MaxBatchSize = 16,
            MemoryMapSize = 0,
        });
    }

    [Fact]
    public async Task StoreOptions_NothingConfigured_AreTheLibraryDefaults()
    {
        await using var factory = new SampleApiFactory(_database);

        var options = factory.Services.GetRequiredService<IOptions<SqliteContactStoreOptions>>().Value;

        options.Should().BeEquivalentTo(new SqliteContactStoreOptions { ConnectionString = _database.ConnectionString });
    }
}
