using System.Net;
using System.Text;
using System.Text.Json;
using IdentityReconciliation.Samples.Tests.Support;
using IdentityReconciliation.Sqlite;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityReconciliation.Samples.Tests;

/// <summary>
/// Another connection holds the SQLite file's write lock longer than the store's BusyTimeout: <c>POST /identify</c>
/// answers <c>503 application/problem+json</c> with <c>Retry-After</c> and writes nothing, and <c>GET /healthz</c> says
/// Degraded until a write goes through again.
/// </summary>
public sealed class BusyStoreApiTests : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private readonly SampleApiFactory _factory;
    private readonly HttpClient _client;

    public BusyStoreApiTests()
    {
        _factory = new SampleApiFactory(
            _database,
            configureServices: services => services.Configure<SqliteContactStoreOptions>(o => o.BusyTimeout = TimeSpan.FromMilliseconds(200)));
        _client = _factory.CreateClient();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
        _database.Dispose();
    }

    [Fact]
    public async Task Identify_WriteLockHeldElsewhere_Returns503WithRetryAfterWritesNothingAndHealthIsDegraded()
    {
        using (var seed = await PostAsync("""{"email":"lorraine@hillvalley.edu","phoneNumber":"123456"}"""))
        {
            seed.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var before = SqliteRows.ReadAll(_database);
        using var holder = _database.OpenRaw();
        Execute(holder, "BEGIN IMMEDIATE;");

        using var response = await PostAsync("""{"email":"marty@hillvalley.edu","phoneNumber":"123456"}""");
        using var health = await _client.GetAsync(new Uri("/healthz", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(1));
        var text = await response.Content.ReadAsStringAsync();
        JsonDocument.Parse(text).RootElement.GetProperty("status").GetInt32().Should().Be(503);
        text.Should().NotContain("marty").And.NotContain(_database.FilePath);
        health.StatusCode.Should().Be(HttpStatusCode.OK, "Degraded still serves");
        (await health.Content.ReadAsStringAsync()).Should().Be("Degraded");
        _factory.Logs.Entries.Should().NotContain(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error, "a busy store is not a server bug");

        Execute(holder, "ROLLBACK;");
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        using (var retry = await PostAsync("""{"email":"marty@hillvalley.edu","phoneNumber":"123456"}"""))
        {
            retry.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await _client.GetStringAsync(new Uri("/healthz", UriKind.Relative))).Should().Be("Healthy");
    }

    [Fact]
    public async Task Erase_WriteLockHeldElsewhere_Returns503WithRetryAfterAndErasesNothing()
    {
        using var client = _factory.WithWebHostBuilder(b => b.UseSetting("Erasure:Enabled", "true")).CreateClient();
        using (var seed = await PostAsync("""{"email":"lorraine@hillvalley.edu","phoneNumber":"123456"}"""))
        {
            seed.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var before = SqliteRows.ReadAll(_database);
        using var holder = _database.OpenRaw();
        Execute(holder, "BEGIN IMMEDIATE;");

        using var content = new StringContent("""{"email":"lorraine@hillvalley.edu"}""", Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(new Uri("/erase", UriKind.Relative), content);

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(1));
        (await response.Content.ReadAsStringAsync()).Should().NotContain("lorraine").And.NotContain(_database.FilePath);
        Execute(holder, "ROLLBACK;");
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    private async Task<HttpResponseMessage> PostAsync(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        return await _client.PostAsync(new Uri("/identify", UriKind.Relative), content);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
