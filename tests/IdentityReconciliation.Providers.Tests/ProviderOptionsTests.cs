using IdentityReconciliation.Providers.Cm;
using IdentityReconciliation.Providers.Telesign;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Providers.Tests;

public sealed class ProviderOptionsTests
{
    private const string ValidKey = "aWRlbnRpdHktcmVjb25jaWxpYXRpb24tdGVzdC1rZXk=";

    [Fact]
    public void TelesignOptions_Defaults_AreDocumentedValues()
    {
        var options = new TelesignContactMatchOptions();

        options.BaseAddress.Should().Be(new Uri("https://rest-ww.telesign.com"));
        options.AuthenticationMethod.Should().Be(TelesignAuthenticationMethod.Hmac);
        options.MatchThreshold.Should().Be(80);
        options.Resilience.TotalTimeout.Should().Be(TimeSpan.FromSeconds(30));
        options.Resilience.AttemptTimeout.Should().Be(TimeSpan.FromSeconds(10));
        options.Resilience.MaxRetryAttempts.Should().Be(3);
        options.Resilience.MaxRetryAfter.Should().Be(TimeSpan.FromSeconds(30));
        options.Resilience.CircuitBreakerFailureRatio.Should().Be(0.5);
        options.Resilience.RetryWhenPossiblyBilled.Should().BeFalse("retrying what may have been billed is opt-in");
        new CmIdentityMatchOptions().BaseAddress.Should().Be(new Uri("https://api.cm.com/mobile-identity/v1"));
        new CmIdentityMatchOptions().MinimumRequestInterval.Should().Be(TimeSpan.FromSeconds(1));
        new CmIdentityMatchOptions().TokenLifetime.Should().Be(TimeSpan.FromSeconds(60));
        new CmIdentityMatchOptions().ServiceType.Should().Be(CmServiceType.Score);
    }

    [Theory]
    [InlineData("CustomerId", "")]
    [InlineData("ApiKey", "")]
    [InlineData("ApiKey", "not base64 at all!")]
    [InlineData("BaseAddress", "relative/path")]
    [InlineData("BaseAddress", "http://rest-ww.telesign.com")]
    [InlineData("MatchThreshold", "101")]
    [InlineData("Resilience:MaxRetryAttempts", "-1")]
    [InlineData("Resilience:AttemptTimeout", "00:01:00")]
    [InlineData("Resilience:CircuitBreakerBreakDuration", "00:00:00.100")]
    public void AddTelesignContactMatch_InvalidSetting_FailsNamingTheSetting(string key, string value)
    {
        var settings = new Dictionary<string, string?>
        {
            ["CustomerId"] = "customer",
            ["ApiKey"] = ValidKey,
            [key] = value,
        };
        using var services = Build(s => s.AddTelesignContactMatch(Configuration(settings)));

        var act = () => services.GetRequiredService<IOptions<TelesignContactMatchOptions>>().Value;

        var error = act.Should().Throw<OptionsValidationException>().Which;
        var member = key.Split(':')[^1];
        error.Message.Should().Contain(member);
        if (key == "ApiKey" && value.Length > 0)
        {
            error.Message.Should().NotContain(value, "the API key is a secret");
        }
    }

    [Fact]
    public void AddTelesignContactMatch_BasicWithNonBase64Key_IsValid()
    {
        using var services = Build(s => s.AddTelesignContactMatch(options =>
        {
            options.CustomerId = "customer";
            options.ApiKey = "plain key";
            options.AuthenticationMethod = TelesignAuthenticationMethod.Basic;
        }));

        services.GetRequiredService<IOptions<TelesignContactMatchOptions>>().Value.ApiKey.Should().Be("plain key");
    }

    [Fact]
    public void AddTelesignContactMatch_HttpLoopback_IsValid()
    {
        using var services = Build(s => s.AddTelesignContactMatch(options =>
        {
            options.CustomerId = "customer";
            options.ApiKey = ValidKey;
            options.BaseAddress = new Uri("http://127.0.0.1:8080");
        }));

        services.GetRequiredService<IOptions<TelesignContactMatchOptions>>().Value.BaseAddress.IsLoopback.Should().BeTrue();
    }

