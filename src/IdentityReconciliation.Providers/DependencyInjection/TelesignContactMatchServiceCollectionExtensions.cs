using IdentityReconciliation.Providers;
using IdentityReconciliation.Providers.Diagnostics;
using IdentityReconciliation.Providers.Internal;
using IdentityReconciliation.Providers.Telesign;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Telesign Phone ID Contact Match client.</summary>
public static class TelesignContactMatchServiceCollectionExtensions
{
    private const string CredentialsHint =
        "Check TelesignContactMatchOptions.CustomerId and ApiKey, that AuthenticationMethod matches what the account allows, " +
        "that Phone ID Contact Match is enabled for the customer ID, and (for HMAC) that this machine's clock is correct.";

    /// <summary>
    /// Registers <see cref="TelesignContactMatchClient"/> (also as <see cref="IIdentityMatchProvider"/>) with its
    /// resilience pipeline, configured by <paramref name="configure"/> and validated at start-up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="TelesignContactMatchOptions"/>.</param>
    /// <returns>The client's builder, to add handlers (they run inside each attempt, after signing) or configure the primary handler.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddTelesignContactMatch(this IServiceCollection services, Action<TelesignContactMatchOptions> configure) =>
        services.AddTelesignContactMatch(Microsoft.Extensions.Options.Options.DefaultName, configure);

    /// <summary>
    /// Registers <see cref="TelesignContactMatchClient"/> (also as <see cref="IIdentityMatchProvider"/>), bound to
    /// <paramref name="configuration"/> (e.g. <c>configuration.GetSection("Telesign")</c>) and validated at start-up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section holding <see cref="TelesignContactMatchOptions"/>.</param>
    /// <returns>The client's builder.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddTelesignContactMatch(this IServiceCollection services, IConfiguration configuration) =>
        services.AddTelesignContactMatch(Microsoft.Extensions.Options.Options.DefaultName, configuration);

    /// <summary>
    /// Registers a named Telesign client (for example production and sandbox, or two accounts, side by side), configured
    /// by <paramref name="configure"/>. Resolve it with <c>GetRequiredKeyedService&lt;IIdentityMatchProvider&gt;(name)</c>
    /// or <c>[FromKeyedServices(name)]</c>; the default name <c>""</c> is also resolvable without a key.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The registration's name; each name has its own options, pipeline and circuit breaker.</param>
    /// <param name="configure">Sets <see cref="TelesignContactMatchOptions"/>.</param>
    /// <returns>The client's builder.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddTelesignContactMatch(this IServiceCollection services, string name, Action<TelesignContactMatchOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptionsWithValidateOnStart<TelesignContactMatchOptions, TelesignContactMatchOptionsValidator>(name).Configure(configure);
        return AddCore(services, name);
    }

    /// <summary>Registers a named Telesign client bound to <paramref name="configuration"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The registration's name.</param>
    /// <param name="configuration">The section holding <see cref="TelesignContactMatchOptions"/>.</param>
    /// <returns>The client's builder.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddTelesignContactMatch(this IServiceCollection services, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptionsWithValidateOnStart<TelesignContactMatchOptions, TelesignContactMatchOptionsValidator>(name).Bind(configuration);
        return AddCore(services, name);
    }

    private static IHttpClientBuilder AddCore(IServiceCollection services, string name) => ProviderRegistration.Add(services, name, new ProviderParts<TelesignContactMatchClient, TelesignContactMatchOptions>(
        TelesignContactMatchClient.ProviderName,
        static options => options.Resilience,
        static options => options.BaseAddress,
        static (sp, options) => new TelesignSigningHandler(options, sp.GetRequiredService<TimeProvider>()),
        static (httpClient, sp, options) => new TelesignContactMatchClient(
            new ProviderClient(httpClient, new ProviderSettings(
                TelesignContactMatchClient.ProviderName,
                options.Resilience,
                CredentialsHint,
                TelesignSigningHandler.Secrets(options),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TelesignContactMatchClient).FullName!),
                sp.GetRequiredService<ProvidersTelemetry>())),
            options.MatchThreshold)));
}
