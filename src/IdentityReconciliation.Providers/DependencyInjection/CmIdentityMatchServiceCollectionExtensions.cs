using IdentityReconciliation.Providers;
using IdentityReconciliation.Providers.Cm;
using IdentityReconciliation.Providers.Diagnostics;
using IdentityReconciliation.Providers.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the CM.com Mobile Identity — Identity Match client.</summary>
public static class CmIdentityMatchServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="CmIdentityMatchClient"/> (also as <see cref="IIdentityMatchProvider"/>) as a typed HTTP
    /// client with its rate limit and resilience pipeline, configured by <paramref name="configure"/> and validated at
    /// start-up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="CmIdentityMatchOptions"/>.</param>
    /// <returns>The client's builder, to add handlers or configure the primary handler.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddCmIdentityMatch(this IServiceCollection services, Action<CmIdentityMatchOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.AddOptionsWithValidateOnStart<CmIdentityMatchOptions, CmIdentityMatchOptionsValidator>().Configure(configure);
        return AddCore(services);
    }

    /// <summary>
    /// Registers <see cref="CmIdentityMatchClient"/> (also as <see cref="IIdentityMatchProvider"/>) as a typed HTTP
    /// client with its rate limit and resilience pipeline, bound to <paramref name="configuration"/> (e.g.
    /// <c>configuration.GetSection("CmIdentityMatch")</c>) and validated at start-up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section holding <see cref="CmIdentityMatchOptions"/>.</param>
    /// <returns>The client's builder, to add handlers or configure the primary handler.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddCmIdentityMatch(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptionsWithValidateOnStart<CmIdentityMatchOptions, CmIdentityMatchOptionsValidator>().Bind(configuration);
        return AddCore(services);
    }

    private static IHttpClientBuilder AddCore(IServiceCollection services) =>
        ProviderServices.AddProviderClient<CmIdentityMatchClient, CmIdentityMatchOptions>(
            services,
            static sp =>
            {
                var options = sp.GetRequiredService<IOptions<CmIdentityMatchOptions>>().Value;
                var timeProvider = sp.GetRequiredService<TimeProvider>();
                var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CmIdentityMatchClient).FullName!);
                var telemetry = sp.GetRequiredService<ProvidersTelemetry>();
                var gate = options.MinimumRequestInterval > TimeSpan.Zero
                    ? new RequestSpacingStrategy(
                        RequestSpacingGate.For(options.RateLimitPartition()),
                        options.MinimumRequestInterval,
                        timeProvider,
                        CmIdentityMatchClient.ProviderName,
                        logger,
                        telemetry)
                    : null;

                return new ProviderRuntime<CmIdentityMatchClient>(
                    CmIdentityMatchClient.ProviderName,
                    options.Resilience,
                    options.MatchThreshold,
                    new CmRequestAuthenticator(TokenSource(options, timeProvider, logger)),
                    timeProvider,
                    logger,
                    telemetry,
                    gate);
            },
            static (httpClient, sp) => new CmIdentityMatchClient(
                httpClient,
                sp.GetRequiredService<ProviderRuntime<CmIdentityMatchClient>>(),
                sp.GetRequiredService<IOptions<CmIdentityMatchOptions>>().Value.ServiceType),
            static options => options.BaseAddress);

    private static Func<CancellationToken, ValueTask<string>> TokenSource(
        CmIdentityMatchOptions options, TimeProvider timeProvider, ILogger logger)
    {
        if (options.TokenProvider is { } provider)
        {
            return provider;
        }

        if (!string.IsNullOrWhiteSpace(options.Token))
        {
            var token = options.Token.Trim();
            return _ => ValueTask.FromResult(token);
        }

        var jwt = new CmJwtTokenSource(options.KeyId!, options.Secret!, options.TokenLifetime, timeProvider, logger);
        return _ => ValueTask.FromResult(jwt.GetToken());
    }
}