    [Fact]
    public void AddTelesignContactMatch_FromConfiguration_BindsEverySetting()
    {
        using var services = Build(s => s.AddTelesignContactMatch(Configuration(new Dictionary<string, string?>
        {
            ["BaseAddress"] = "https://rest-ww.telesign.example/",
            ["CustomerId"] = "customer",
            ["ApiKey"] = ValidKey,
            ["AuthenticationMethod"] = "Basic",
            ["MatchThreshold"] = "70",
            ["Resilience:MaxRetryAttempts"] = "0",
            ["Resilience:TotalTimeout"] = "00:00:05",
            ["Resilience:AttemptTimeout"] = "00:00:02",
        })));

        var options = services.GetRequiredService<IOptions<TelesignContactMatchOptions>>().Value;

        options.BaseAddress.Should().Be(new Uri("https://rest-ww.telesign.example/"));
        options.AuthenticationMethod.Should().Be(TelesignAuthenticationMethod.Basic);
        options.MatchThreshold.Should().Be(70);
        options.Resilience.MaxRetryAttempts.Should().Be(0);
        options.Resilience.TotalTimeout.Should().Be(TimeSpan.FromSeconds(5));
        options.Resilience.AttemptTimeout.Should().Be(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task AddTelesignContactMatch_MissingCustomerId_FailsHostStart()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddTelesignContactMatch(options => options.ApiKey = ValidKey);
        using var host = builder.Build();

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("CustomerId");
    }

    [Theory]
    [InlineData(null, null, null, false, "No CM.com credentials")]
    [InlineData("kid", null, null, false, "Secret is required")]
    [InlineData(null, "secret", null, false, "KeyId is required")]
    [InlineData("kid", "secret", "token", false, "only one way")]
    [InlineData(null, null, "token", true, "only one way")]
    public void AddCmIdentityMatch_BadCredentials_FailsSayingWhatToSet(
        string? keyId, string? secret, string? token, bool provider, string expected)
    {
        using var services = Build(s => s.AddCmIdentityMatch(options =>
        {
            options.KeyId = keyId;
            options.Secret = secret;
            options.Token = token;
            options.TokenProvider = provider ? _ => ValueTask.FromResult("t") : null;
        }));

        var act = () => services.GetRequiredService<IOptions<CmIdentityMatchOptions>>().Value;

        var error = act.Should().Throw<OptionsValidationException>().Which;
        error.Message.Should().Contain(expected);
    }

    [Theory]
    [InlineData("TokenLifetime", "00:00:01")]
    [InlineData("MinimumRequestInterval", "-00:00:01")]
    [InlineData("BaseAddress", "ftp://api.cm.com")]
    [InlineData("MatchThreshold", "-5")]
    [InlineData("Resilience:RetryMaxDelay", "00:00:00.001")]
    public void AddCmIdentityMatch_InvalidSetting_FailsNamingTheSetting(string key, string value)
    {
        using var services = Build(s => s.AddCmIdentityMatch(Configuration(new Dictionary<string, string?>
        {
            ["KeyId"] = "kid",
            ["Secret"] = "secret",
            [key] = value,
        })));

        var act = () => services.GetRequiredService<IOptions<CmIdentityMatchOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(key.Split(':')[^1]);
    }

    [Fact]
    public void AddCmIdentityMatch_FromConfiguration_BindsEverySetting()
    {
        using var services = Build(s => s.AddCmIdentityMatch(Configuration(new Dictionary<string, string?>
        {
            ["KeyId"] = "kid",
            ["Secret"] = "secret",
            ["ServiceType"] = "Match",
            ["TokenLifetime"] = "00:05:00",
            ["MinimumRequestInterval"] = "00:00:02",
            ["MatchThreshold"] = "90",
        })));

        var options = services.GetRequiredService<IOptions<CmIdentityMatchOptions>>().Value;

        options.ServiceType.Should().Be(CmServiceType.Match);
        options.TokenLifetime.Should().Be(TimeSpan.FromMinutes(5));
        options.MinimumRequestInterval.Should().Be(TimeSpan.FromSeconds(2));
        options.MatchThreshold.Should().Be(90);
        options.ToString().Should().Contain("Secret = (redacted)").And.NotContain("= secret");
    }

    [Fact]
    public void AddBoth_ResolvesBothAsProviders_AndRepeatedRegistrationDoesNotStackHandlers()
    {
        using var services = Build(s =>
        {
            s.AddTelesignContactMatch(options =>
            {
                options.CustomerId = "customer";
                options.ApiKey = ValidKey;
            });
            s.AddTelesignContactMatch(options => options.MatchThreshold = 75);
            s.AddCmIdentityMatch(options => options.Token = "token");
        });

        var providers = services.GetServices<IIdentityMatchProvider>().ToList();

        providers.Select(provider => provider.Name).Should().BeEquivalentTo(["Telesign", "CM.com"]);
        services.GetRequiredService<IOptions<TelesignContactMatchOptions>>().Value.MatchThreshold.Should().Be(75);
        var handlers = services.GetRequiredService<IOptionsMonitor<Microsoft.Extensions.Http.HttpClientFactoryOptions>>()
            .Get(typeof(TelesignContactMatchClient).FullName).HttpMessageHandlerBuilderActions;
        handlers.Should().HaveCount(2, "one resilience and one signing handler: the second call only adds configuration");
    }

    [Fact]
    public async Task AddNamed_ProductionAndSandboxSideBySide_EachUsesItsOwnOptions()
    {
        await using var production = await ProviderStandIn.StartAsync();
        await using var sandbox = await ProviderStandIn.StartAsync();
        production.Default = TelesignServer.Success;
        sandbox.Default = context => Respond.Json(context, 200, TelesignServer.StatusJson(2805));
        using var services = Build(s =>
        {
            s.AddTelesignContactMatch(options => Configure(options, production.BaseAddress, 80));
            s.AddTelesignContactMatch("sandbox", options => Configure(options, sandbox.BaseAddress, 60));
            s.AddCmIdentityMatch("sandbox", options => options.Token = "token");
        });
        var query = new IdentityMatchQuery("+15555551212") { FirstName = "John" };

        var fromProduction = await services.GetRequiredService<IIdentityMatchProvider>().MatchAsync(query);
        var fromSandbox = await services.GetRequiredKeyedService<TelesignContactMatchClient>("sandbox").MatchAsync(query);

        fromProduction.Outcome.Should().Be(IdentityMatchOutcome.Compared);
        fromProduction.Threshold.Should().Be(80);
        fromSandbox.Outcome.Should().Be(IdentityMatchOutcome.NoData);
        fromSandbox.Threshold.Should().Be(60);
        production.RequestCount.Should().Be(1);
        sandbox.RequestCount.Should().Be(1);
        services.GetKeyedServices<IIdentityMatchProvider>("sandbox").Select(provider => provider.Name).Should().BeEquivalentTo(["Telesign", "CM.com"]);
        services.GetServices<IIdentityMatchProvider>().Select(provider => provider.Name).Should().Equal("Telesign");

        static void Configure(TelesignContactMatchOptions options, Uri baseAddress, int threshold)
        {
            options.BaseAddress = baseAddress;
            options.CustomerId = TelesignServer.CustomerId;
            options.ApiKey = TelesignServer.ApiKey;
            options.MatchThreshold = threshold;
        }
    }

    [Fact]
    public void AddNamed_InvalidNamedOptions_FailNamingTheSetting()
    {
        using var services = Build(s => s.AddTelesignContactMatch("second-account", options => options.ApiKey = ValidKey));

        var act = () => services.GetRequiredService<IOptionsMonitor<TelesignContactMatchOptions>>().Get("second-account");

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("CustomerId");
    }

    [Fact]
    public void AddTelesignContactMatch_NullArguments_Throw()
    {
        var services = new ServiceCollection();

        FluentActions.Invoking(() => services.AddTelesignContactMatch((Action<TelesignContactMatchOptions>)null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => services.AddCmIdentityMatch((IConfiguration)null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => ((IServiceCollection)null!).AddCmIdentityMatch(_ => { })).Should().Throw<ArgumentNullException>();
    }

    private static IConfiguration Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    private static ServiceProvider Build(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        configure(services);
        return services.BuildServiceProvider();
    }
}
