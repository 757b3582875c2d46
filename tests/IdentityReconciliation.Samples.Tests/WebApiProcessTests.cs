using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using IdentityReconciliation.Tests.Support;

namespace IdentityReconciliation.Samples.Tests;

/// <summary>
/// The built web API run as a real process on real Kestrel: <c>--urls</c> and <c>ConnectionStrings__Contacts</c> work,
/// and a chunked body over the limit is cut off by the server.
/// </summary>
public sealed class WebApiProcessTests : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(30) };
    private Process _process = null!;
    private Uri _baseAddress = null!;

    public async Task InitializeAsync()
    {
        _baseAddress = new Uri($"http://127.0.0.1:{FreePort()}/");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _database.Folder,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "IdentityReconciliation.Samples.WebApi.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(_baseAddress.ToString().TrimEnd('/'));
        start.Environment["ConnectionStrings__Contacts"] = _database.ConnectionString;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (true)
        {
            try
            {
                using var health = await _client.GetAsync(new Uri(_baseAddress, "healthz"), deadline.Token);
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (!_process.HasExited)
            {
                // Not listening yet.
            }

            await Task.Delay(100, deadline.Token);
        }
    }

    public async Task DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _client.Dispose();
        _database.Dispose();
    }

    [Fact]
    public async Task Identify_OverRealKestrel_UsesTheConfiguredDatabase()
    {
        using var content = new StringContent("""{"email":"lorraine@hillvalley.edu","phoneNumber":123456}""", Encoding.UTF8, "application/json");

        using var response = await _client.PostAsync(new Uri(_baseAddress, "identify"), content);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be(
            """{"contact":{"primaryContactId":1,"emails":["lorraine@hillvalley.edu"],"phoneNumbers":["123456"],"secondaryContactIds":[]}}""");
        SqliteRows.ReadAll(_database).Should().ContainSingle().Which.PhoneNumber.Should().Be("123456");
    }

    [Fact]
    public async Task Identify_ChunkedBodyOverTheLimit_Returns413AndWritesNothing()
    {
        var body = Encoding.UTF8.GetBytes("{\"email\":\"" + new string('a', 40_000) + "@hillvalley.edu\"}");
        using var content = new StreamContent(new MemoryStream(body));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_baseAddress, "identify")) { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await _client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        SqliteRows.ReadAll(_database).Should().BeEmpty();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
