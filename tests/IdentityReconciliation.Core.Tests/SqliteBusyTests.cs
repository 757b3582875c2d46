using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace IdentityReconciliation.Tests;

/// <summary>
/// Another connection (as another process would) holds the SQLite file's write lock for longer than the store's
/// BusyTimeout: the request fails with <see cref="ContactStoreBusyException"/>, nothing is written, and the health check
/// reports Degraded until a write goes through again.
/// </summary>
public sealed class SqliteBusyTests : IAsyncLifetime
{
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromMilliseconds(200);

    private readonly TempDatabase _database = new();
    private readonly ManualTimeProvider _clock = new() { AutoAdvance = TimeSpan.FromMilliseconds(1) };
    private ServiceProvider _services = null!;

    private IIdentityReconciler Reconciler => _services.GetRequiredService<IIdentityReconciler>();

    public Task InitializeAsync()
    {
        var services = new ServiceCollection().AddLogging().AddSingleton<TimeProvider>(_clock);
        services.AddIdentityReconciliation().UseSqlite(options =>
        {
            options.ConnectionString = _database.ConnectionString;
            options.BusyTimeout = BusyTimeout;
        });
        services.AddHealthChecks().AddIdentityReconciliation();
        _services = services.BuildServiceProvider();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _database.Dispose();
    }

    [Fact]
    public async Task IdentifyAsync_AnotherConnectionHoldsTheWriteLock_ThrowsBusyAndWritesNothing()
    {
        await Reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        var before = SqliteRows.ReadAll(_database);
        using var holder = HoldWriteLock();
        var stopwatch = Stopwatch.StartNew();

        var act = () => Reconciler.IdentifyAsync(new IdentifyRequest("marty@hillvalley.edu", "123456"));

        var busy = (await act.Should().ThrowAsync<ContactStoreBusyException>()).Which;
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "the store gives up after its busy timeout");
        busy.RetryAfter.Should().BePositive();
        busy.InnerException.Should().BeOfType<SqliteException>().Which.SqliteErrorCode.Should().Be(5, "SQLITE_BUSY");
        busy.Message.Should().NotContain("marty").And.NotContain(_database.FilePath);
        Rollback(holder);
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task IdentifyManyAsync_AnotherConnectionHoldsTheWriteLock_ThrowsBusyAndWritesNothing()
    {
        await Reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        var before = SqliteRows.ReadAll(_database);
        using var holder = HoldWriteLock();
        var results = new List<IdentifyManyResult>();

        var act = async () =>
        {
            await foreach (var result in Reconciler.IdentifyManyAsync(new[] { new IdentifyRequest("marty@hillvalley.edu", "123456"), new IdentifyRequest("doc@hillvalley.edu", "555") }))
            {
                results.Add(result);
            }
        };

        var busy = (await act.Should().ThrowAsync<ContactStoreBusyException>()).Which;
        busy.InnerException.Should().BeOfType<SqliteException>().Which.SqliteErrorCode.Should().Be(5, "SQLITE_BUSY");
        busy.Message.Should().NotContain("marty").And.NotContain(_database.FilePath);
        results.Should().BeEmpty();
        Rollback(holder);
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task IdentifyAsync_WriteLockHeldAtFirstUse_ThrowsBusy()
    {
        using (var create = _database.OpenRaw())
        {
            using var command = create.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = WAL;";
            command.ExecuteNonQuery();
        }

        using var holder = HoldWriteLock();

        var act = () => Reconciler.IdentifyAsync(new IdentifyRequest("marty@hillvalley.edu", "123456"));

        await act.Should().ThrowAsync<ContactStoreBusyException>();
        Rollback(holder);
        (await Reconciler.IdentifyAsync(new IdentifyRequest("marty@hillvalley.edu", "123456"))).PrimaryContactId.Should().Be(1);
    }

    [Fact]
    public async Task HealthCheck_WhileWritesTimeOut_IsDegradedThenHealthyAfterAWriteGoesThrough()
    {
        await Reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        (await CheckHealthAsync()).Status.Should().Be(HealthStatus.Healthy);
        using var holder = HoldWriteLock();

        await Reconciler.Invoking(r => r.IdentifyAsync(new IdentifyRequest("marty@hillvalley.edu", "123456"))).Should().ThrowAsync<ContactStoreBusyException>();
        var degraded = await CheckHealthAsync();

        degraded.Status.Should().Be(HealthStatus.Degraded, "reads still answer, writes time out");
        degraded.Entries[IdentityReconciliationHealthChecksBuilderExtensions.DefaultName].Description.Should().Contain("timed out");
        (await Reconciler.FindAsync(new IdentifyRequest("lorraine@hillvalley.edu", null))).Should().NotBeNull("reads never wait for the writer");

        Rollback(holder);
        await Reconciler.IdentifyAsync(new IdentifyRequest("marty@hillvalley.edu", "123456"));
        (await CheckHealthAsync()).Status.Should().Be(HealthStatus.Healthy, "a write went through");
    }

    [Fact]
    public async Task HealthCheck_NoWriteAfterABusyFailure_IsHealthyAgainAfterAMinute()
    {
        await Reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        using (var holder = HoldWriteLock())
        {
            await Reconciler.Invoking(r => r.IdentifyAsync(new IdentifyRequest("marty@hillvalley.edu", "1"))).Should().ThrowAsync<ContactStoreBusyException>();
            Rollback(holder);
        }

        (await CheckHealthAsync()).Status.Should().Be(HealthStatus.Degraded);
        _clock.Advance(TimeSpan.FromSeconds(61));
        (await CheckHealthAsync()).Status.Should().Be(HealthStatus.Healthy);
    }

    private Task<HealthReport> CheckHealthAsync() => _services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    /// <summary>Takes the file's write lock on a connection of its own, as another process would, and keeps it until rolled back.</summary>
    private SqliteConnection HoldWriteLock()
    {
        var connection = _database.OpenRaw();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE;";
        command.ExecuteNonQuery();
        return connection;
    }

    private static void Rollback(SqliteConnection holder)
    {
        using var command = holder.CreateCommand();
        command.CommandText = "ROLLBACK;";
        command.ExecuteNonQuery();
    }
}
