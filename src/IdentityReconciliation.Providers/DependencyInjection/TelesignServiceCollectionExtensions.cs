using IdentityReconciliation.Providers;
using IdentityReconciliation.Providers.Diagnostics;
using IdentityReconciliation.Providers.Internal;
using IdentityReconciliation.Providers.Telesign;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Telesign Phone ID Contact Match client.</summary>
public static class TelesignServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="TelesignContactMatchClient"/> (also as <see cref="IIdentityMatchProvider"/>) as a typed
    /// HTTP client with its resilience pipeline, configured by <paramref name="configure"/> and validated at start-up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="TelesignOptions"/>.</param>
    /// <returns>The client's builder, to add handlers or configure the primary handler.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddTelesignContactMatch(this IServiceCollection services, Action<TelesignOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.AddOptionsWithValidateOnStart<TelesignOptions, TelesignOptionsValidator>().Configure(configure);
        return AddCore(services);
    }

    /// <summary>
    /// Registers <see cref="TelesignContactMatchClient"/> (also as <see cref="IIdentityMatchProvider"/>) as a typed
    /// HTTP client with its resilience pipeline, bound to <paramref name="configuration"/> (e.g.
    /// <c>configuration.GetSection("Telesign")</c>) and validated at start-up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section holding <see cref="TelesignOptions"/>.</param>
    /// <returns>The client's builder, to add handlers or configure the primary handler.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddTelesignContactMatch(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptionsWithValidateOnStart<TelesignOptions, TelesignOptionsValidator>().Bind(configuration);
        return AddCore(services);
    }

    private static IHttpClientBuilder AddCore(IServiceCollection services) =>
        ProviderServices.AddProviderClient<TelesignContactMatchClient, TelesignOptions>(
            services,
            static sp =>
            {
                var options = sp.GetRequiredService<IOptions<TelesignOptions>>().Value;
                var timeProvider = sp.GetRequiredService<TimeProvider>();
                return new ProviderRuntime<TelesignContactMatchClient>(
                    TelesignContactMatchClient.ProviderName,
                    options.Resilience,
                    options.MatchThreshold,
                    new TelesignRequestAuthenticator(options, timeProvider),
                    timeProvider,
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TelesignContactMatchClient).FullName!),
                    sp.GetRequiredService<ProvidersTelemetry>());
            },
            static (httpClient, sp) => new TelesignContactMatchClient(httpClient, sp.GetRequiredService<ProviderRuntime<TelesignContactMatchClient>>()),
            static options => options.BaseAddress);
}
