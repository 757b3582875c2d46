using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Providers.Tests.Support;

/// <summary>One request as the fake provider saw it.</summary>
public sealed record RecordedRequest(
    string Method,
    string Path,
    IReadOnlyDictionary<string, string> Headers,
    byte[] Body,
    DateTimeOffset ReceivedAt,
    string? AuthFailure)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A real Kestrel server on 127.0.0.1 (random port) that plays a provider: it authenticates each request with
/// <see cref="Authenticate"/>, records it, then answers with the next scripted responder or <see cref="Default"/>.
/// </summary>
public sealed class FakeProviderServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Func<HttpContext, Task>> _script = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    private FakeProviderServer(WebApplication app)
    {
        _app = app;
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Returns why a request fails authentication, or null when it passes.</summary>
    public Func<RecordedRequest, string?>? Authenticate { get; set; }

    /// <summary>The answer when no scripted responder is left.</summary>
    public Func<HttpContext, Task> Default { get; set; } = context => Respond.Status(context, 500);

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    public int RequestCount => _requests.Count;

    public static async Task<FakeProviderServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeProviderServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address + "/");
        return server;
    }

    /// <summary>Adds answers for the next requests, in order.</summary>
    public FakeProviderServer Enqueue(params Func<HttpContext, Task>[] responders)
    {
        foreach (var responder in responders)
        {
            _script.Enqueue(responder);
        }

        return this;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(
            header => header.Key, header => header.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var partial = new RecordedRequest(
            context.Request.Method, context.Request.Path.Value ?? string.Empty, headers, buffer.ToArray(), DateTimeOffset.UtcNow, null);
        var failure = Authenticate?.Invoke(partial);
        _requests.Enqueue(partial with { AuthFailure = failure });

        if (failure is not null)
        {
            await Respond.Json(context, 401, $$"""{"errors":[{"code":-30000,"description":"Invalid credentials: {{failure}}"}]}""");
            return;
        }

        var responder = _script.TryDequeue(out var next) ? next : Default;
        await responder(context);
    }
}

/// <summary>Canned answers for <see cref="FakeProviderServer"/>.</summary>
public static class Respond
{
    public static Task Json(HttpContext context, int status, string json, params (string Name, string Value)[] headers)
    {
        context.Response.StatusCode = status;
        foreach (var (name, value) in headers)
        {
            context.Response.Headers[name] = value;
        }

        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(json);
    }

    public static Task Status(HttpContext context, int status, params (string Name, string Value)[] headers) =>
        Json(context, status, "{}", headers);

    /// <summary>Drops the connection without answering.</summary>
    public static Task Drop(HttpContext context)
    {
        context.Abort();
        return Task.CompletedTask;
    }

    public static Func<HttpContext, Task> After(TimeSpan delay, Func<HttpContext, Task> then) => async context =>
    {
        try
        {
            await Task.Delay(delay, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await then(context);
    };
}
