using IdentityReconciliation.Providers.Telesign;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Providers.Tests.Support;

/// <summary>Builds service providers wired to a fake provider server, with fast resilience settings.</summary>
public static class TestHosts
{
    /// <summary>Short delays and timeouts, and a circuit breaker that only trips when a test means it to.</summary>
    public static void Fast(IdentityMatchResilienceOptions resilience)
    {
        resilience.TotalTimeout = TimeSpan.FromSeconds(10);
        resilience.AttemptTimeout = TimeSpan.FromSeconds(2);
        resilience.MaxRetryAttempts = 3;
        resilience.RetryBaseDelay = TimeSpan.FromMilliseconds(10);
        resilience.RetryMaxDelay = TimeSpan.FromMilliseconds(50);
        resilience.MaxRetryAfter = TimeSpan.FromSeconds(2);
        resilience.CircuitBreakerMinimumThroughput = 1000;
    }

    public static ServiceProvider Telesign(
        FakeProviderServer server, Action<TelesignContactMatchOptions>? configure = null, CollectingLoggerProvider? logs = null, TimeProvider? clock = null)
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
}
