using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>Registration and start-up validation: none of these need a server.</summary>
public sealed class PostgreSqlOptionsTests
{
    [Theory]
    [InlineData(null, "public", "ConnectionString is required")]
    [InlineData("Host=;Database=x", "public", "must name a server")]
    [InlineData("Hots=db", "public", "not a valid Npgsql connection string")]
    [InlineData("Host=db", "bad-schema", "Schema")]
    [InlineData("Host=db", "", "Schema")]
    public async Task UsePostgreSql_InvalidOptions_FailHostStartNamingTheSetting(string? connectionString, string schema, string expected)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddIdentityReconciliation().UsePostgreSql(o =>
        {
            o.ConnectionString = connectionString;
            o.Schema = schema;
        });
        using var host = builder.Build();

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(expected);
    }

    [Fact]
    public void Constructor_RetryCountOutOfRange_ThrowsOptionsValidationException()
    {
        var act = () => new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions { ConnectionString = "Host=db", MaxRetryAttempts = -1 }));

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("MaxRetryAttempts");
    }

    [Fact]
    public void UsePostgreSql_ConfigurationSection_BindsEveryOption()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Contacts:ConnectionString"] = "Host=db.internal;Database=shop",
            ["Contacts:Schema"] = "crm",
            ["Contacts:AutoMigrate"] = "false",
            ["Contacts:MaxRetryAttempts"] = "2",
            ["Contacts:RetryBaseDelay"] = "00:00:00.200",
            ["Contacts:GroupCommitMaxSize"] = "8",
            ["Contacts:LookupBatchMaxSize"] = "1",
            ["Contacts:VacuumAfterErasure"] = "true",
        }).Build();
        var services = new ServiceCollection();
        services.AddIdentityReconciliation().UsePostgreSql(configuration.GetSection("Contacts"));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<PostgreSqlContactStoreOptions>>().Value;

        options.Should().BeEquivalentTo(new PostgreSqlContactStoreOptions
        {
            ConnectionString = "Host=db.internal;Database=shop",
            Schema = "crm",
            AutoMigrate = false,
            MaxRetryAttempts = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(200),
            GroupCommitMaxSize = 8,
            LookupBatchMaxSize = 1,
            VacuumAfterErasure = true,
        });
        provider.GetRequiredService<IContactStore>().Should().BeOfType<PostgreSqlContactStore>();
    }

    [Fact]
    public void UsePostgreSql_Null_Throws()
    {
        var builder = new ServiceCollection().AddIdentityReconciliation();

        builder.Invoking(b => b.UsePostgreSql((string)null!)).Should().Throw<ArgumentNullException>();
        builder.Invoking(b => b.UsePostgreSql("  ")).Should().Throw<ArgumentException>();
        builder.Invoking(b => b.UsePostgreSql((NpgsqlDataSource)null!)).Should().Throw<ArgumentNullException>();
    }
}

/// <summary>The store as a host registers it, against a real server.</summary>
[RequiresPostgreSql]
public sealed class PostgreSqlDependencyInjectionTests(PostgreSqlDatabaseFixture fixture) : IClassFixture<PostgreSqlDatabaseFixture>
{
    [Fact]
    public async Task UsePostgreSql_ConnectionString_IdentifiesThroughTheHost()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddIdentityReconciliation().UsePostgreSql(fixture.Database.ConnectionString);
        using var host = builder.Build();
        await host.StartAsync();

        var reconciler = host.Services.GetRequiredService<IIdentityReconciler>();
        var first = await reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        var second = await reconciler.IdentifyAsync(new IdentifyRequest("mcfly@hillvalley.edu", "123456"));

        host.Services.GetRequiredService<IContactStore>().Should().BeOfType<PostgreSqlContactStore>();
        second.PrimaryContactId.Should().Be(first.PrimaryContactId);
        second.Emails.Should().Equal("lorraine@hillvalley.edu", "mcfly@hillvalley.edu");
        (await fixture.Database.ReadAllAsync()).Where(r => r.PhoneNumber == "123456").Should().HaveCount(2);
        await host.StopAsync();
    }

    [Fact]
    public async Task UsePostgreSql_HostDataSource_IsUsedAndNotDisposedByTheStore()
    {
        await using var dataSource = NpgsqlDataSource.Create(fixture.Database.ConnectionString);
        var services = new ServiceCollection();
        services.AddIdentityReconciliation().UsePostgreSql(dataSource);
        await using (var provider = services.BuildServiceProvider())
        {
            await provider.GetRequiredService<IIdentityReconciler>().IdentifyAsync(new IdentifyRequest("doc@hillvalley.edu", null));
        }

        await using var connection = await dataSource.OpenConnectionAsync(); // still usable after the container is gone
        (await new NpgsqlCommand("SELECT count(*) FROM \"Contact\" WHERE \"email\" = 'doc@hillvalley.edu'", connection).ExecuteScalarAsync()).Should().Be(1L);
    }
}
