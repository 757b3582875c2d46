using System.Diagnostics;
using System.Net;
using IdentityReconciliation.Providers.Telesign;
using IdentityReconciliation.Providers.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace IdentityReconciliation.Providers.Tests;

public sealed class TelesignContactMatchClientTests : IAsyncLifetime
{
    private static readonly IdentityMatchQuery Query = new(TelesignServer.Phone)
    {
        FirstName = "John",
        LastName = "Smith",
        Address = "1 Main St",
        Address2 = "Apt 2",
        City = "Springfield",
        PostalCode = "12345",
        State = "IL",
        Country = "US",
        DateOfBirth = new DateOnly(1980, 2, 29),
    };

    private ProviderStandIn _server = null!;

    public async Task InitializeAsync()
    {
        _server = await ProviderStandIn.StartAsync();
        _server.Authenticate = TelesignServer.Hmac();
        _server.Default = TelesignServer.Success;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task MatchAsync_SignedRequest_ServerVerifiesAndScoresMap()
    {
        await using var services = TestHosts.Telesign(_server);
        var provider = services.GetRequiredService<IIdentityMatchProvider>();

        var result = await provider.MatchAsync(Query);

        result.Provider.Should().Be("Telesign");
        result.Outcome.Should().Be(IdentityMatchOutcome.Compared);
        result.Threshold.Should().Be(80);
        result.ProviderStatus.Should().Be("2800");
        result.ReferenceId.Should().Be("0123456789ABCDEF0123456789ABCDEF");
        result.GetScore(IdentityMatchField.FirstName).Should().Be(100);
        result.GetScore(IdentityMatchField.LastName).Should().Be(85);
        result.GetScore(IdentityMatchField.Address).Should().BeNull();
        result.GetScore(IdentityMatchField.DateOfBirth).Should().BeNull();
        result.Passed(IdentityMatchField.LastName).Should().BeTrue();
        result.Passed(IdentityMatchField.Address).Should().BeNull();

        var request = _server.Requests.Should().ContainSingle().Subject;
        request.AuthFailure.Should().BeNull();
        request.Method.Should().Be("POST");
        request.Path.Should().Be("/v1/phoneid/15555551212");
        request.Header("Content-Type").Should().Be("application/json");
        request.BodyText.Should().Be(
            """{"addons":{"contact_match":{"first_name":"John","last_name":"Smith","address":"1 Main St, Apt 2","city":"Springfield","postal_code":"12345","state":"IL","country":"US","date_of_birth":"1980-02-29"}}}""");
    }

    [Fact]
    public async Task ContactMatchAsync_ThresholdAbove_LastNameFails()
    {
        await using var services = TestHosts.Telesign(_server, options => options.MatchThreshold = 90);
        var client = services.GetRequiredService<TelesignContactMatchClient>();

        var result = await client.MatchAsync(Query);
        var raw = await client.ContactMatchAsync(Query);

        result.Passed(IdentityMatchField.LastName).Should().BeFalse();
        result.Passed(IdentityMatchField.FirstName).Should().BeTrue();
        raw.PhoneType.Should().Be("MOBILE");
        raw.StatusDescription.Should().Be("Request successfully completed");
    }

    [Fact]
    public async Task ContactMatchAsync_BasicAuthentication_ServerAcceptsCredentials()
    {
        _server.Authenticate = TelesignServer.Basic();
        await using var services = TestHosts.Telesign(_server, options => options.AuthenticationMethod = TelesignAuthenticationMethod.Basic);

        var response = await services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        response.StatusCode.Should().Be(2800);
        _server.Requests.Should().ContainSingle().Which.AuthFailure.Should().BeNull();
    }

    [Theory]
    [InlineData(2803, IdentityMatchOutcome.OutOfCoverage)]
    [InlineData(2804, IdentityMatchOutcome.NotApplicable)]
    [InlineData(2805, IdentityMatchOutcome.NoData)]
    public async Task MatchAsync_NoDataStatuses_AreOutcomesNotExceptions(int status, IdentityMatchOutcome expected)
    {
        _server.Default = context => Respond.Json(context, 200, TelesignServer.StatusJson(status));
        await using var services = TestHosts.Telesign(_server);

        var result = await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        result.Outcome.Should().Be(expected);
        result.Fields.Should().BeEmpty();
        result.ProviderStatus.Should().Be(status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _server.RequestCount.Should().Be(1);
    }

    [Theory]
    [InlineData(2800, "Compared")]
    [InlineData(2801, nameof(IdentityMatchInvalidQueryException))]
    [InlineData(2802, nameof(IdentityMatchProviderUnavailableException))]
    [InlineData(2803, "OutOfCoverage")]
    [InlineData(2804, "NotApplicable")]
    [InlineData(2805, "NoData")]
    [InlineData(2806, nameof(IdentityMatchConfigurationException))]
    [InlineData(2807, nameof(IdentityMatchInvalidQueryException))]
    [InlineData(2808, nameof(IdentityMatchInvalidQueryException))]
    [InlineData(2809, nameof(IdentityMatchInvalidResponseException))] // not in Telesign's list: unknown
    [InlineData(2810, nameof(IdentityMatchProviderUnavailableException))]
    [InlineData(2811, nameof(IdentityMatchProviderUnavailableException))]
    [InlineData(2812, nameof(IdentityMatchConfigurationException))]
    [InlineData(2899, nameof(IdentityMatchInvalidResponseException))]
    public async Task MatchAsync_EveryContactMatchStatus_IsClassifiedAndKeepsTheReferenceId(int status, string expected)
    {
        _server.Default = context => Respond.Json(context, 200, TelesignServer.StatusJson(status));
        await using var services = TestHosts.Telesign(_server);
        var code = status.ToString(System.Globalization.CultureInfo.InvariantCulture);

        try
        {
            var result = await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);
            result.Outcome.ToString().Should().Be(expected);
            result.ProviderStatus.Should().Be(code);
            result.ReferenceId.Should().Be("R" + code);
        }
        catch (IdentityMatchException error)
        {
            error.GetType().Name.Should().Be(expected);
            error.ProviderStatus.Should().Be(code);
            error.ReferenceId.Should().Be("R" + code, "a failed call keeps Telesign's reference for a support ticket");
            error.Attempts.Should().Be(1);
        }

        _server.RequestCount.Should().Be(1, "a status in the body means Telesign processed the request: never retried");
    }

    [Fact]
    public async Task MatchAsync_ScoreNone_IsNotAvailable()
    {
        _server.Default = context => Respond.Json(context, 200, """
            {"reference_id":"R1","contact_match":{"first_name_score":"None","last_name_score":"90","address_score":"none","date_of_birth_score":"",
             "status":{"code":"2800","description":"Request successfully completed"}}}
            """);
        await using var services = TestHosts.Telesign(_server);

        var result = await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        result.Outcome.Should().Be(IdentityMatchOutcome.Compared);
        result.GetScore(IdentityMatchField.FirstName).Should().BeNull();
        result.GetScore(IdentityMatchField.LastName).Should().Be(90);
        result.GetScore(IdentityMatchField.Address).Should().BeNull();
        result.GetScore(IdentityMatchField.DateOfBirth).Should().BeNull();
    }

    [Fact]
    public async Task ContactMatchAsync_ErrorBodyWithReferenceId_ExceptionKeepsIt()
    {
        _server.Default = context => Respond.Json(
            context, 400, """{"reference_id":"0123456789ABCDEF","errors":[{"code":-10001,"description":"Invalid Request"}]}""");
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchInvalidQueryException>()).Which;
        error.ReferenceId.Should().Be("0123456789ABCDEF");
        error.Attempts.Should().Be(1);
        error.Provider.Should().Be("Telesign");
    }

