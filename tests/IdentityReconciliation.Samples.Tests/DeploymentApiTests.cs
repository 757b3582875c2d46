using System.Net;
using System.Text;
using System.Text.Json;
using IdentityReconciliation.Samples.Tests.Support;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Samples.Tests;

/// <summary>
/// What the sample needs to face the internet: an optional API key on <c>POST /identify</c> (401 without it; a start-up
/// warning when none is configured) and ASP.NET Core's rate limiter (429 beyond the configured rate; off unless configured).
/// </summary>
public sealed class DeploymentApiTests : IDisposable
{
    private const string Key = "k1-3f9a0c2e7b8d4a61a5e0c9d8";
    private const string OtherKey = "k2-a7c41e0b95d24f3c8b6e1f07";

    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Identify_ApiKeysConfigured_WithoutTheRightKey_Returns401AndWritesNothing()
    {
        await using var factory = new SampleApiFactory(_database, new Dictionary<string, string?>
        {
            ["Authentication:ApiKeys:0"] = Key,
            ["Authentication:ApiKeys:1"] = OtherKey,
        });
        using var client = factory.CreateClient();

        foreach (var key in new string?[] { null, "", "wrong", Key[..^1], Key + "x", Key.ToUpperInvariant(), "k1-3f9a0c2e7b8d4a61a5e0c9d9" })
        {
            using var response = await PostAsync(client, key);

            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, key ?? "(no header)");
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            (await response.Content.ReadAsStringAsync()).Should().NotContain("lorraine");
            if (key is { Length: > 0 })
            {
                (await response.Content.ReadAsStringAsync()).Should().NotContain(key, "the presented key is never echoed");
            }
        }

        SqliteRows.ReadAll(_database).Should().BeEmpty();
        factory.Logs.Entries.Should().NotContain(e => e.Message.Contains(Key) || e.Message.Contains("wrong"), "keys are never logged");
        factory.Logs.Entries.Should().NotContain(e => e.Message.Contains("No API key is configured"));
    }

    [Fact]
    public async Task Identify_ApiKeysConfigured_EitherKeyIsAccepted_HealthzNeedsNone()
    {
        await using var factory = new SampleApiFactory(_database, new Dictionary<string, string?>
        {
            ["Authentication:ApiKeys:0"] = Key,
            ["Authentication:ApiKeys:1"] = OtherKey,
        });
        using var client = factory.CreateClient();

        using var first = await PostAsync(client, Key);
        using var second = await PostAsync(client, OtherKey);
        using var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        second.StatusCode.Should().Be(HttpStatusCode.OK);
        health.StatusCode.Should().Be(HttpStatusCode.OK);
        SqliteRows.ReadAll(_database).Should().ContainSingle();
    }

    [Fact]
    public async Task Startup_NoApiKeyConfigured_WarnsThatTheEndpointIsOpen()
    {
        await using var factory = new SampleApiFactory(_database);
        using var client = factory.CreateClient();

        using var response = await PostAsync(client, apiKey: null);

        response.StatusCode.Should().Be(HttpStatusCode.OK, "without a configured key the check is off");
        factory.Logs.Entries.Should().ContainSingle(e => e.Level == LogLevel.Warning && e.Message.Contains("No API key is configured"));
    }

    [Fact]
    public void Startup_ApiKeyShorterThan16Characters_Fails()
    {
        using var factory = new SampleApiFactory(_database, new Dictionary<string, string?> { ["Authentication:ApiKeys:0"] = "short-key" });

        var act = () => factory.CreateClient();

        act.Should().Throw<Exception>().Where(e => e.ToString().Contains("Authentication:ApiKeys")).And.ToString().Should().NotContain("short-key");
    }

    [Fact]
    public async Task Identify_RateLimitConfigured_BeyondTheLimit_Returns429WithRetryAfter()
    {
        await using var factory = new SampleApiFactory(_database, new Dictionary<string, string?>
        {
            ["RateLimiting:PermitLimit"] = "2",
            ["RateLimiting:Window"] = "00:01:00",
        });
        using var client = factory.CreateClient();

        using var first = await PostAsync(client, apiKey: null);
        using var second = await PostAsync(client, apiKey: null);
        using var third = await PostAsync(client, apiKey: null);
        using var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        second.StatusCode.Should().Be(HttpStatusCode.OK);
        third.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        third.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        JsonDocument.Parse(await third.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetInt32().Should().Be(429);
        third.Headers.RetryAfter!.Delta.Should().BePositive();
        health.StatusCode.Should().Be(HttpStatusCode.OK, "health checks are not rate limited");
    }

    [Fact]
    public async Task Identify_NoRateLimitConfigured_IsNotLimited()
    {
        await using var factory = new SampleApiFactory(_database);
        using var client = factory.CreateClient();

        for (var i = 0; i < 50; i++)
        {
            using var response = await PostAsync(client, apiKey: null);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string? apiKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/identify", UriKind.Relative))
        {
            Content = new StringContent("""{"email":"lorraine@hillvalley.edu"}""", Encoding.UTF8, "application/json"),
        };
        if (apiKey is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Api-Key", apiKey);
        }

        return await client.SendAsync(request);
    }
}
