using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace IdentityReconciliation.Testing;

/// <summary>One request as the stand-in saw it.</summary>
public sealed record RecordedRequest(
    string Method,
    string Path,
    IReadOnlyDictionary<string, string> Headers,
    byte[] Body,
    DateTimeOffset ReceivedAt,
    string? AuthFailure)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    /// <summary>The Authorization header, empty when there is none.</summary>
    public string Authorization => Header("Authorization") ?? string.Empty;

    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A real Kestrel server on 127.0.0.1 (random port) standing in for Telesign (<c>POST /v1/phoneid/{phone}</c>) and CM.com
/// (<c>POST /mobile-identity/v1/identity-match</c>): it authenticates each request with <see cref="Authenticate"/>,
/// records it, then answers with the next scripted responder or <see cref="Default"/>. The provider tests script faults
/// (<see cref="Enqueue"/>, <see cref="Respond"/>); <see cref="StartWithCannedAnswersAsync"/> starts one that answers every
/// call with the provider's canned body, or <see cref="ErrorResponse"/> when <see cref="StatusCode"/> is not 200, as the
/// samples' tests use it.
/// </summary>
public sealed class ProviderStandIn : IAsyncDisposable
{
    /// <summary>The canned Telesign answer of <see cref="StartWithCannedAnswersAsync"/>.</summary>
    public const string TelesignResponse = """
        {"reference_id":"0123456789ABCDEF0123456789ABCDEF","status":{"code":300,"description":"Transaction successfully completed"},
         "contact_match":{"first_name_score":100,"last_name_score":85,"date_of_birth_score":40,
                          "status":{"code":2800,"description":"Request successfully completed"}}}
        """;

    /// <summary>The canned CM.com answer of <see cref="StartWithCannedAnswersAsync"/>.</summary>
    public const string CmResponse = """
        {"state":"success","firstNameScore":100,"lastNameScore":70,"nameScore":85,"postalCodeScore":90}
        """;

    /// <summary>The canned error body, with a reference id as Telesign sends one.</summary>
    public const string ErrorResponse = """
        {"reference_id":"FEDCBA9876543210FEDCBA9876543210","status":{"code":-30000,"description":"Invalid Customer ID."}}
        """;

    private const string TelesignPathPrefix = "/v1/phoneid/";
    private const string CmPath = "/mobile-identity/v1/identity-match";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Func<HttpContext, Task>> _script = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    private ProviderStandIn(WebApplication app)
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

    /// <summary>The status of the canned answers (<see cref="StartWithCannedAnswersAsync"/>): 200 answers the provider's body, anything else <see cref="ErrorResponse"/>.</summary>
    public int StatusCode { get; set; } = StatusCodes.Status200OK;

    public static async Task<ProviderStandIn> StartAsync()
    {
        var app = LoopbackServer.Create();
        var server = new ProviderStandIn(app);
        app.Run(server.HandleAsync);
        server.BaseAddress = await LoopbackServer.StartAsync(app);
        return server;
    }

    /// <summary>Starts a stand-in whose <see cref="Default"/> answers as the provider would (see <see cref="StatusCode"/>), and 404 elsewhere.</summary>
    public static async Task<ProviderStandIn> StartWithCannedAnswersAsync()
    {
        var standIn = await StartAsync();
        standIn.Default = standIn.AnswerAsProviderAsync;
        return standIn;
    }

    /// <summary>Adds answers for the next requests, in order.</summary>
    public ProviderStandIn Enqueue(params Func<HttpContext, Task>[] responders)
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

    private Task AnswerAsProviderAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        var isTelesign = path.StartsWith(TelesignPathPrefix, StringComparison.Ordinal) && path.Length > TelesignPathPrefix.Length && path.IndexOf('/', TelesignPathPrefix.Length) < 0;
        var body = !HttpMethods.IsPost(context.Request.Method) ? null : isTelesign ? TelesignResponse : path == CmPath ? CmResponse : null;
        if (body is null)
        {
            return Respond.Status(context, StatusCodes.Status404NotFound);
        }

        return Respond.Json(context, StatusCode, StatusCode == StatusCodes.Status200OK ? body : ErrorResponse);
    }
}

/// <summary>Canned answers and faults for <see cref="ProviderStandIn"/>.</summary>
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
