using System.Net;
using System.Text;
using IdentityReconciliation.Samples.Tests.Support;
using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Samples.Tests;

/// <summary>
/// The built web API run as a real process on real Kestrel, started from another folder as
/// <c>dotnet path/to/IdentityReconciliation.Samples.WebApi.dll</c>: <c>--urls</c>, settings from environment variables,
/// its own appsettings.json, and a chunked body over the limit cut off by the server.
/// </summary>
public sealed class WebApiProcessTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Identify_OverRealKestrel_UsesTheConfiguredDatabase()
    {
        await using var app = await StartAsync();
        using var content = new StringContent("""{"email":"lorraine@hillvalley.edu","phoneNumber":123456}""", Encoding.UTF8, "application/json");

        using var response = await app.Client.PostAsync(new Uri(app.BaseAddress, "identify"), content);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be(
            """{"contact":{"primaryContactId":1,"emails":["lorraine@hillvalley.edu"],"phoneNumbers":["123456"],"secondaryContactIds":[]}}""");
        SqliteRows.ReadAll(_database).Should().ContainSingle().Which.PhoneNumber.Should().Be("123456");
    }

    [Fact]
    public async Task Identify_ChunkedBodyOverTheLimit_Returns413AndWritesNothing()
    {
        await using var app = await StartAsync();
        var body = Encoding.UTF8.GetBytes("{\"email\":\"" + new string('a', 40_000) + "@hillvalley.edu\"}");
        using var content = new StreamContent(new MemoryStream(body));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(app.BaseAddress, "identify")) { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await app.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        SqliteRows.ReadAll(_database).Should().BeEmpty();
    }

    [Fact]
    public async Task StoreOption_FromAnEnvironmentVariable_ChangesTheBusyTimeout()
    {
        // The default BusyTimeout is 30 s; the environment shortens it to 300 ms.
        await using var app = await StartAsync(new Dictionary<string, string?> { ["IdentityReconciliation__Sqlite__BusyTimeout"] = "00:00:00.300" });
        using var holder = _database.OpenRaw();
        Execute(holder, "BEGIN IMMEDIATE;");
        using var content = new StringContent("""{"email":"marty@hillvalley.edu"}""", Encoding.UTF8, "application/json");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));

        using var response = await app.Client.PostAsync(new Uri(app.BaseAddress, "identify"), content, timeout.Token);

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter.Should().NotBeNull();
        Execute(holder, "ROLLBACK;");
        SqliteRows.ReadAll(_database).Should().BeEmpty();
    }

    [Fact]
    public async Task StoreOption_OutOfRangeInTheEnvironment_FailsStartUpNamingTheSetting()
    {
        var (exitCode, output) = await WebApiProcess.RunToExitAsync(_database.Folder, new Dictionary<string, string?>
        {
            ["ConnectionStrings__Contacts"] = _database.ConnectionString,
            ["IdentityReconciliation__Sqlite__MaxBatchSize"] = "0",
        });

        exitCode.Should().NotBe(0);
        output.Should().Contain("MaxBatchSize");
    }

    [Fact]
    public async Task StartedFromAnotherFolder_LoadsItsOwnAppSettings()
    {
        // Only the database is configured from outside: logging comes from the app's appsettings.json, which keeps
        // Microsoft.AspNetCore at Warning, so requests are not logged one by one.
        await using var app = await WebApiProcess.StartAsync(_database.Folder, new Dictionary<string, string?> { ["ConnectionStrings__Contacts"] = _database.ConnectionString });
        using var content = new StringContent("""{"email":"lorraine@hillvalley.edu"}""", Encoding.UTF8, "application/json");

        using var response = await app.Client.PostAsync(new Uri(app.BaseAddress, "identify"), content);
        await Task.Delay(500); // let the log lines of the request reach the console

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        app.Output.Should().Contain("Content root path: " + WebApiProcess.AppFolder.TrimEnd(Path.DirectorySeparatorChar));
        app.Output.Should().NotContain("Microsoft.AspNetCore.Hosting.Diagnostics", "appsettings.json sets Microsoft.AspNetCore to Warning");
    }

    private Task<WebApiProcess> StartAsync(IReadOnlyDictionary<string, string?>? environment = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["ConnectionStrings__Contacts"] = _database.ConnectionString,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            all[name] = value;
        }

        return WebApiProcess.StartAsync(_database.Folder, all);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
