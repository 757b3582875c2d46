using IdentityReconciliation;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace IdentityReconciliation.Samples.WebApi;

/// <summary>
/// Healthy when the contact store answers a read-only lookup (the database opens, the schema is in place, a query runs).
/// The lookup is for an address on the reserved <c>.invalid</c> domain, so it never matches a real contact.
/// </summary>
internal sealed partial class ContactStoreHealthCheck(IIdentityReconciler reconciler, ILogger<ContactStoreHealthCheck> logger) : IHealthCheck
{
    private static readonly IdentifyRequest Probe = new("healthz@healthz.invalid", null);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await reconciler.FindAsync(Probe, cancellationToken);
            return HealthCheckResult.Healthy("The contact store answers.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogUnhealthy(logger, ex);
            return HealthCheckResult.Unhealthy("The contact store does not answer.");
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "The contact store health check failed.")]
    private static partial void LogUnhealthy(ILogger logger, Exception exception);
}
