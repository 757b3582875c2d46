using IdentityReconciliation.Providers.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

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
}