    [Theory]
    [InlineData(TelesignAuthenticationMethod.Hmac)]
    [InlineData(TelesignAuthenticationMethod.Basic)]
    public async Task ContactMatchAsync_401EchoingTheRequest_RepeatsNoSecretOrPersonalData(TelesignAuthenticationMethod method)
    {
        // A provider whose error text repeats the request: the Authorization header, the customer ID and the query.
        _server.Authenticate = null;
        _server.Default = context =>
        {
            var echo = $"Invalid credentials. Authorization: {context.Request.Headers.Authorization}; customer {TelesignServer.CustomerId}; " +
                "key " + TelesignServer.ApiKey + "; request: John Smith, 1 Main St, Apt 2, Springfield 12345, born 1980-02-29, phone +1 555-555-1212 (15555551212)";
            return Respond.Json(context, 401, System.Text.Json.JsonSerializer.Serialize(new { errors = new[] { new { code = -30000, description = echo } } }));
        };
        var logs = new CollectingLoggerProvider();
        await using var services = TestHosts.Telesign(_server, options => options.AuthenticationMethod = method, logs);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchConfigurationException>()).Which;
        var authorization = _server.Requests.Single().Header("Authorization")!;
        var credential = authorization[(authorization.IndexOf(' ', StringComparison.Ordinal) + 1)..];
        var forbidden = new[]
        {
            authorization, credential, TelesignServer.CustomerId, TelesignServer.ApiKey, "John", "Smith", "1 Main St", "Apt 2", "Springfield",
            "12345", "1980-02-29", "555-555-1212", "15555551212",
        };
        var texts = new[] { error.Message, error.ToString(), string.Join(" ", error.Errors), logs.AllText };
        foreach (var text in texts)
        {
            foreach (var secret in forbidden)
            {
                text.Should().NotContain(secret);
            }
        }

