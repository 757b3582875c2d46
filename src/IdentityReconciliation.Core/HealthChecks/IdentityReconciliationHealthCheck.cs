using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace IdentityReconciliation.HealthChecks;

/// <summary>
/// Healthy when the contact store answers a read-only lookup and writes are not timing out; Degraded while writes fail
/// with <see cref="ContactStoreBusyException"/> (or the lookup itself does); the registration's failure status (Unhealthy
/// by default) when the store cannot be used at all.
/// </summary>
/// <remarks>
/// The lookup is for an address on the reserved <c>.invalid</c> domain, so it never matches a real contact and never
/// writes. It proves that the database opens, that the schema is in place and that a query runs; it does not take the
/// write lock, so a busy writer shows only through the failures the reconciler reports.
/// </remarks>
internal sealed class IdentityReconciliationHealthCheck(IContactStore store, ContactStoreBusyTracker tracker) : IHealthCheck
{
    private static readonly ContactIdentifiers Probe = new("healthz@healthz.invalid", null);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await store.FindClustersAsync(Probe, cancellationToken).ConfigureAwait(false);
        }
        catch (ContactStoreBusyException ex)
        {
            return HealthCheckResult.Degraded("The contact store is busy: a lookup timed out.", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "The contact store does not answer.", ex);
        }

        if (tracker.RecentBusy() is { } busy)
        {
            return HealthCheckResult.Degraded(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"{busy.Failures} request(s) timed out waiting for the busy contact store, the last {busy.Ago.TotalSeconds:0} s ago; no write has succeeded since."),
                data: new Dictionary<string, object>
                {
                    ["busyFailures"] = busy.Failures,
                    ["secondsSinceLastBusy"] = Math.Round(busy.Ago.TotalSeconds, 1),
                });
        }

        return HealthCheckResult.Healthy("The contact store answers.");
    }
}
