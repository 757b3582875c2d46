using IdentityReconciliation;
using IdentityReconciliation.HealthChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the identity reconciliation health check to an <see cref="IHealthChecksBuilder"/>.</summary>
public static class IdentityReconciliationHealthChecksBuilderExtensions
{
    /// <summary>The name the check is registered under unless another is given.</summary>
    public const string DefaultName = "identity-reconciliation";

    /// <summary>
    /// Adds a health check of the registered <see cref="IContactStore"/>: <see cref="HealthStatus.Healthy"/> when a
    /// read-only lookup runs and writes go through; <see cref="HealthStatus.Degraded"/> while requests fail with
    /// <see cref="ContactStoreBusyException"/> (until a write succeeds again, for at most one minute after the last such
    /// failure); <paramref name="failureStatus"/> when the store cannot be used at all (the database does not open, the
    /// schema is wrong).
    /// </summary>
    /// <remarks>
    /// Use it with <c>services.AddIdentityReconciliation()</c>: the failures it reports are those that the
    /// <see cref="IIdentityReconciler"/> registered there observes. The lookup never writes and never matches a contact.
    /// </remarks>
    /// <param name="builder">The health checks builder, from <c>services.AddHealthChecks()</c>.</param>
    /// <param name="name">The name of the check. Default: <see cref="DefaultName"/>.</param>
    /// <param name="failureStatus">The status reported when the store cannot be used; <see langword="null"/> for <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by, or <see langword="null"/>.</param>
    /// <param name="timeout">How long the check may run, or <see langword="null"/> for no limit of its own.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="name"/> is <see langword="null"/>.</exception>
    public static IHealthChecksBuilder AddIdentityReconciliation(
        this IHealthChecksBuilder builder,
        string name = DefaultName,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(name);
        builder.Services.TryAddSingleton(static sp => new ContactStoreBusyTracker(sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return builder.Add(new HealthCheckRegistration(
            name,
            static sp => new IdentityReconciliationHealthCheck(sp.GetRequiredService<IContactStore>(), sp.GetRequiredService<ContactStoreBusyTracker>()),
            failureStatus,
            tags,
            timeout));
    }
}