        error.Message.Should().Contain("HTTP 401").And.Contain("[redacted]").And.Contain("Invalid credentials");
        error.Errors.Should().ContainSingle().Which.Code.Should().Be("-30000");
    }

    [Fact]
    public async Task ContactMatchAsync_SevenDigitE164Number_IsAccepted()
    {
        await using var services = TestHosts.Telesign(_server);

        await services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(new IdentityMatchQuery("+683 4002") { FirstName = "John" });

        _server.Requests.Single().Path.Should().Be("/v1/phoneid/6834002");
    }

    [Fact]
    public async Task ContactMatchAsync_SendsUserAgentNamingTheLibraryAndVersion()
    {
        await using var services = TestHosts.Telesign(_server);

        await services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var version = typeof(TelesignContactMatchClient).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion.Split('+')[0];
        _server.Requests.Single().Header("User-Agent").Should().Be("IdentityReconciliation.Providers/" + version);
    }

    [Fact]
    public async Task MatchAsync_Status2806_ThrowsConfigurationExceptionSayingWhatToFix()
    {
        _server.Default = context => Respond.Json(context, 200, TelesignServer.StatusJson(2806));
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchConfigurationException>()).Which;
        error.ProviderStatus.Should().Be("2806");
        error.Message.Should().Contain("not enabled").And.Contain("Contact Match");
        _server.RequestCount.Should().Be(1);
    }

    [Theory]
    [InlineData(2802)]
    [InlineData(2811)]
    public async Task MatchAsync_TemporarilyUnavailableStatus_ThrowsUnavailableWithoutRetry(int status)
    {
        _server.Default = context => Respond.Json(context, 200, TelesignServer.StatusJson(status));
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which;
        error.ProviderStatus.Should().Be(status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        error.StatusCode.Should().Be(HttpStatusCode.OK);
        _server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task ContactMatchAsync_429ThenSuccess_RetriesWithFreshDateAndNonce()
    {
        _server.Enqueue(context => Respond.Status(context, 429));
        await using var services = TestHosts.Telesign(_server);

        var response = await services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        response.Outcome.Should().Be(IdentityMatchOutcome.Compared);
        _server.RequestCount.Should().Be(2);
        _server.Requests.Should().OnlyContain(request => request.AuthFailure == null, "the server rejects a replayed nonce");
        _server.Requests.Select(request => request.Header("x-ts-nonce")).Should().OnlyHaveUniqueItems();
        _server.Requests.Select(request => request.BodyText).Distinct().Should().ContainSingle("every attempt sends the same body");
    }

    [Fact]
    public async Task ContactMatchAsync_429WithRetryAfterSeconds_WaitsThenSucceeds()
    {
        _server.Enqueue(context => Respond.Status(context, 429, ("Retry-After", "1")));
        await using var services = TestHosts.Telesign(_server);
        var stopwatch = Stopwatch.StartNew();

        var response = await services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        response.StatusCode.Should().Be(2800);
        stopwatch.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(950), "Retry-After: 1 is honoured");
        _server.RequestCount.Should().Be(2);
    }

    [Fact]
    public async Task ContactMatchAsync_429WithRetryAfterBeyondCap_FailsWithRetryAfterWithoutRetry()
    {
        _server.Default = context => Respond.Status(context, 429, ("Retry-After", "120"));
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which;
        error.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        error.RetryAfter.Should().Be(TimeSpan.FromSeconds(120));
        error.Attempts.Should().Be(1);
        _server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task ContactMatchAsync_PersistentServiceUnavailableWithRetryWhenPossiblyBilled_ThrowsAfterAllRetriesWithLastStatus()
    {
        _server.Default = context => Respond.Status(context, 503);
        await using var services = TestHosts.Telesign(_server, options => options.Resilience.RetryWhenPossiblyBilled = true);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which;
        error.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        error.Attempts.Should().Be(4);
        error.Provider.Should().Be("Telesign");
        _server.RequestCount.Should().Be(4, "one attempt and three retries");
    }

    [Fact]
    public async Task ContactMatchAsync_RetriesTurnedOff_SendsOnce()
    {
        _server.Default = context => Respond.Status(context, 503);
        await using var services = TestHosts.Telesign(_server, options => options.Resilience.MaxRetryAttempts = 0);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which.StatusCode
            .Should().Be(HttpStatusCode.ServiceUnavailable);
        _server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task ContactMatchAsync_500_IsNotRetried()
    {
        _server.Default = context => Respond.Status(context, 500);
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which.StatusCode
            .Should().Be(HttpStatusCode.InternalServerError);
        _server.RequestCount.Should().Be(1, "a 500 may have taken effect, and the call is billed");
    }

    [Fact]
    public async Task ContactMatchAsync_400WithErrors_ThrowsInvalidQueryWithoutRetry()
    {
        _server.Default = context => Respond.Json(
            context, 400, """{"errors":[{"code":-10001,"description":"Invalid Request: PhoneNumber Parameter: 1234"}]}""");
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchInvalidQueryException>()).Which;
        error.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        error.Errors.Should().ContainSingle().Which.Should().Be(
            new IdentityMatchProviderError("-10001", "Invalid Request: PhoneNumber Parameter: 1234"));
        _server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task ContactMatchAsync_WrongApiKey_ThrowsConfigurationExceptionWithoutRetry()
    {
        await using var services = TestHosts.Telesign(
            _server, options => options.ApiKey = Convert.ToBase64String("a-different-key-that-is-wrong!!!"u8));

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchConfigurationException>()).Which;
        error.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        error.Message.Should().Contain("ApiKey").And.Contain("clock");
        _server.Requests.Should().ContainSingle().Which.AuthFailure.Should().Be("signature mismatch");
    }

    [Fact]
    public async Task ContactMatchAsync_SlowThenFastWithRetryWhenPossiblyBilled_AttemptTimeoutRetries()
    {
        _server.Enqueue(TelesignServer.Success, Respond.After(TimeSpan.FromSeconds(60), TelesignServer.Success));
        // Timeouts leave room for a loaded CI machine to deliver each attempt to the server before it is cut short;
        // the slow answer is far beyond any stall, so finishing well before it proves the attempt was cut short.
        await using var services = TestHosts.Telesign(_server, options =>
        {
            options.Resilience.AttemptTimeout = TimeSpan.FromSeconds(2);
            options.Resilience.RetryWhenPossiblyBilled = true;
        });
        await WarmUpAsync(services);
        var stopwatch = Stopwatch.StartNew();

        var response = await services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        response.StatusCode.Should().Be(2800);
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30));
        _server.RequestCount.Should().Be(1 + 2);
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 4)]
    public async Task ContactMatchAsync_AttemptTimeout_IsRetriedOnlyWhenPossiblyBilledRetriesAreOn(bool retryWhenPossiblyBilled, int expectedRequests)
    {
        // The request reached the server, which may have done (and billed) the lookup: by default it is not sent again.
        _server.Enqueue(TelesignServer.Success);
        _server.Default = Respond.After(TimeSpan.FromSeconds(60), TelesignServer.Success);
        await using var services = TestHosts.Telesign(_server, options =>
        {
            options.Resilience.AttemptTimeout = TimeSpan.FromSeconds(2);
            options.Resilience.TotalTimeout = TimeSpan.FromSeconds(30);
            options.Resilience.RetryWhenPossiblyBilled = retryWhenPossiblyBilled;
        });
        await WarmUpAsync(services);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which;
        error.InnerException.Should().BeOfType<TimeoutRejectedException>();
        error.StatusCode.Should().BeNull();
        error.Attempts.Should().Be(expectedRequests);
        error.Message.Should().Contain("RetryWhenPossiblyBilled");
        _server.RequestCount.Should().Be(1 + expectedRequests, "the warm-up call and the attempts of the call under test");
    }

    [Fact]
    public async Task ContactMatchAsync_TotalTimeout_StopsRetrying()
    {
        _server.Enqueue(TelesignServer.Success);
        _server.Default = Respond.After(TimeSpan.FromSeconds(60), TelesignServer.Success);
        await using var services = TestHosts.Telesign(_server, options =>
        {
            // Without the total timeout, four attempts of 2 s would run for 8 s and reach the server 4 times.
            options.Resilience.AttemptTimeout = TimeSpan.FromSeconds(2);
            options.Resilience.TotalTimeout = TimeSpan.FromSeconds(3.5);
            options.Resilience.RetryWhenPossiblyBilled = true;
        });
        await WarmUpAsync(services);
        var stopwatch = Stopwatch.StartNew();

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which.InnerException
            .Should().BeOfType<TimeoutRejectedException>();
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(7.5));
        _server.RequestCount.Should().Be(1 + 2, "after the warm-up call, the second attempt is cut short by the total timeout");
    }

    [Fact]
    public async Task ContactMatchAsync_MalformedJson_ThrowsInvalidResponseWithoutRetry()
    {
        _server.Default = context => Respond.Json(context, 200, """{"contact_match": {"status": """);
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        (await act.Should().ThrowAsync<IdentityMatchInvalidResponseException>()).Which.StatusCode.Should().Be(HttpStatusCode.OK);
        _server.RequestCount.Should().Be(1);
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 4)]
    public async Task ContactMatchAsync_DroppedAfterFullBodyRead_IsRetriedOnlyWhenPossiblyBilledRetriesAreOn(bool retryWhenPossiblyBilled, int expectedRequests)
    {
        // The stand-in reads the whole request, then drops the connection: Telesign may have done (and billed) it.
        _server.Default = Respond.Drop;
        await using var services = TestHosts.Telesign(_server, options => options.Resilience.RetryWhenPossiblyBilled = retryWhenPossiblyBilled);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which;
        error.InnerException.Should().BeAssignableTo<HttpRequestException>();
        error.Message.Should().Contain("dropped the connection").And.Contain("billed");
        error.Attempts.Should().Be(expectedRequests);
        _server.RequestCount.Should().Be(expectedRequests);
        _server.Requests.Should().OnlyContain(request => request.Body.Length > 0 && request.AuthFailure == null, "each was a complete, valid request");
    }

    [Fact]
    public async Task ContactMatchAsync_DroppedThenSuccessWithRetryWhenPossiblyBilled_Retries()
    {
        _server.Enqueue(Respond.Drop);
        await using var services = TestHosts.Telesign(_server, options => options.Resilience.RetryWhenPossiblyBilled = true);

        var response = await services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        response.StatusCode.Should().Be(2800);
        _server.RequestCount.Should().Be(2);
    }

    [Fact]
    public async Task ContactMatchAsync_ConnectionRefused_IsRetriedByDefault()
    {
        // Nothing listens on the port: the request never left the process, so retrying cannot bill twice.
        var closed = await ProviderStandIn.StartAsync();
        var address = closed.BaseAddress;
        await closed.DisposeAsync();
        await using var services = TestHosts.Telesign(_server, options => options.BaseAddress = address);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which;
        error.InnerException.Should().BeOfType<HttpRequestException>().Which.HttpRequestError.Should().Be(HttpRequestError.ConnectionError);
        error.Attempts.Should().Be(4, "one attempt and three retries");
        error.Message.Should().Contain("could not be reached").And.NotContain("billed");
    }

    [Fact]
    public async Task ContactMatchAsync_503_IsNotRetriedByDefault()
    {
        _server.Enqueue(context => Respond.Status(context, 503));
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which;
        error.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        error.Message.Should().Contain("RetryWhenPossiblyBilled");
        _server.RequestCount.Should().Be(1, "Telesign does not document that a 503 did no work");
    }

    [Fact]
    public async Task ContactMatchAsync_503ThenSuccessWithRetryWhenPossiblyBilled_Retries()
    {
        _server.Enqueue(context => Respond.Status(context, 503));
        await using var services = TestHosts.Telesign(_server, options => options.Resilience.RetryWhenPossiblyBilled = true);

        var response = await services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        response.StatusCode.Should().Be(2800);
        _server.RequestCount.Should().Be(2);
    }

    [Fact]
    public async Task ContactMatchAsync_DroppedConnectionWithoutRetries_ThrowsUnavailable()
    {
        _server.Default = Respond.Drop;
        await using var services = TestHosts.Telesign(_server, options => options.Resilience.MaxRetryAttempts = 0);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which.InnerException
            .Should().BeAssignableTo<HttpRequestException>();
        _server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task ContactMatchAsync_RepeatedFailures_OpenCircuitFailsFastThenRecovers()
    {
        // The break is the time logic under test, so it runs on a manual clock: a stalled machine cannot let the
        // circuit half-open before the fail-fast call, nor keep it open after the break.
        var clock = ManualTimeProvider.StartingNow();
        _server.Enqueue(context => Respond.Status(context, 500), context => Respond.Status(context, 500));
        await using var services = TestHosts.Telesign(_server, options =>
        {
            options.Resilience.MaxRetryAttempts = 0;
            options.Resilience.CircuitBreakerMinimumThroughput = 2;
            options.Resilience.CircuitBreakerFailureRatio = 0.5;
            options.Resilience.CircuitBreakerSamplingDuration = TimeSpan.FromSeconds(10);
            options.Resilience.CircuitBreakerBreakDuration = TimeSpan.FromSeconds(5);
        }, clock: clock);
        var client = services.GetRequiredService<TelesignContactMatchClient>();

        for (var i = 0; i < 2; i++)
        {
            await FluentActions.Awaiting(() => client.ContactMatchAsync(Query))
                .Should().ThrowAsync<IdentityMatchProviderUnavailableException>();
        }

        clock.Advance(TimeSpan.FromSeconds(4.9));
        var open = await FluentActions.Awaiting(() => client.ContactMatchAsync(Query))
            .Should().ThrowAsync<IdentityMatchProviderUnavailableException>();
        open.Which.InnerException.Should().BeAssignableTo<BrokenCircuitException>();
        open.Which.Attempts.Should().Be(0);
        open.Which.Message.Should().Contain("circuit breaker is open");
        _server.RequestCount.Should().Be(2, "the open circuit fails fast without a request");

        clock.Advance(TimeSpan.FromSeconds(0.2));
        var recovered = await client.ContactMatchAsync(Query);

        recovered.StatusCode.Should().Be(2800);
        _server.RequestCount.Should().Be(3);
    }

    [Fact]
    public async Task ContactMatchAsync_CircuitSharedAcrossClientInstances()
    {
        _server.Default = context => Respond.Status(context, 500);
        await using var services = TestHosts.Telesign(_server, options =>
        {
            options.Resilience.MaxRetryAttempts = 0;
            options.Resilience.CircuitBreakerMinimumThroughput = 2;
            options.Resilience.CircuitBreakerBreakDuration = TimeSpan.FromSeconds(30);
        });

        for (var i = 0; i < 3; i++)
        {
            // A fresh typed client (and HttpClient) per call, as a transient resolution gives.
            await FluentActions.Awaiting(() => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query))
                .Should().ThrowAsync<IdentityMatchProviderUnavailableException>();
        }

        _server.RequestCount.Should().Be(2);
    }

    [Fact]
    public async Task ContactMatchAsync_CancelledWhileWaiting_ThrowsOperationCanceled()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = Respond.After(TimeSpan.FromSeconds(60), TelesignServer.Success);
        _server.Default = context =>
        {
            arrived.TrySetResult();
            return slow(context);
        };
        await using var services = TestHosts.Telesign(_server);
        using var cancellation = new CancellationTokenSource();

        var call = services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query, cancellation.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var stopwatch = Stopwatch.StartNew();
        await cancellation.CancelAsync();

        await FluentActions.Awaiting(() => call).Should().ThrowAsync<OperationCanceledException>();
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "cancellation ends the call, not the 60 s answer");
        _server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task ContactMatchAsync_AlreadyCancelled_SendsNothing()
    {
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query, new CancellationToken(true));

        await act.Should().ThrowAsync<OperationCanceledException>();
        _server.RequestCount.Should().Be(0);
    }

    [Theory]
    [InlineData("555-121")]
    [InlineData("+0155555512")]
    [InlineData("+1555abc1212")]
    [InlineData("+1234567890123456")]
    public async Task ContactMatchAsync_InvalidPhoneNumber_ThrowsArgumentExceptionBeforeSending(string phone)
    {
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(new IdentityMatchQuery(phone) { FirstName = "John" });

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().NotContain(phone);
        _server.RequestCount.Should().Be(0);
    }

    [Fact]
    public async Task ContactMatchAsync_NoFieldToCompare_ThrowsArgumentExceptionBeforeSending()
    {
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(new IdentityMatchQuery("+15555551212") { FirstName = " " });

        await act.Should().ThrowAsync<ArgumentException>().WithMessage("*no field to compare*");
        _server.RequestCount.Should().Be(0);
    }

    [Fact]
    public async Task ContactMatchAsync_NullQuery_ThrowsArgumentNullException()
    {
        await using var services = TestHosts.Telesign(_server);

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(null!);

        await act.Should().ThrowAsync<ArgumentNullException>();
    }

    [Fact]
    public async Task ContactMatchAsync_SecretsAndPersonalData_NeverLoggedOrInExceptions()
    {
        var logs = new CollectingLoggerProvider();
        _server.Enqueue(context => Respond.Status(context, 503), Respond.Drop, TelesignServer.Success);
        await using var services = TestHosts.Telesign(_server, options => options.Resilience.RetryWhenPossiblyBilled = true, logs: logs);
        var client = services.GetRequiredService<TelesignContactMatchClient>();
        await client.ContactMatchAsync(Query);

        await using var wrongKey = TestHosts.Telesign(
            _server, options => options.ApiKey = Convert.ToBase64String("another-secret-api-key-value-123"u8), logs);
        var error = await FluentActions.Awaiting(() => wrongKey.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query))
            .Should().ThrowAsync<IdentityMatchConfigurationException>();

        var authorizations = _server.Requests.Select(request => request.Header("Authorization")!).ToList();
        var forbidden = new[] { TelesignServer.ApiKey, Convert.ToBase64String("another-secret-api-key-value-123"u8), "15555551212", "Smith", "Springfield" }
            .Concat(authorizations.Select(authorization => authorization.Split(':')[1]));
        logs.Entries.Should().NotBeEmpty();
        logs.AllText.Should().Contain("retrying in").And.Contain("failed with IdentityMatchConfigurationException");
        foreach (var secret in forbidden)
        {
            logs.AllText.Should().NotContain(secret);
            error.Which.ToString().Should().NotContain(secret);
        }

        services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TelesignContactMatchOptions>>().Value.ToString()
            .Should().NotContain(TelesignServer.ApiKey).And.Contain("(redacted)");
    }

    /// <summary>
    /// One call on a fresh connection first, so that an attempt timeout under test cuts the server's slow answer, not a
    /// cold start (JIT, connect) on a loaded machine.
    /// </summary>
    private static Task WarmUpAsync(IServiceProvider services) =>
        services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);
}
