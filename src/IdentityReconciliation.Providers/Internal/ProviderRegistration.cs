using System.ComponentModel.DataAnnotations;
using System.Net.Http.Headers;
using System.Reflection;
using IdentityReconciliation.Providers.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>What a provider's registration differs in.</summary>
internal sealed record ProviderParts<TClient, TOptions>(
    string Provider,
    Func<TOptions, IdentityMatchResilienceOptions> Resilience,
    Func<TOptions, Uri> BaseAddress,
    Func<IServiceProvider, TOptions, DelegatingHandler> CreateSigningHandler,
    Func<HttpClient, IServiceProvider, TOptions, TClient> CreateClient,
    Func<IServiceProvider, TOptions, ILogger, ProvidersTelemetry, ResilienceStrategy?>? CreateRateLimit = null);

internal static class ProviderRegistration
{
    private static readonly ProductInfoHeaderValue UserAgent = new(
        "IdentityReconciliation.Providers",
        typeof(ProviderRegistration).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0");

    /// <summary>
    /// Registers a provider under <paramref name="name"/> (the <c>IHttpClientFactory</c> named-client convention; the
    /// default name is <see cref="Options.DefaultName"/>): one pipeline per registration (so its circuit breaker survives
    /// handler rotation), the named HTTP client with the resilience handler and, inside it, the signing handler, and the
    /// client as a keyed service (also unkeyed for the default name) and as <see cref="IIdentityMatchProvider"/>. The
    /// factory's request logging is removed (URLs may hold personal data). A second call for the same name only returns
    /// the builder: its options were added by the caller, and handlers must not stack.
    /// </summary>
    public static IHttpClientBuilder Add<TClient, TOptions>(IServiceCollection services, string name, ProviderParts<TClient, TOptions> parts)
        where TClient : class, IIdentityMatchProvider
        where TOptions : class
    {
        var clientName = name.Length == 0 ? typeof(TClient).FullName! : typeof(TClient).FullName + ":" + name;
        if (services.Any(descriptor => descriptor.IsKeyedService && Equals(descriptor.ServiceKey, clientName)))
        {
            return services.AddHttpClient(clientName);
        }

        TOptions Options(IServiceProvider sp) => sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name);
        services.AddLogging();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ProvidersTelemetry>();
        services.AddKeyedSingleton(clientName, (sp, _) =>
        {
            var options = Options(sp);
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TClient).FullName!);
            var telemetry = sp.GetRequiredService<ProvidersTelemetry>();
            return ResiliencePipelines.Create(
                parts.Provider, parts.Resilience(options), sp.GetRequiredService<TimeProvider>(), logger, telemetry, parts.CreateRateLimit?.Invoke(sp, options, logger, telemetry));
        });
        services.AddKeyedTransient<TClient>(name, (sp, _) => parts.CreateClient(sp.GetRequiredService<IHttpClientFactory>().CreateClient(clientName), sp, Options(sp)));
        services.AddKeyedTransient<IIdentityMatchProvider>(name, (sp, key) => sp.GetRequiredKeyedService<TClient>(key));
        if (name.Length == 0)
        {
            services.AddTransient(sp => sp.GetRequiredKeyedService<TClient>(string.Empty));
            services.AddTransient<IIdentityMatchProvider>(sp => sp.GetRequiredKeyedService<TClient>(string.Empty));
        }

        return services.AddHttpClient(clientName)
            .ConfigureHttpClient((sp, httpClient) =>
            {
                var address = parts.BaseAddress(Options(sp)).AbsoluteUri;
                httpClient.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
                httpClient.Timeout = Timeout.InfiniteTimeSpan;
                httpClient.DefaultRequestHeaders.UserAgent.Add(UserAgent);
            })
            .AddHttpMessageHandler(sp => new ResilienceHandler(sp.GetRequiredKeyedService<ResiliencePipeline<HttpResponseMessage>>(clientName)))
            .AddHttpMessageHandler(sp => parts.CreateSigningHandler(sp, Options(sp)))
            .RemoveAllLoggers();
    }

    /// <summary>An absolute <c>https</c> address, or <c>http</c> for a loopback host only.</summary>
    public static ValidationResult? CheckBaseAddress(Uri? address, string memberName) => address switch
    {
        null => null, // [Required] reports it.
        { IsAbsoluteUri: false } => new ValidationResult($"{memberName} must be an absolute URI such as https://host/.", [memberName]),
        { Scheme: "https" } or { Scheme: "http", IsLoopback: true } => null,
        _ => new ValidationResult(
            $"{memberName} must use https; plain http is accepted only for a loopback host (localhost, 127.0.0.1, [::1]).", [memberName]),
    };
}
