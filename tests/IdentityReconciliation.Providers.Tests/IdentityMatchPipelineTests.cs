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

    private static bool Retry(Outcome<HttpResponseMessage> outcome, bool possiblyBilled) => ResiliencePipelines.ShouldRetry(
        outcome, new IdentityMatchResilienceOptions { RetryWhenPossiblyBilled = possiblyBilled }, TimeProvider.System);

    [Theory]
    [InlineData(429, true, true)]
    [InlineData(408, false, true)]
    [InlineData(502, false, true)]
    [InlineData(503, false, true)]
    [InlineData(504, false, true)]
    [InlineData(500, false, false)]
    [InlineData(400, false, false)]
    [InlineData(401, false, false)]
    [InlineData(403, false, false)]
    [InlineData(404, false, false)]
    [InlineData(422, false, false)]
    [InlineData(200, false, false)]
    public void ShouldRetry_Status_ByDefaultOnlyWhereTheProviderAsks(int status, bool byDefault, bool whenPossiblyBilled)
    {
        using var response = new HttpResponseMessage((HttpStatusCode)status);

        Retry(Outcome.FromResult(response), possiblyBilled: false).Should().Be(byDefault);
        Retry(Outcome.FromResult(response), possiblyBilled: true).Should().Be(whenPossiblyBilled);
    }

    [Fact]
    public void ShouldRetry_Exceptions_ByDefaultOnlyWhenTheRequestNeverLeft()
    {
        foreach (var neverSent in new[] { HttpRequestError.NameResolutionError, HttpRequestError.ConnectionError, HttpRequestError.SecureConnectionError })
        {
            Retry(Outcome.FromException<HttpResponseMessage>(new HttpRequestException(neverSent, "no connection")), possiblyBilled: false).Should().BeTrue();
        }

        var dropped = Outcome.FromException<HttpResponseMessage>(new HttpRequestException(HttpRequestError.ResponseEnded, "dropped"));
        var timedOut = Outcome.FromException<HttpResponseMessage>(new TimeoutRejectedException());
        Retry(dropped, possiblyBilled: false).Should().BeFalse();
        Retry(timedOut, possiblyBilled: false).Should().BeFalse();
        Retry(dropped, possiblyBilled: true).Should().BeTrue();
        Retry(timedOut, possiblyBilled: true).Should().BeTrue();
        Retry(Outcome.FromException<HttpResponseMessage>(new InvalidOperationException()), possiblyBilled: true).Should().BeFalse();
        Retry(Outcome.FromException<HttpResponseMessage>(new OperationCanceledException()), possiblyBilled: true).Should().BeFalse();
    }

    [Fact]
    public void GetRetryAfter_DateForm_IsMeasuredFromInjectedClock()
    {
        var clock = new ManualTimeProvider(Now);
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(Now.AddSeconds(7));

        ResiliencePipelines.GetRetryAfter(response, clock).Should().Be(TimeSpan.FromSeconds(7));

        clock.Advance(TimeSpan.FromSeconds(10));
        ResiliencePipelines.GetRetryAfter(response, clock).Should().Be(TimeSpan.Zero, "a date in the past means now");
    }

    [Fact]
    public void ShouldRetry_RetryAfterBeyondCap_IsNotRetried()
    {
        var clock = new ManualTimeProvider(Now);
        using var withinCap = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        withinCap.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(30));
        using var beyondCap = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        beyondCap.Headers.RetryAfter = new RetryConditionHeaderValue(Now.AddMinutes(5));
        var options = new IdentityMatchResilienceOptions { MaxRetryAfter = TimeSpan.FromSeconds(30) };

        ResiliencePipelines.ShouldRetry(Outcome.FromResult(withinCap), options, clock).Should().BeTrue();
        ResiliencePipelines.ShouldRetry(Outcome.FromResult(beyondCap), options, clock).Should().BeFalse();
    }

    [Fact]
    public async Task Telemetry_CallsFailuresAndRetries_AreCounted()
    {
        await using var server = await ProviderStandIn.StartAsync();
        server.Authenticate = TelesignServer.Hmac();
        server.Default = TelesignServer.Success;
        server.Enqueue(context => Respond.Status(context, 429), context => Respond.Json(context, 400, "{}"));
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
    public void ErrorBody_Read_ReadsCommonShapesAndNeverThrows()
    {
        Errors("""{"errors":[{"code":-30000,"description":"Invalid Customer ID."}]}""").Should().Equal(new IdentityMatchProviderError("-30000", "Invalid Customer ID."));
        Errors("""{"errors":{"dateOfBirth":["Bad date.","Too old."]}}""").Should().Equal(new IdentityMatchProviderError("dateOfBirth", "Bad date. Too old."));
        Errors("""{"code":"E1","message":"Nope"}""").Should().Equal(new IdentityMatchProviderError("E1", "Nope"));
        Errors("<html>bad gateway</html>").Should().BeEmpty();
        Errors(string.Empty).Should().BeEmpty();
        ErrorBody.Read(Encoding.UTF8.GetBytes("""{"reference_id":12345,"errors":[]}""")).ReferenceId.Should().Be("12345");

        static IReadOnlyList<IdentityMatchProviderError> Errors(string body) => ErrorBody.Read(Encoding.UTF8.GetBytes(body)).Errors;
    }

    [Fact]
    public void Redactor_Redact_RemovesSecretsAndShortNamesOnlyAsWords()
    {
        var text = "Key QUJD-secret for Li Wu, born 1980-02-29; Lima office";

        Redactor.Redact(text, ["QUJD-secret", "Li", "wu", "1980-02-29", null, " "]).Should()
            .Be("Key [redacted] for [redacted] [redacted], born [redacted]; Lima office");
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
