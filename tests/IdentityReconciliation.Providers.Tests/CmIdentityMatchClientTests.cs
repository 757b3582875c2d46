using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using IdentityReconciliation.Providers.Cm;
using IdentityReconciliation.Providers.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Polly.CircuitBreaker;

namespace IdentityReconciliation.Providers.Tests;

public sealed class CmIdentityMatchClientTests : IAsyncLifetime
{
    private static readonly IdentityMatchQuery Query = new("+31 6 1324 5678")
    {
        FirstName = "John",
        LastName = "Doe",
        Address = "Konijnenberg 24",
        Address2 = "2nd floor",
        City = "Breda",
        PostalCode = "4825 BD",
        Country = "NL",
        DateOfBirth = new DateOnly(1965, 3, 10),
    };

    private readonly string _keyId = CmServer.NewKeyId();
    private ProviderStandIn _server = null!;

    public async Task InitializeAsync()
    {
        _server = await ProviderStandIn.StartAsync();
        _server.Authenticate = CmServer.Jwt(_keyId);
        _server.Default = CmServer.Score;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task MatchAsync_ScoreMode_ServerValidatesJwtAndScoresMap()
    {
        await using var services = TestHosts.Cm(_server, _keyId);

        var result = await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        result.Provider.Should().Be("CM.com");
        result.Outcome.Should().Be(IdentityMatchOutcome.Compared);
        result.ProviderStatus.Should().Be("success");
        result.GetScore(IdentityMatchField.FirstName).Should().Be(100);
        result.GetScore(IdentityMatchField.LastName).Should().Be(70);
        result.GetScore(IdentityMatchField.FullName).Should().Be(85);
        result.GetScore(IdentityMatchField.Address).Should().BeNull();
        result.GetScore(IdentityMatchField.PostalCode).Should().BeNull();
        result.GetScore(IdentityMatchField.DateOfBirth).Should().Be(90);
        result.Passed(IdentityMatchField.LastName).Should().BeFalse();
        result.Passed(IdentityMatchField.FullName).Should().BeTrue();

        var request = _server.Requests.Should().ContainSingle().Subject;
        request.AuthFailure.Should().BeNull();
        request.Path.Should().Be("/mobile-identity/v1/identity-match");
        request.Header("Content-Type").Should().Be("application/json");
        request.BodyText.Should().Be(
            """{"phoneNumber":"+31613245678","serviceType":"score","firstName":"John","lastName":"Doe","address":"Konijnenberg 24","address2":"2nd floor","postalCode":"4825 BD","dateOfBirth":"1965-03-10"}""");
    }

    [Fact]
    public async Task MatchAsync_MatchMode_BooleansBecome100And0()
    {
        _server.Default = context => Respond.Json(context, 200, CmServer.MatchJson);
        await using var services = TestHosts.Cm(_server, _keyId, options => options.ServiceType = CmServiceType.Match);

        var result = await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        result.GetScore(IdentityMatchField.FirstName).Should().Be(100);
        result.GetScore(IdentityMatchField.LastName).Should().Be(0);
        result.GetScore(IdentityMatchField.FullName).Should().Be(100);
        result.GetScore(IdentityMatchField.Address).Should().BeNull();
        result.GetScore(IdentityMatchField.DateOfBirth).Should().BeNull();
        result.Passed(IdentityMatchField.LastName).Should().BeFalse();
        result.Passed(IdentityMatchField.PostalCode).Should().BeTrue();
        using var body = JsonDocument.Parse(_server.Requests.Single().Body);
        body.RootElement.GetProperty("serviceType").GetString().Should().Be("match");
    }

    [Fact]
    public async Task IdentityMatchAsync_ExplicitServiceType_OverridesOptions()
    {
        _server.Default = context => Respond.Json(context, 200, CmServer.MatchJson);
        await using var services = TestHosts.Cm(_server, _keyId);

        var response = await services.GetRequiredService<CmIdentityMatchClient>().IdentityMatchAsync(Query, CmServiceType.Match);

        response.ServiceType.Should().Be(CmServiceType.Match);
        response.FirstNameMatch.Should().BeTrue();
        response.LastNameMatch.Should().BeFalse();
        response.NameMatch.Should().BeTrue();
        response.AddressMatch.Should().BeNull();
        response.State.Should().Be("success");
    }

    [Theory]
    [InlineData("""{"state":"success"}""", IdentityMatchOutcome.NoData)]
    [InlineData("""{"state":"no data"}""", IdentityMatchOutcome.NoData)]
    [InlineData("""{"state":"out_of_coverage"}""", IdentityMatchOutcome.OutOfCoverage)]
    [InlineData("""{"state":"NotApplicable"}""", IdentityMatchOutcome.NotApplicable)]
    public async Task MatchAsync_StatesWithoutData_AreOutcomes(string json, IdentityMatchOutcome expected)
    {
        _server.Default = context => Respond.Json(context, 200, json);
        await using var services = TestHosts.Cm(_server, _keyId);

        var result = await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        result.Outcome.Should().Be(expected);
        result.Fields.Should().BeEmpty();
        _server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task MatchAsync_UnknownState_ThrowsInvalidResponseInsteadOfNoData()
    {
        _server.Default = context => Respond.Json(context, 200, """{"state":"something-new","firstNameScore":100}""");
        await using var services = TestHosts.Cm(_server, _keyId);

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchInvalidResponseException>()).Which;
        error.ProviderStatus.Should().Be("something-new");
        _server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task MatchAsync_SandboxBaseAddress_PostsToTheSandboxServiceRoot()
    {
        var sandbox = new Uri(_server.BaseAddress, "mobile-identity-sandbox/v1");
        await using var services = TestHosts.Cm(_server, _keyId, options => options.BaseAddress = sandbox);

        await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        _server.Requests.Single().Path.Should().Be("/mobile-identity-sandbox/v1/identity-match");
        new Cm.CmIdentityMatchOptions().BaseAddress.Should().Be(new Uri("https://api.cm.com/mobile-identity/v1"));
        Cm.CmIdentityMatchOptions.SandboxBaseAddress.Should().Be("https://api.cm.com/mobile-identity-sandbox/v1");
    }

    [Fact]
    public async Task MatchAsync_HostSuppliedRateLimiter_IsUsedForEveryAttempt()
    {
        var limiter = new CountingLimiter();
        _server.Enqueue(context => Respond.Status(context, 429));
        await using var services = TestHosts.Cm(_server, _keyId, options =>
        {
            options.RateLimiter = limiter;
            options.MinimumRequestInterval = TimeSpan.FromHours(1); // not used when the host supplies a limiter
        });

        await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);
        await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        limiter.Acquired.Should().Be(3, "one permit per attempt, the retry included");
        _server.RequestCount.Should().Be(3);
    }

    [Fact]
    public async Task MatchAsync_HostRateLimiterRefuses_ThrowsUnavailableWithoutSending()
    {
        await using var services = TestHosts.Cm(_server, _keyId, options => options.RateLimiter = new CountingLimiter { Refuse = true });

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which;
        error.RetryAfter.Should().Be(TimeSpan.FromSeconds(2));
        _server.RequestCount.Should().Be(0);
    }

    [Fact]
    public async Task MatchAsync_RequestIdHeader_BecomesTheReferenceIdOnSuccessAndFailure()
    {
        _server.Enqueue(
            context => Respond.Json(context, 200, CmServer.ScoreJson, ("X-Request-Id", "cm-request-1")),
            context => Respond.Json(context, 400, """{"title":"Validation failed"}""", ("X-Correlation-Id", "cm-request-2")));
        await using var services = TestHosts.Cm(_server, _keyId);
        var provider = services.GetRequiredService<IIdentityMatchProvider>();

        (await provider.MatchAsync(Query)).ReferenceId.Should().Be("cm-request-1");
        (await FluentActions.Awaiting(() => provider.MatchAsync(Query)).Should().ThrowAsync<IdentityMatchInvalidQueryException>())
            .Which.ReferenceId.Should().Be("cm-request-2");
    }

    [Fact]
    public async Task MatchAsync_401EchoingTheBearerTokenAndQuery_RepeatsNoSecretOrPersonalData()
    {
        _server.Authenticate = null;
        _server.Default = context => Respond.Json(context, 401, System.Text.Json.JsonSerializer.Serialize(new
        {
            message = $"Token {context.Request.Headers.Authorization} rejected for John Doe, Konijnenberg 24, 4825 BD, 1965-03-10, +31613245678",
        }));
        var logs = new CollectingLoggerProvider();
        await using var services = TestHosts.Cm(_server, _keyId, logs: logs);

        var error = (await FluentActions.Awaiting(() => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query))
            .Should().ThrowAsync<IdentityMatchConfigurationException>()).Which;

        var token = _server.Requests.Single().Header("Authorization")!["Bearer ".Length..];
        foreach (var text in new[] { error.Message, error.ToString(), string.Join(" ", error.Errors), logs.AllText })
        {
            foreach (var secret in new[] { token, CmServer.Secret, "John", "Doe", "Konijnenberg", "4825 BD", "1965-03-10", "31613245678" })
            {
                text.Should().NotContain(secret);
            }
        }

        error.Message.Should().Contain("HTTP 401").And.Contain("[redacted]");
    }

