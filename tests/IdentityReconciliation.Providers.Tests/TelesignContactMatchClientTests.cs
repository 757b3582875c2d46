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

    private FakeProviderServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeProviderServer.StartAsync();
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
    public async Task ContactMatchAsync_503ThenSuccess_RetriesWithFreshDateAndNonce()
    {
        _server.Enqueue(context => Respond.Status(context, 503));
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
    public async Task ContactMatchAsync_PersistentServiceUnavailable_ThrowsAfterAllRetriesWithLastStatus()
    {
        _server.Default = context => Respond.Status(context, 503);
        await using var services = TestHosts.Telesign(_server);

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
        error.Message.Should().Contain("TelesignOptions.ApiKey").And.Contain("clock");
        _server.Requests.Should().ContainSingle().Which.AuthFailure.Should().Be("signature mismatch");
    }

    [Fact]
    public async Task ContactMatchAsync_SlowThenFast_AttemptTimeoutRetries()
    {
        _server.Enqueue(Respond.After(TimeSpan.FromSeconds(60), TelesignServer.Success));
        // Timeouts leave room for a loaded CI machine to deliver each attempt to the server before it is cut short;
        // the slow answer is far beyond any stall, so finishing well before it proves the attempt was cut short.
        await using var services = TestHosts.Telesign(_server, options => options.Resilience.AttemptTimeout = TimeSpan.FromSeconds(2));
        var stopwatch = Stopwatch.StartNew();

        var response = await services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        response.StatusCode.Should().Be(2800);
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30));
        _server.RequestCount.Should().Be(2);
    }

    [Fact]
    public async Task ContactMatchAsync_AlwaysSlow_ThrowsUnavailableAfterAttemptTimeouts()
    {
        _server.Default = Respond.After(TimeSpan.FromSeconds(60), TelesignServer.Success);
        await using var services = TestHosts.Telesign(_server, options =>
        {
            options.Resilience.AttemptTimeout = TimeSpan.FromSeconds(2);
            options.Resilience.MaxRetryAttempts = 1;
        });

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which;
        error.InnerException.Should().BeOfType<TimeoutRejectedException>();
        error.StatusCode.Should().BeNull();
        _server.RequestCount.Should().Be(2);
    }

    [Fact]
    public async Task ContactMatchAsync_TotalTimeout_StopsRetrying()
    {
        _server.Default = Respond.After(TimeSpan.FromSeconds(60), TelesignServer.Success);
        await using var services = TestHosts.Telesign(_server, options =>
        {
            // Without the total timeout, four attempts of 2 s would run for 8 s and reach the server 4 times.
            options.Resilience.AttemptTimeout = TimeSpan.FromSeconds(2);
            options.Resilience.TotalTimeout = TimeSpan.FromSeconds(3.5);
        });
        var stopwatch = Stopwatch.StartNew();

        var act = () => services.GetRequiredService<TelesignContactMatchClient>().ContactMatchAsync(Query);

        (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which.InnerException
            .Should().BeOfType<TimeoutRejectedException>();
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(7.5));
        _server.RequestCount.Should().Be(2, "the second attempt is cut short by the total timeout");
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

    [Fact]
    public async Task ContactMatchAsync_DroppedConnectionThenSuccess_Retries()
    {
        _server.Enqueue(Respond.Drop);
        await using var services = TestHosts.Telesign(_server);

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
    [InlineData("555-1212")]
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
        await using var services = TestHosts.Telesign(_server, logs: logs);
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

        services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TelesignOptions>>().Value.ToString()
            .Should().NotContain(TelesignServer.ApiKey).And.Contain("(redacted)");
    }
}
