using IdentityReconciliation.Providers.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Providers.Internal;

internal static class ProviderServices
{
    /// <summary>The services every provider needs; each is added only if the host has not added its own.</summary>
    public static void AddShared(IServiceCollection services)
    {
        services.AddLogging();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ProvidersTelemetry>();
    }

    /// <summary>
    /// Registers a provider's typed client once: its <see cref="ProviderRuntime{TClient}"/> (from
    /// <paramref name="createRuntime"/>), the HTTP client with the base address of <typeparamref name="TOptions"/>, an
    /// infinite <see cref="HttpClient.Timeout"/> (the pipeline owns time) and the resilience handler, without the factory's
    /// request logging (URLs may hold personal data), and the client as <see cref="IIdentityMatchProvider"/>. A second call
    /// only returns the builder: its options were added by the caller, and a second resilience handler must not stack.
    /// </summary>
    public static IHttpClientBuilder AddProviderClient<TClient, TOptions>(
        IServiceCollection services,
        Func<IServiceProvider, ProviderRuntime<TClient>> createRuntime,
        Func<HttpClient, IServiceProvider, TClient> createClient,
        Func<TOptions, Uri> baseAddress)
        where TClient : class, IIdentityMatchProvider
        where TOptions : class
    {
        var clientName = typeof(TClient).FullName!;
        if (services.Any(descriptor => descriptor.ServiceType == typeof(ProviderRuntime<TClient>)))
        {
            return services.AddHttpClient(clientName);
        }

        AddShared(services);
        services.AddSingleton(createRuntime);
        var builder = services
            .AddHttpClient<TClient, TClient>(clientName, createClient)
            .ConfigureHttpClient((sp, httpClient) =>
            {
                httpClient.BaseAddress = BaseAddressValidation.WithTrailingSlash(baseAddress(sp.GetRequiredService<IOptions<TOptions>>().Value));
                httpClient.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddHttpMessageHandler(static sp => sp.GetRequiredService<ProviderRuntime<TClient>>().CreateHandler())
            .RemoveAllLoggers();

        services.AddTransient<IIdentityMatchProvider>(static sp => sp.GetRequiredService<TClient>());
        return builder;
    }
}
