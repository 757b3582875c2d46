using IdentityReconciliation.PostgreSql.Tests.Support;
using Npgsql;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>The data source a store builds from a connection string: its defaults, and the connection string's word over them.</summary>
public sealed class PostgreSqlDataSourceTests
{
    [Fact]
    public void CreateDataSource_PlainConnectionString_PreparesStatementsAndSkipsTheResetOnClose()
    {
        using var dataSource = PostgreSqlContactStore.CreateDataSource("Host=127.0.0.1;Username=app;Password=secret");

        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        settings.MaxAutoPrepare.Should().Be(32);
        settings.AutoPrepareMinUsages.Should().Be(2);
        settings.NoResetOnClose.Should().BeTrue();
        settings.MaxPoolSize.Should().Be(2 * Environment.ProcessorCount);
    }

    [Theory]
    [InlineData("Maximum Pool Size=37", 37)]
    [InlineData("maximum pool size=37", 37)]
    [InlineData("MaxPoolSize=37", 37)]
    [InlineData("Minimum Pool Size=250", 250)]
    public void CreateDataSource_ConnectionStringSetsThePool_KeepsIt(string setting, int expectedMaximum)
    {
        using var dataSource = PostgreSqlContactStore.CreateDataSource($"Host=127.0.0.1;{setting}");

        new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).MaxPoolSize.Should().Be(expectedMaximum);
    }

    [Theory]
    [InlineData("No Reset On Close=false")]
    [InlineData("NoResetOnClose=false")]
    public void CreateDataSource_ConnectionStringSetsTheReset_KeepsIt(string setting)
    {
        using var dataSource = PostgreSqlContactStore.CreateDataSource($"Host=127.0.0.1;Max Auto Prepare=5;{setting}");

        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        settings.NoResetOnClose.Should().BeFalse();
        settings.MaxAutoPrepare.Should().Be(5);
    }
}

/// <summary>Host-owned data sources: the store's per-connection batches must not be shared where no physical connection is bound.</summary>
[RequiresPostgreSql]
public sealed class PostgreSqlHostDataSourceTests(IdentityReconciliation.PostgreSql.Tests.Support.PostgreSqlDatabaseFixture fixture)
    : IClassFixture<IdentityReconciliation.PostgreSql.Tests.Support.PostgreSqlDatabaseFixture>
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task IdentifyAsync_ConcurrentCallersOnAHostDataSource_KeepEveryPersonApart(bool multiplexing)
    {
        var schema = "hostds_" + Guid.NewGuid().ToString("N")[..12];
        var builder = new NpgsqlConnectionStringBuilder(fixture.Database.ConnectionString) { Multiplexing = multiplexing, MaxPoolSize = 4 };
        await using var dataSource = NpgsqlDataSource.Create(builder);
        await using var store = new PostgreSqlContactStore(Microsoft.Extensions.Options.Options.Create(new PostgreSqlContactStoreOptions { DataSource = dataSource, Schema = schema }));
        var reconciler = new IdentityReconciler(store);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(caller => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                var created = await reconciler.IdentifyAsync(new IdentifyRequest($"h{caller}p{i}@x.io", $"+7{caller}{i:D3}"));
                var found = await reconciler.IdentifyAsync(new IdentifyRequest(null, $"+7{caller}{i:D3}"));
                found.PrimaryContactId.Should().Be(created.PrimaryContactId);
                found.Emails.Should().Equal($"h{caller}p{i}@x.io");
            }
        })));

        (await fixture.Database.ReadAllAsync(schema)).Should().HaveCount(200);
    }
}