    [Fact]
    public async Task MatchAsync_SevenDigitE164Number_IsAccepted()
    {
        await using var services = TestHosts.Cm(_server, _keyId);

        await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(new IdentityMatchQuery("+683 4002") { LastName = "Doe" });

        _server.Requests.Single().BodyText.Should().StartWith("""{"phoneNumber":"+6834002",""");
    }

    [Fact]
    public async Task MatchAsync_MintedJwt_HasNotBeforeBackdated()
    {
        await using var services = TestHosts.Cm(_server, _keyId);

        await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        var payload = _server.Requests.Single().Header("Authorization")!.Split('.')[1].Replace('-', '+').Replace('_', '/');
        using var claims = JsonDocument.Parse(Convert.FromBase64String(payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=')));
        var iat = claims.RootElement.GetProperty("iat").GetInt64();
        claims.RootElement.GetProperty("nbf").GetInt64().Should().Be(iat - 30, "a CM.com server whose clock is a little behind still accepts it");
    }

    private sealed class CountingLimiter : System.Threading.RateLimiting.RateLimiter
    {
        private int _acquired;

        public bool Refuse { get; init; }

        public int Acquired => Volatile.Read(ref _acquired);

        public override TimeSpan? IdleDuration => null;

        public override System.Threading.RateLimiting.RateLimiterStatistics? GetStatistics() => null;

        protected override System.Threading.RateLimiting.RateLimitLease AttemptAcquireCore(int permitCount) => Lease();

        protected override ValueTask<System.Threading.RateLimiting.RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Lease());

        private System.Threading.RateLimiting.RateLimitLease Lease()
        {
            if (Refuse)
            {
                return new Refused();
            }

            Interlocked.Increment(ref _acquired);
            return new Granted();
        }

        private sealed class Granted : System.Threading.RateLimiting.RateLimitLease
        {
            public override bool IsAcquired => true;

            public override IEnumerable<string> MetadataNames => [];

            public override bool TryGetMetadata(string metadataName, out object? metadata)
            {
                metadata = null;
                return false;
            }
        }

        private sealed class Refused : System.Threading.RateLimiting.RateLimitLease
        {
            public override bool IsAcquired => false;

            public override IEnumerable<string> MetadataNames => [System.Threading.RateLimiting.MetadataName.RetryAfter.Name];

            public override bool TryGetMetadata(string metadataName, out object? metadata)
            {
                metadata = TimeSpan.FromSeconds(2);
                return metadataName == System.Threading.RateLimiting.MetadataName.RetryAfter.Name;
            }
        }
    }

    [Fact]
    public async Task MatchAsync_429ThenSuccess_RetriesWithValidToken()
    {
        _server.Enqueue(context => Respond.Status(context, 429));
        await using var services = TestHosts.Cm(_server, _keyId);

        var result = await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        result.Outcome.Should().Be(IdentityMatchOutcome.Compared);
        _server.RequestCount.Should().Be(2);
        _server.Requests.Should().OnlyContain(request => request.AuthFailure == null);
    }

    [Fact]
    public async Task MatchAsync_429WithRetryAfterDate_WaitsUntilDateThenSucceeds()
    {
        _server.Enqueue(context => Respond.Status(
            context, 429, ("Retry-After", DateTimeOffset.UtcNow.AddSeconds(2).ToString("r", CultureInfo.InvariantCulture))));
        await using var services = TestHosts.Cm(_server, _keyId, options => options.Resilience.MaxRetryAfter = TimeSpan.FromSeconds(3));
        var stopwatch = Stopwatch.StartNew();

        var result = await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        result.Outcome.Should().Be(IdentityMatchOutcome.Compared);
        stopwatch.Elapsed.Should().BeGreaterThan(TimeSpan.FromMilliseconds(900), "the HTTP date is 1-2 s ahead (1 s resolution)");
        _server.RequestCount.Should().Be(2);
    }

    [Fact]
    public async Task MatchAsync_400WithErrorsBody_ThrowsInvalidQueryWithoutRetry()
    {
        _server.Default = context => Respond.Json(
            context, 400, """{"title":"Validation failed","errors":{"phoneNumber":["Not a valid mobile number."]}}""");
        await using var services = TestHosts.Cm(_server, _keyId);

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchInvalidQueryException>()).Which;
        error.Errors.Should().ContainSingle().Which.Should().Be(new IdentityMatchProviderError("phoneNumber", "Not a valid mobile number."));
        error.Message.Should().Contain("HTTP 400");
        _server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task MatchAsync_WrongSecret_ThrowsConfigurationExceptionWithoutRetry()
    {
        await using var services = TestHosts.Cm(_server, _keyId, options => options.Secret = "not-the-secret-cm-issued");

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        var error = (await act.Should().ThrowAsync<IdentityMatchConfigurationException>()).Which;
        error.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        error.Message.Should().Contain("KeyId and Secret");
        error.Message.Should().NotContain("not-the-secret-cm-issued");
        _server.Requests.Should().ContainSingle().Which.AuthFailure.Should().Be("bad JWT signature");
    }

    [Fact]
    public async Task MatchAsync_Forbidden_ThrowsConfigurationException()
    {
        _server.Default = context => Respond.Json(context, 403, """{"message":"Identity Match is not enabled for this account"}""");
        await using var services = TestHosts.Cm(_server, _keyId);

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        (await act.Should().ThrowAsync<IdentityMatchConfigurationException>()).Which.Message
            .Should().Contain("HTTP 403").And.Contain("not enabled");
        _server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task MatchAsync_StaticToken_SentAsBearer()
    {
        _server.Authenticate = CmServer.Bearer("host-supplied-token");
        await using var services = TestHosts.Cm(_server, _keyId, options =>
        {
            options.KeyId = null;
            options.Secret = null;
            options.Token = "host-supplied-token";
        });

        var result = await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        result.Outcome.Should().Be(IdentityMatchOutcome.Compared);
        _server.Requests.Should().ContainSingle().Which.AuthFailure.Should().BeNull();
    }

    [Fact]
    public async Task MatchAsync_TokenProvider_CalledForEveryAttempt()
    {
        var calls = 0;
        _server.Authenticate = request => request.Header("Authorization")!.StartsWith("Bearer token-", StringComparison.Ordinal) ? null : "no token";
        _server.Enqueue(context => Respond.Status(context, 429));
        await using var services = TestHosts.Cm(_server, _keyId, options =>
        {
            options.KeyId = null;
            options.Secret = null;
            options.TokenProvider = _ => ValueTask.FromResult("token-" + Interlocked.Increment(ref calls));
        });

        await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        calls.Should().Be(2);
        _server.Requests.Select(request => request.Header("Authorization")).Should().Equal("Bearer token-1", "Bearer token-2");
    }

    [Fact]
    public async Task MatchAsync_TokenProviderReturnsEmpty_ThrowsConfigurationExceptionWithoutSending()
    {
        await using var services = TestHosts.Cm(_server, _keyId, options =>
        {
            options.KeyId = null;
            options.Secret = null;
            options.TokenProvider = _ => ValueTask.FromResult(string.Empty);
        });

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        await act.Should().ThrowAsync<IdentityMatchConfigurationException>().WithMessage("*TokenProvider returned an empty token*");
        _server.RequestCount.Should().Be(0);
    }

    [Fact]
    public async Task MatchAsync_SlowResponseWithRetryWhenPossiblyBilled_AttemptTimeoutRetries()
    {
        _server.Enqueue(CmServer.Score, Respond.After(TimeSpan.FromSeconds(60), CmServer.Score));
        await using var services = TestHosts.Cm(_server, _keyId, options =>
        {
            options.Resilience.AttemptTimeout = TimeSpan.FromSeconds(2);
            options.Resilience.RetryWhenPossiblyBilled = true;
        });
        await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query); // warm connection: the timeout cuts the slow answer

        var result = await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        result.Outcome.Should().Be(IdentityMatchOutcome.Compared);
        _server.RequestCount.Should().Be(1 + 2);
    }

    [Fact]
    public async Task MatchAsync_MalformedJson_ThrowsInvalidResponseWithoutRetry()
    {
        _server.Default = context => Respond.Json(context, 200, """{"state":"success","firstNameScore":""");
        await using var services = TestHosts.Cm(_server, _keyId);

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        (await act.Should().ThrowAsync<IdentityMatchInvalidResponseException>()).Which.InnerException.Should().BeAssignableTo<JsonException>();
        _server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task MatchAsync_WrongJsonTypes_ThrowsInvalidResponse()
    {
        _server.Default = context => Respond.Json(context, 200, """{"state":"success","firstNameScore":{"value":1}}""");
        await using var services = TestHosts.Cm(_server, _keyId);

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        await act.Should().ThrowAsync<IdentityMatchInvalidResponseException>();
        _server.RequestCount.Should().Be(1);
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 3)]
    public async Task MatchAsync_TwoDropsAfterFullBodyRead_AreRetriedOnlyWhenPossiblyBilledRetriesAreOn(bool retryWhenPossiblyBilled, int expectedRequests)
    {
        _server.Enqueue(Respond.Drop, Respond.Drop);
        await using var services = TestHosts.Cm(_server, _keyId, options => options.Resilience.RetryWhenPossiblyBilled = retryWhenPossiblyBilled);

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        if (retryWhenPossiblyBilled)
        {
            (await act()).Outcome.Should().Be(IdentityMatchOutcome.Compared);
        }
        else
        {
            (await act.Should().ThrowAsync<IdentityMatchProviderUnavailableException>()).Which.Message.Should().Contain("billed");
        }

        _server.RequestCount.Should().Be(expectedRequests);
    }

    [Fact]
    public async Task MatchAsync_FailuresOpenCircuit_FailsFastWithTypedException()
    {
        _server.Default = context => Respond.Status(context, 502);
        await using var services = TestHosts.Cm(_server, _keyId, options =>
        {
            options.Resilience.MaxRetryAttempts = 1;
            options.Resilience.RetryWhenPossiblyBilled = true;
            options.Resilience.CircuitBreakerMinimumThroughput = 4;
            options.Resilience.CircuitBreakerFailureRatio = 1.0;
            options.Resilience.CircuitBreakerBreakDuration = TimeSpan.FromSeconds(30);
        });
        var provider = services.GetRequiredService<IIdentityMatchProvider>();

        for (var i = 0; i < 2; i++)
        {
            (await FluentActions.Awaiting(() => provider.MatchAsync(Query)).Should().ThrowAsync<IdentityMatchProviderUnavailableException>())
                .Which.StatusCode.Should().Be(HttpStatusCode.BadGateway);
        }

        var open = await FluentActions.Awaiting(() => provider.MatchAsync(Query)).Should().ThrowAsync<IdentityMatchProviderUnavailableException>();

        open.Which.InnerException.Should().BeAssignableTo<BrokenCircuitException>();
        open.Which.RetryAfter.Should().NotBeNull();
        _server.RequestCount.Should().Be(4, "two calls of two attempts each opened the circuit");
    }

    [Theory]
    [InlineData("31613245678")]
    [InlineData("+31 6 1324 567x")]
    [InlineData("+0613245678")]
    [InlineData("+3161")]
    public async Task MatchAsync_NotE164WithPlus_ThrowsArgumentExceptionBeforeSending(string phone)
    {
        await using var services = TestHosts.Cm(_server, _keyId);

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(new IdentityMatchQuery(phone) { LastName = "Doe" });

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("E.164").And.NotContain(phone);
        _server.RequestCount.Should().Be(0);
    }

    [Fact]
    public async Task MatchAsync_OnlyFieldsCmCannotCompare_ThrowsArgumentException()
    {
        await using var services = TestHosts.Cm(_server, _keyId);

        var act = () => services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(
            new IdentityMatchQuery("+31613245678") { City = "Breda", Country = "NL" });

        await act.Should().ThrowAsync<ArgumentException>().WithMessage("*no field CM.com can compare*");
        _server.RequestCount.Should().Be(0);
    }

    [Fact]
    public async Task IdentityMatchAsync_UndefinedServiceType_ThrowsArgumentOutOfRange()
    {
        await using var services = TestHosts.Cm(_server, _keyId);

        var act = () => services.GetRequiredService<CmIdentityMatchClient>().IdentityMatchAsync(Query, (CmServiceType)42);

        await act.Should().ThrowAsync<ArgumentOutOfRangeException>();
        _server.RequestCount.Should().Be(0);
    }

    [Fact]
    public async Task MatchAsync_SecretsAndTokensAndPersonalData_NeverLoggedOrInExceptions()
    {
        var logs = new CollectingLoggerProvider();
        _server.Enqueue(context => Respond.Status(context, 429));
        await using var services = TestHosts.Cm(_server, _keyId, logs: logs);
        await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query);

        await using var wrong = TestHosts.Cm(_server, _keyId, options => options.Secret = "a-wrong-secret-value", logs);
        var error = await FluentActions.Awaiting(() => wrong.GetRequiredService<IIdentityMatchProvider>().MatchAsync(Query))
            .Should().ThrowAsync<IdentityMatchConfigurationException>();

        var tokens = _server.Requests.Select(request => request.Header("Authorization")!["Bearer ".Length..]).ToList();
        tokens.Should().HaveCount(3);
        logs.AllText.Should().Contain("retrying in").And.Contain("Minted a CM.com JWT");
        foreach (var secret in tokens.Concat([CmServer.Secret, "a-wrong-secret-value", "13245678", "Konijnenberg", "1965-03-10"]))
        {
            logs.AllText.Should().NotContain(secret);
            error.Which.ToString().Should().NotContain(secret);
        }

        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<CmIdentityMatchOptions>>().Value;
        options.ToString().Should().NotContain(CmServer.Secret).And.Contain("Secret = (redacted)");
    }
}
