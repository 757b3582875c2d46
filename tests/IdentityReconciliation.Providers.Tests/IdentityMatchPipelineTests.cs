using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using IdentityReconciliation.Providers.Internal;
using IdentityReconciliation.Providers.Telesign;
using IdentityReconciliation.Providers.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Polly;
using Polly.Timeout;

namespace IdentityReconciliation.Providers.Tests;

public sealed class IdentityMatchPipelineTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(500, false)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(422, false)]
    [InlineData(200, false)]
    public void ShouldRetry_Status_OnlyWhereRequestSurelyDidNotTakeEffectOrServerAsks(int status, bool expected)
    {
        using var response = new HttpResponseMessage((HttpStatusCode)status);

        IdentityMatchPipelineFactory.ShouldRetry(Outcome.FromResult(response), TimeSpan.FromSeconds(30), TimeProvider.System)
            .Should().Be(expected);
    }

    [Fact]
    public void ShouldRetry_Exceptions_ConnectionFailureAndAttemptTimeoutOnly()
    {
        Retry(new HttpRequestException(HttpRequestError.ConnectionError, "refused")).Should().BeTrue();
        Retry(new TimeoutRejectedException()).Should().BeTrue();
        Retry(new InvalidOperationException()).Should().BeFalse();
        Retry(new OperationCanceledException()).Should().BeFalse();

        static bool Retry(Exception exception) => IdentityMatchPipelineFactory.ShouldRetry(
            Outcome.FromException<HttpResponseMessage>(exception), TimeSpan.FromSeconds(30), TimeProvider.System);
    }

    [Fact]
    public void GetRetryAfter_DateForm_IsMeasuredFromInjectedClock()
    {
        var clock = new ManualTimeProvider(Now);
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(Now.AddSeconds(7));

        IdentityMatchPipelineFactory.GetRetryAfter(response, clock).Should().Be(TimeSpan.FromSeconds(7));

        clock.Advance(TimeSpan.FromSeconds(10));
        IdentityMatchPipelineFactory.GetRetryAfter(response, clock).Should().Be(TimeSpan.Zero, "a date in the past means now");
    }

    [Fact]
    public void ShouldRetry_RetryAfterBeyondCap_IsNotRetried()
    {
        var clock = new ManualTimeProvider(Now);
        using var withinCap = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        withinCap.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(30));
        using var beyondCap = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        beyondCap.Headers.RetryAfter = new RetryConditionHeaderValue(Now.AddMinutes(5));

        IdentityMatchPipelineFactory.ShouldRetry(Outcome.FromResult(withinCap), TimeSpan.FromSeconds(30), clock).Should().BeTrue();
        IdentityMatchPipelineFactory.ShouldRetry(Outcome.FromResult(beyondCap), TimeSpan.FromSeconds(30), clock).Should().BeFalse();
    }

    [Fact]
    public async Task Copy_RequestWithContent_CopiesMethodUriHeadersAndBytes()
    {
        using var original = new HttpRequestMessage(HttpMethod.Post, "https://example.test/v1/x");
        original.Headers.TryAddWithoutValidation("X-Custom", "1");
        original.Content = new ByteArrayContent("{}"u8.ToArray());
        original.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var copy = IdentityMatchResilienceHandler.Copy(original, "{}"u8.ToArray());

        copy.Should().NotBeSameAs(original);
        copy.Method.Should().Be(HttpMethod.Post);
        copy.RequestUri.Should().Be(original.RequestUri);
        copy.Headers.GetValues("X-Custom").Should().Equal("1");
        copy.Content!.Headers.ContentType!.ToString().Should().Be("application/json");
        Encoding.UTF8.GetString(await copy.Content.ReadAsByteArrayAsync()).Should().Be("{}");
    }

    [Fact]
    public async Task Telemetry_CallsFailuresAndRetries_AreCounted()
    {
        await using var server = await FakeProviderServer.StartAsync();
        server.Authenticate = TelesignServer.Hmac();
        server.Default = TelesignServer.Success;
        server.Enqueue(context => Respond.Status(context, 503), context => Respond.Json(context, 400, "{}"));
        await using var services = TestHosts.Telesign(server);
        var counts = new Dictionary<string, long>();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name == IdentityMatchTelemetry.Name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name + "|" + string.Join(",", tags.ToArray().Select(tag => $"{tag.Key}={tag.Value}"));
            lock (counts)
            {
                counts[key] = counts.GetValueOrDefault(key) + value;
            }
        });
        listener.Start();
        var client = services.GetRequiredService<TelesignContactMatchClient>();
        var query = new IdentityMatchQuery("+15555551212") { FirstName = "John" };

        await FluentActions.Awaiting(() => client.ContactMatchAsync(query)).Should().ThrowAsync<IdentityMatchInvalidQueryException>();
        await client.ContactMatchAsync(query);

        counts.Should().BeEquivalentTo(new Dictionary<string, long>
        {
            ["identity_match.provider.retries|provider=Telesign"] = 1,
            ["identity_match.provider.calls|provider=Telesign,outcome=error"] = 1,
            ["identity_match.provider.failures|provider=Telesign,error.type=IdentityMatchInvalidQueryException"] = 1,
            ["identity_match.provider.calls|provider=Telesign,outcome=compared"] = 1,
        });
        server.RequestCount.Should().Be(3);
    }

    [Fact]
    public void ProviderJson_Errors_ReadsCommonShapesAndNeverThrows()
    {
        ProviderJson.Errors("""{"errors":[{"code":-30000,"description":"Invalid Customer ID."}]}"""u8)
            .Should().Equal(new IdentityMatchProviderError("-30000", "Invalid Customer ID."));
        ProviderJson.Errors("""{"errors":{"dateOfBirth":["Bad date.","Too old."]}}"""u8)
            .Should().Equal(new IdentityMatchProviderError("dateOfBirth", "Bad date. Too old."));
        ProviderJson.Errors("""{"code":"E1","message":"Nope"}"""u8).Should().Equal(new IdentityMatchProviderError("E1", "Nope"));
        ProviderJson.Errors("<html>bad gateway</html>"u8).Should().BeEmpty();
        ProviderJson.Errors([]).Should().BeEmpty();
    }

    [Fact]
    public void IdentityMatchQuery_ToString_MasksPhoneAndOmitsPersonalData()
    {
        var query = new IdentityMatchQuery("+15555551212") { FirstName = "John", DateOfBirth = new DateOnly(1980, 1, 1) };

        var text = query.ToString();

        text.Should().Be("IdentityMatchQuery { PhoneNumber = ********1212, Fields = FirstName, DateOfBirth }");
        FluentActions.Invoking(() => new IdentityMatchQuery(" ")).Should().Throw<ArgumentException>();
    }
}
