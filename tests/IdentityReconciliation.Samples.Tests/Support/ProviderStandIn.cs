using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Samples.Tests.Support;

/// <summary>
/// A real Kestrel server on 127.0.0.1 standing in for Telesign (<c>POST /v1/phoneid/{phone}</c>) and CM.com
/// (<c>POST /mobile-identity/v1/identity-match</c>): it records each request and answers with <see cref="StatusCode"/>
/// and the provider's canned body.
/// </summary>
public sealed class ProviderStandIn : IAsyncDisposable
{
    public const string TelesignResponse = """
        {"reference_id":"0123456789ABCDEF0123456789ABCDEF","status":{"code":300,"description":"Transaction successfully completed"},
         "contact_match":{"first_name_score":100,"last_name_score":85,"date_of_birth_score":40,
                          "status":{"code":2800,"description":"Request successfully completed"}}}
        """;

    public const string CmResponse = """
        {"state":"success","firstNameScore":100,"lastNameScore":70,"nameScore":85,"postalCodeScore":90}
        """;

    /// <summary>The error body, with a reference id as Telesign sends one.</summary>
    public const string ErrorResponse = """
        {"reference_id":"FEDCBA9876543210FEDCBA9876543210","status":{"code":-30000,"description":"Invalid Customer ID."}}
        """;

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, string? Authorization, string Body)> _requests = new();

    private ProviderStandIn(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public int StatusCode { get; set; } = StatusCodes.Status200OK;

    public IReadOnlyList<(string Path, string? Authorization, string Body)> Requests => [.. _requests];

    public static async Task<ProviderStandIn> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var standIn = new ProviderStandIn(app);
        app.MapPost("/v1/phoneid/{phone}", context => standIn.AnswerAsync(context, TelesignResponse));
        app.MapPost("/mobile-identity/v1/identity-match", context => standIn.AnswerAsync(context, CmResponse));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        standIn.BaseAddress = new Uri(address);
        return standIn;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task AnswerAsync(HttpContext context, string body)
    {
        using var reader = new StreamReader(context.Request.Body);
        _requests.Enqueue((context.Request.Path.Value!, context.Request.Headers.Authorization.ToString(), await reader.ReadToEndAsync()));
        context.Response.StatusCode = StatusCode;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(StatusCode == StatusCodes.Status200OK ? body : ErrorResponse);
    }
}
