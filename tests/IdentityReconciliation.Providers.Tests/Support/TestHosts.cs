using IdentityReconciliation.Providers.Cm;
using IdentityReconciliation.Providers.Telesign;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Providers.Tests.Support;

/// <summary>Builds service providers wired to a provider stand-in, with fast resilience settings.</summary>
public static class TestHosts
{
    /// <summary>
    /// Short retry delays, and a circuit breaker that only trips when a test means it to. Timeouts are generous: a cold
    /// first call (JIT, a new connection, Kestrel's first request) on a loaded 2-core machine took over 2 s in one run
    /// of 20 under load, which timed out and retried the attempt; tests about timeouts set their own.
    /// </summary>
    public static void Fast(IdentityMatchResilienceOptions resilience)
    {
        resilience.TotalTimeout = TimeSpan.FromSeconds(30);
        resilience.AttemptTimeout = TimeSpan.FromSeconds(10);
        resilience.MaxRetryAttempts = 3;
        resilience.RetryBaseDelay = TimeSpan.FromMilliseconds(10);
        resilience.RetryMaxDelay = TimeSpan.FromMilliseconds(50);
        resilience.MaxRetryAfter = TimeSpan.FromSeconds(2);
        resilience.CircuitBreakerMinimumThroughput = 1000;
    }

    public static ServiceProvider Telesign(
        ProviderStandIn server, Action<TelesignContactMatchOptions>? configure = null, CollectingLoggerProvider? logs = null, TimeProvider? clock = null)
    {
        var services = Services(logs, clock);
        services.AddTelesignContactMatch(options =>
        {
            options.BaseAddress = server.BaseAddress;
            options.CustomerId = TelesignServer.CustomerId;
            options.ApiKey = TelesignServer.ApiKey;
            Fast(options.Resilience);
            configure?.Invoke(options);
        });
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public static ServiceProvider Cm(
        ProviderStandIn server,
        string keyId,
        Action<CmIdentityMatchOptions>? configure = null,
        CollectingLoggerProvider? logs = null,
        SendLog? sends = null,
        TimeProvider? timeProvider = null)
    {
        var services = Services(logs, timeProvider);
        var client = services.AddCmIdentityMatch(options =>
        {
            options.BaseAddress = server.BaseAddress;
            options.KeyId = keyId;
            options.Secret = CmServer.Secret;
            options.MinimumRequestInterval = TimeSpan.Zero;
            Fast(options.Resilience);
            configure?.Invoke(options);
        });
        if (sends is not null)
        {
            client.AddHttpMessageHandler(sends.CreateHandler);
        }

        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>Services with every log level sent to <paramref name="logs"/>, and <paramref name="clock"/> as the time provider when given.</summary>
    private static ServiceCollection Services(CollectingLoggerProvider? logs, TimeProvider? clock)
    {
        var services = new ServiceCollection();
        if (clock is not null)
        {
            services.AddSingleton(clock);
        }

        services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null)
            {
                logging.AddProvider(logs);
            }
        });
        return services;
    }
}
