using IdentityReconciliation.Sqlite;
using IdentityReconciliation.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Tests;

public sealed class DependencyInjectionTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public void AddIdentityReconciliation_NoStoreChosen_DefaultsToSqliteFileInCurrentDirectory()
    {
        using var provider = new ServiceCollection().AddIdentityReconciliation().Services.BuildServiceProvider();

        provider.GetRequiredService<IOptions<SqliteContactStoreOptions>>().Value.ConnectionString.Should().Be("Data Source=identity-reconciliation.db");
        provider.GetRequiredService<IContactStore>().Should().BeOfType<SqliteContactStore>();
        provider.GetRequiredService<IIdentityReconciler>().Should().BeOfType<IdentityReconciler>();
    }

    [Fact]
    public async Task UseSqlite_ConnectionString_StoresInThatFile()
    {
        await using var provider = new ServiceCollection().AddIdentityReconciliation().UseSqlite(_database.ConnectionString).Services.BuildServiceProvider();

        var view = await provider.GetRequiredService<IIdentityReconciler>().IdentifyAsync(new IdentifyRequest("a@x.io", "1"));

        SqliteRows.ReadAll(_database).Should().ContainSingle().Which.Id.Should().Be(view.PrimaryContactId);
    }

    [Fact]
    public async Task UseContactStore_CustomStore_ReplacesTheDefault()
    {
        var services = new ServiceCollection();
        services.AddIdentityReconciliation().UseContactStore<InMemoryContactStore>();
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<IIdentityReconciler>().IdentifyAsync(new IdentifyRequest("a@x.io", null));

        provider.GetRequiredService<IContactStore>().Should().BeOfType<InMemoryContactStore>()
            .Which.Snapshot().Should().ContainSingle();
    }

    [Fact]
    public async Task CustomNormalizerAndClock_RegisteredByTheHost_AreUsed()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<IContactNormalizer, DigitsOnlyNormalizer>();
        services.AddSingleton<TimeProvider>(clock);
        services.AddIdentityReconciliation().UseContactStore<InMemoryContactStore>();
        await using var provider = services.BuildServiceProvider();

        var view = await provider.GetRequiredService<IIdentityReconciler>().IdentifyAsync(new IdentifyRequest(null, "+1-555"));

        view.PhoneNumbers.Should().Equal("1555");
        provider.GetRequiredService<IContactStore>().Should().BeOfType<InMemoryContactStore>()
            .Which.Snapshot().Single().CreatedAt.Should().Be(clock.GetUtcNow());
    }

    [Theory]
    [InlineData("", "ConnectionString")]
    [InlineData("Data Source=", "Data Source")]
    [InlineData("Data Source=x.db;Mode=ReadOnly", "read-only")]
    [InlineData("Data Source=x.db;Bogus=1", "not a valid SQLite connection string")]
    public async Task HostStart_InvalidSqliteOptions_FailsNamingTheSetting(string connectionString, string expected)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddIdentityReconciliation().UseSqlite(o => o.ConnectionString = connectionString);
        using var host = builder.Build();

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(expected);
    }

    [Fact]
    public void UseSqlite_ConfigurationSection_BindsEveryOption()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["IdentityReconciliation:Sqlite:ConnectionString"] = _database.ConnectionString,
            ["IdentityReconciliation:Sqlite:BusyTimeout"] = "00:00:02.5",
            ["IdentityReconciliation:Sqlite:Synchronous"] = "Normal",
            ["IdentityReconciliation:Sqlite:MaxBatchSize"] = "7",
            ["IdentityReconciliation:Sqlite:MemoryMapSize"] = "0",
        }).Build();
        var services = new ServiceCollection();
        services.AddIdentityReconciliation().UseSqlite(configuration.GetSection("IdentityReconciliation:Sqlite"));
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IOptions<SqliteContactStoreOptions>>().Value.Should().BeEquivalentTo(new SqliteContactStoreOptions
        {
            ConnectionString = _database.ConnectionString,
            BusyTimeout = TimeSpan.FromMilliseconds(2500),
            Synchronous = SqliteSynchronousMode.Normal,
            MaxBatchSize = 7,
            MemoryMapSize = 0,
        });
        provider.GetRequiredService<IContactStore>().Should().BeOfType<SqliteContactStore>();
    }

    [Fact]
    public async Task HostStart_ConfiguredMaxBatchSizeOutOfRange_FailsNamingTheSetting()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Contacts:MaxBatchSize"] = "0" });
        builder.Services.AddIdentityReconciliation().UseSqlite(builder.Configuration.GetSection("Contacts"));
        using var host = builder.Build();

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("MaxBatchSize");
    }

    [Fact]
    public async Task HostStart_NegativeBusyTimeout_Fails()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddIdentityReconciliation().UseSqlite(o => o.BusyTimeout = TimeSpan.FromSeconds(-1));
        using var host = builder.Build();

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("BusyTimeout");
    }

    [Fact]
    public void UseSqlite_BlankConnectionString_ThrowsArgumentException()
    {
        var builder = new ServiceCollection().AddIdentityReconciliation();

        var act = () => builder.UseSqlite("  ");

        act.Should().Throw<ArgumentException>().WithParameterName("connectionString");
    }

    [Fact]
    public void SqliteContactStore_InvalidConnectionString_ThrowsOptionsValidationException()
    {
        var act = () => new SqliteContactStore("");

        act.Should().Throw<OptionsValidationException>().WithMessage("*ConnectionString*");
    }

    [Fact]
    public void AddIdentityReconciliation_NoOptions_RegistersTheDefaultGuards()
    {
        using var provider = new ServiceCollection().AddIdentityReconciliation().UseContactStore<InMemoryContactStore>().Services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<IdentityReconciliationOptions>>().Value;

        options.UseDefaultBlocklist.Should().BeTrue();
        options.MaxEmailsPerPerson.Should().Be(IdentityReconciliationOptions.DefaultMaxEmailsPerPerson);
        options.MaxPhoneNumbersPerPerson.Should().Be(IdentityReconciliationOptions.DefaultMaxPhoneNumbersPerPerson);
        options.IdentifierPriority.Should().Be(IdentifierPriority.EmailFirst);
    }

    [Fact]
    public async Task AddIdentityReconciliation_WithOptions_ConfiguresTheGuards()
    {
        var services = new ServiceCollection();
        services.AddIdentityReconciliation(o =>
        {
            o.BlockedPhoneNumbers.Add("+1 (555) 010-0000");
            o.MaxEmailsPerPerson = 1;
        }).UseContactStore<InMemoryContactStore>();
        await using var provider = services.BuildServiceProvider();
        var reconciler = provider.GetRequiredService<IIdentityReconciler>();

        var blocked = await reconciler.IdentifyDetailedAsync(new IdentifyRequest("a@x.io", "+15550100000"));
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var limited = await reconciler.IdentifyDetailedAsync(new IdentifyRequest("b@x.io", "1"));

        blocked.SetAside.Should().ContainSingle().Which.Reason.Should().Be(SetAsideReason.Blocked);
        limited.SetAside.Should().ContainSingle().Which.Reason.Should().Be(SetAsideReason.EmailLimit);
    }

    [Fact]
    public async Task IdentityReconciliationOptions_BoundFromConfiguration_AreUsed()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Guards:BlockedEmails:0"] = "shared@shop.example",
            ["Guards:UseDefaultBlocklist"] = "false",
            ["Guards:MaxEmailsPerPerson"] = "",
            ["Guards:MaxPhoneNumbersPerPerson"] = "2",
            ["Guards:IdentifierPriority"] = "PhoneNumberFirst",
        }).Build();
        var services = new ServiceCollection();
        services.AddIdentityReconciliation().UseContactStore<InMemoryContactStore>();
        services.Configure<IdentityReconciliationOptions>(configuration.GetSection("Guards"));
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<IdentityReconciliationOptions>>().Value;

        options.BlockedEmails.Should().Equal("shared@shop.example");
        options.UseDefaultBlocklist.Should().BeFalse();
        options.MaxEmailsPerPerson.Should().BeNull("an empty value turns the limit off");
        options.MaxPhoneNumbersPerPerson.Should().Be(2);
        options.IdentifierPriority.Should().Be(IdentifierPriority.PhoneNumberFirst);
        var reconciler = provider.GetRequiredService<IIdentityReconciler>();
        (await reconciler.IdentifyDetailedAsync(new IdentifyRequest("test@test.com", "1"))).SetAside.Should().BeEmpty("the default blocklist is off");
    }

    [Theory]
    [InlineData("MaxEmailsPerPerson", "0")]
    [InlineData("MaxPhoneNumbersPerPerson", "1000001")]
    [InlineData("BlockedEmails:0", " ")]
    public async Task HostStart_InvalidGuardOptions_FailsNamingTheSetting(string key, string value)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Guards:" + key] = value });
        builder.Services.AddIdentityReconciliation().UseContactStore<InMemoryContactStore>();
        builder.Services.Configure<IdentityReconciliationOptions>(builder.Configuration.GetSection("Guards"));
        using var host = builder.Build();

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(key.Split(':')[0]);
    }

    [Fact]
    public async Task HostStart_InvalidPriorityFromCode_Fails()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddIdentityReconciliation(o => o.IdentifierPriority = (IdentifierPriority)7).UseContactStore<InMemoryContactStore>();
        using var host = builder.Build();

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("IdentifierPriority");
    }

    private sealed class DigitsOnlyNormalizer : IContactNormalizer
    {
        public string? NormalizeEmail(string? email) => DefaultContactNormalizer.Instance.NormalizeEmail(email);

        public string? NormalizePhoneNumber(string? phoneNumber) => phoneNumber is null ? null : new string(phoneNumber.Where(char.IsAsciiDigit).ToArray());
    }
}
