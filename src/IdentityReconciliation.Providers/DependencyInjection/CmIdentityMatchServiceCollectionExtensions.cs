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
    private const string CredentialsHint =
        "Check CmIdentityMatchOptions.KeyId and Secret (or Token/TokenProvider), that Identity Match is enabled for these credentials, " +
        "and (for minted JWTs) that this machine's clock is correct.";

    /// <summary>
    /// Registers <see cref="CmIdentityMatchClient"/> (also as <see cref="IIdentityMatchProvider"/>) with its rate limit
    /// and resilience pipeline, configured by <paramref name="configure"/> and validated at start-up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="CmIdentityMatchOptions"/>.</param>
    /// <returns>The client's builder, to add handlers (they run inside each attempt, after signing) or configure the primary handler.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddCmIdentityMatch(this IServiceCollection services, Action<CmIdentityMatchOptions> configure) =>
        services.AddCmIdentityMatch(Microsoft.Extensions.Options.Options.DefaultName, configure);

    /// <summary>
    /// Registers <see cref="CmIdentityMatchClient"/> (also as <see cref="IIdentityMatchProvider"/>), bound to
    /// <paramref name="configuration"/> (e.g. <c>configuration.GetSection("CmIdentityMatch")</c>) and validated at start-up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section holding <see cref="CmIdentityMatchOptions"/>.</param>
    /// <returns>The client's builder.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddCmIdentityMatch(this IServiceCollection services, IConfiguration configuration) =>
        services.AddCmIdentityMatch(Microsoft.Extensions.Options.Options.DefaultName, configuration);

    /// <summary>
    /// Registers a named CM.com client (for example production and sandbox side by side), configured by
    /// <paramref name="configure"/>. Resolve it with <c>GetRequiredKeyedService&lt;IIdentityMatchProvider&gt;(name)</c>
    /// or <c>[FromKeyedServices(name)]</c>; the default name <c>""</c> is also resolvable without a key.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The registration's name; each name has its own options, pipeline and circuit breaker.</param>
    /// <param name="configure">Sets <see cref="CmIdentityMatchOptions"/>.</param>
    /// <returns>The client's builder.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddCmIdentityMatch(this IServiceCollection services, string name, Action<CmIdentityMatchOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptionsWithValidateOnStart<CmIdentityMatchOptions, CmIdentityMatchOptionsValidator>(name).Configure(configure);
        return AddCore(services, name);
    }

    /// <summary>Registers a named CM.com client bound to <paramref name="configuration"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The registration's name.</param>
    /// <param name="configuration">The section holding <see cref="CmIdentityMatchOptions"/>.</param>
    /// <returns>The client's builder.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddCmIdentityMatch(this IServiceCollection services, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptionsWithValidateOnStart<CmIdentityMatchOptions, CmIdentityMatchOptionsValidator>(name).Bind(configuration);
        return AddCore(services, name);
    }

    private static IHttpClientBuilder AddCore(IServiceCollection services, string name) => ProviderRegistration.Add(services, name, new ProviderParts<CmIdentityMatchClient, CmIdentityMatchOptions>(
        CmIdentityMatchClient.ProviderName,
        static options => options.Resilience,
        static options => options.BaseAddress,
        static (sp, options) => new CmSigningHandler(TokenSource(options, sp.GetRequiredService<TimeProvider>(), Logger(sp))),
        static (httpClient, sp, options) => new CmIdentityMatchClient(
            new ProviderClient(httpClient, new ProviderSettings(
                CmIdentityMatchClient.ProviderName,
                options.Resilience,
                CredentialsHint,
                [options.Secret, options.Token],
                sp.GetRequiredService<TimeProvider>(),
                Logger(sp),
                sp.GetRequiredService<ProvidersTelemetry>())),
            options),
        static (sp, options, logger, telemetry) => options.RateLimiter is null && options.MinimumRequestInterval <= TimeSpan.Zero
            ? null
            : new CmRateLimit(
                CmIdentityMatchClient.ProviderName,
                options.RateLimiter,
                options.RateLimiter is null ? CmRateLimit.Gate.For(options.RateLimitPartition()) : null,
                options.MinimumRequestInterval,
                sp.GetRequiredService<TimeProvider>(),
                logger,
                telemetry)));

    private static ILogger Logger(IServiceProvider services) =>
        services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CmIdentityMatchClient).FullName!);

    private static Func<CancellationToken, ValueTask<string>> TokenSource(CmIdentityMatchOptions options, TimeProvider timeProvider, ILogger logger)
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
