using System.Net;
using System.Net.Sockets;
using System.Text;
using IdentityReconciliation.Samples.Tests.Support;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Samples.Tests;

/// <summary>
/// Client mistakes (a body that ends early, arrives too slowly, is malformed, or a client that goes away) are the
/// client's problem: they get their 4xx, and the log says so at Debug or Information, without a stack trace; never an
/// Error ("fail") entry. The app runs on real Kestrel on 127.0.0.1, spoken to over raw sockets.
/// </summary>
public sealed class ClientMistakeLoggingTests : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private readonly SampleApiFactory _factory;
    private int _port;

    public ClientMistakeLoggingTests()
    {
        _factory = new SampleApiFactory(_database, new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug",
        });
        _factory.UseKestrel(options =>
        {
            options.Listen(IPAddress.Loopback, 0);
            options.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 100, gracePeriod: TimeSpan.FromSeconds(1.5));
        });
    }

    public Task InitializeAsync()
    {
        _factory.StartServer();
        var address = _factory.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        _port = new Uri(address).Port;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        _database.Dispose();
    }

    [Fact]
    public async Task BodyEndsEarly_Returns400AndLogsNoErrorNorStackTrace()
    {
        var mark = _factory.Logs.Entries.Count;
        using var socket = await ConnectAsync();
        await SendAsync(socket, Headers(contentLength: 100) + "{\"email\":\"lorr");
        socket.Shutdown(SocketShutdown.Send);

        var response = await ReceiveAsync(socket, resetIsClose: true);

        // Kestrel may close (or, when the read failed as a reset, abort) the connection without an answer once the
        // client has closed its side.
        response.Should().Match(r => r.Length == 0 || r.StartsWith("HTTP/1.1 400", StringComparison.Ordinal));
        await AssertLoggedAsClientMistakeAsync(mark, expectOwnEntry: false); // ASP.NET Core logs the aborted request at Debug
    }

    [Fact]
    public async Task MalformedChunkedBody_Returns400AndLogsNoErrorNorStackTrace()
    {
        var mark = _factory.Logs.Entries.Count;
        using var socket = await ConnectAsync();
        await SendAsync(socket, "POST /identify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");

        var response = await ReceiveAsync(socket);

        response.Should().StartWith("HTTP/1.1 400");
        response.Should().Contain("application/problem+json");
        await AssertLoggedAsClientMistakeAsync(mark);
    }

    [Fact]
    public async Task BodyArrivesTooSlowly_Returns408AndLogsNoErrorNorStackTrace()
    {
        var mark = _factory.Logs.Entries.Count;
        using var socket = await ConnectAsync();
        await SendAsync(socket, Headers(contentLength: 1000) + "{\"email\":");

        var response = await ReceiveAsync(socket); // nothing more is sent: Kestrel's minimum data rate cuts it off

        response.Should().StartWith("HTTP/1.1 408");
        response.Should().Contain("application/problem+json");
        await AssertLoggedAsClientMistakeAsync(mark);
    }

    [Fact]
    public async Task ClientGoesAwayMidBody_LogsNoErrorNorStackTrace()
    {
        var mark = _factory.Logs.Entries.Count;
        var socket = await ConnectAsync();
        await SendAsync(socket, Headers(contentLength: 1000) + "{\"email\":");
        await Task.Delay(200);
        socket.LingerState = new LingerOption(true, 0); // close with a reset
        socket.Dispose();

        await Task.Delay(1500);
        await AssertLoggedAsClientMistakeAsync(mark, expectOwnEntry: false);
    }

    [Fact]
    public async Task MalformedJson_Returns400AndLogsNoErrorNorStackTrace()
    {
        var mark = _factory.Logs.Entries.Count;
        using var socket = await ConnectAsync();
        const string Body = "{\"email\":\"x@y.z\",";
        await SendAsync(socket, Headers(Encoding.UTF8.GetByteCount(Body)) + Body);

        var response = await ReceiveAsync(socket);

        response.Should().StartWith("HTTP/1.1 400");
        await AssertLoggedAsClientMistakeAsync(mark, expectOwnEntry: false);
    }

    private static string Headers(int contentLength) =>
        $"POST /identify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {contentLength}\r\nConnection: close\r\n\r\n";

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _port);
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.UTF8.GetBytes(text));

    private static async Task<string> ReceiveAsync(Socket socket, bool resetIsClose = false)
    {
        try
        {
            return await ReceiveAllAsync(socket);
        }
        catch (SocketException ex) when (resetIsClose && ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return string.Empty;
        }
    }

    private static async Task<string> ReceiveAllAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[16 * 1024];
        var received = new StringBuilder();
        while (true)
        {
            var count = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (count == 0)
            {
                return received.ToString();
            }

            received.Append(Encoding.UTF8.GetString(buffer, 0, count));
        }
    }

    /// <summary>Since <paramref name="mark"/>: nothing at Warning or above, nothing at Information or above with an exception (a stack trace); optionally the app's own Debug entry.</summary>
    private async Task AssertLoggedAsClientMistakeAsync(int mark, bool expectOwnEntry = true)
    {
        await Task.Delay(200); // the request's last log entries are written after the response
        var entries = _factory.Logs.Entries.Skip(mark).ToList();
        entries.Should().NotContain(e => e.Level >= LogLevel.Warning, "a client mistake is not a server problem:\n" + string.Join("\n", entries));
        entries.Should().NotContain(e => e.Level >= LogLevel.Information && e.Exception != null, "no stack trace for a client mistake:\n" + string.Join("\n", entries));
        if (expectOwnEntry)
        {
            entries.Should().Contain(e => e.Category == "IdentityReconciliation.Samples.WebApi" && e.Level <= LogLevel.Information && e.Exception == null);
        }
    }
}
