using Dapper;
using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>
/// The database is busy: every pooled connection is taken, or another instance holds a lock longer than the store's
/// lock or command timeout. The request fails with <see cref="ContactStoreBusyException"/> at once (no retries that
/// would multiply the wait), nothing is written, and the health check reports Degraded until a write goes through.
/// </summary>
[RequiresPostgreSql]
public sealed class PostgreSqlBusyTests(PostgreSqlDatabaseFixture fixture) : IClassFixture<PostgreSqlDatabaseFixture>, IAsyncLifetime
{
    private readonly string _schema = "busy_" + Guid.NewGuid().ToString("N")[..12];
    private readonly ManualTimeProvider _clock = new() { AutoAdvance = TimeSpan.FromMilliseconds(1) };
    private readonly CollectingLogger<PostgreSqlContactStore> _logger = new();
    private readonly List<IAsyncDisposable> _disposables = [];

    private PostgreSqlDatabase Database => fixture.Database;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var disposable in Enumerable.Reverse(_disposables))
        {
            await disposable.DisposeAsync();
        }
    }

    [Fact]
    public async Task IdentifyAsync_ConnectionPoolExhausted_ThrowsBusyWritesNothingAndHealthIsDegraded()
    {
        // A pool of one connection, waited for at most one second.
        var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(Database.ConnectionString) { MaxPoolSize = 1, Timeout = 1 }.ConnectionString);
        _disposables.Add(dataSource);
        var services = new ServiceCollection().AddLogging().AddSingleton<TimeProvider>(_clock);
        services.AddIdentityReconciliation().UsePostgreSql(options =>
        {
            options.DataSource = dataSource;
            options.Schema = _schema;
            options.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
        });
        services.AddHealthChecks().AddIdentityReconciliation();
        var provider = services.BuildServiceProvider();
        _disposables.Add(provider);
        var reconciler = provider.GetRequiredService<IIdentityReconciler>();
        var health = provider.GetRequiredService<HealthCheckService>();
        await reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        var before = await Database.ReadAllAsync(_schema);

        NpgsqlConnection held = await dataSource.OpenConnectionAsync();
        var busy = (await reconciler.Invoking(r => r.IdentifyAsync(new IdentifyRequest("marty@hillvalley.edu", "123456")))
            .Should().ThrowAsync<ContactStoreBusyException>()).Which;
        var report = await health.CheckHealthAsync(); // its lookup needs a connection too: still busy
        await held.DisposeAsync();

        busy.RetryAfter.Should().BePositive();
        busy.InnerException.Should().BeAssignableTo<NpgsqlException>().Which.InnerException.Should().BeOfType<TimeoutException>();
        busy.Message.Should().NotContain("marty").And.NotContain("Password");
        report.Status.Should().Be(HealthStatus.Degraded);
        (await Database.ReadAllAsync(_schema)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        (await health.CheckHealthAsync()).Status.Should().Be(HealthStatus.Degraded, "the last write timed out and none has gone through since");

        await reconciler.IdentifyAsync(new IdentifyRequest("marty@hillvalley.edu", "123456"));
        (await health.CheckHealthAsync()).Status.Should().Be(HealthStatus.Healthy);
    }

    [Fact]
    public async Task IdentifyAsync_LockHeldLongerThanLockTimeout_ThrowsBusyAtOnceAndWritesNothing()
    {
        var (_, reconciler) = CreateStore("-c lock_timeout=300ms");
        await reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        var before = await Database.ReadAllAsync(_schema);
        await using var other = await Database.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await other.ExecuteAsync("SELECT pg_advisory_xact_lock(@Key)", new { Key = PostgreSqlLockKeys.Email(_schema, "marty@hillvalley.edu") }, transaction);

        var busy = (await reconciler.Invoking(r => r.IdentifyAsync(new IdentifyRequest("marty@hillvalley.edu", "123456")))
            .Should().ThrowAsync<ContactStoreBusyException>()).Which;

        busy.InnerException.Should().BeOfType<PostgresException>().Which.SqlState.Should().Be(PostgresErrorCodes.LockNotAvailable);
        _logger.Entries.Should().NotContain(e => e.EventId.Id == 101, "a busy database is not retried: the wait already lasted the configured time");
        await transaction.RollbackAsync();
        (await Database.ReadAllAsync(_schema)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task IdentifyAsync_LockHeldLongerThanCommandTimeout_ThrowsBusyAndWritesNothing()
    {
        var (_, reconciler) = CreateStore(commandTimeout: 1);
        await reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        var before = await Database.ReadAllAsync(_schema);
        await using var other = await Database.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await other.ExecuteAsync("SELECT pg_advisory_xact_lock(@Key)", new { Key = PostgreSqlLockKeys.PhoneNumber(_schema, "555") }, transaction);

        var busy = (await reconciler.Invoking(r => r.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "555")))
            .Should().ThrowAsync<ContactStoreBusyException>()).Which;

        busy.InnerException.Should().BeAssignableTo<NpgsqlException>().Which.InnerException.Should().BeOfType<TimeoutException>();
        await transaction.RollbackAsync();
        (await Database.ReadAllAsync(_schema)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        (await reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "555"))).PhoneNumbers.Should().Equal("123456", "555");
    }

    private (PostgreSqlContactStore Store, IdentityReconciler Reconciler) CreateStore(string? connectionOptions = null, int? commandTimeout = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(Database.ConnectionString);
        if (connectionOptions is not null)
        {
            builder.Options = connectionOptions;
        }

        if (commandTimeout is { } seconds)
        {
            builder.CommandTimeout = seconds;
        }

        var store = new PostgreSqlContactStore(
            Options.Create(new PostgreSqlContactStoreOptions
            {
                ConnectionString = builder.ConnectionString,
                Schema = _schema,
                RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            }),
            _logger);
        _disposables.Add(store);
        return (store, new IdentityReconciler(store, DefaultContactNormalizer.Instance, _clock, null));
    }
}
