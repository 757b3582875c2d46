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
