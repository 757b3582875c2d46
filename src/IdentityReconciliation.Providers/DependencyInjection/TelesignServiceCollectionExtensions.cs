using IdentityReconciliation.Providers;
using IdentityReconciliation.Providers.Diagnostics;
using IdentityReconciliation.Providers.Internal;
using IdentityReconciliation.Providers.Telesign;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
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

    private static IHttpClientBuilder AddCore(IServiceCollection services)
    {
        var clientName = typeof(TelesignContactMatchClient).FullName!;
        if (services.Any(descriptor => descriptor.ServiceType == typeof(ProviderRuntime<TelesignContactMatchClient>)))
        {
            // Already registered: the new configuration was added above; do not stack a second resilience handler.
            return services.AddHttpClient(clientName);
        }

        ProviderServices.AddShared(services);
        services.AddSingleton(static sp =>
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
        });

        var builder = services
            .AddHttpClient<TelesignContactMatchClient, TelesignContactMatchClient>(
                clientName,
                static (HttpClient httpClient, IServiceProvider sp) => new TelesignContactMatchClient(
                    httpClient, sp.GetRequiredService<ProviderRuntime<TelesignContactMatchClient>>()))
            .ConfigureHttpClient(static (sp, httpClient) =>
            {
                var options = sp.GetRequiredService<IOptions<TelesignOptions>>().Value;
                httpClient.BaseAddress = BaseAddressValidation.WithTrailingSlash(options.BaseAddress);
                httpClient.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddHttpMessageHandler(static sp => sp.GetRequiredService<ProviderRuntime<TelesignContactMatchClient>>().CreateHandler())
            .RemoveAllLoggers();

        services.AddTransient<IIdentityMatchProvider>(static sp => sp.GetRequiredService<TelesignContactMatchClient>());
        return builder;
    }
}
