using System.Diagnostics;
using IdentityReconciliation.Diagnostics;
using IdentityReconciliation.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IdentityReconciliation;

/// <summary>
/// The default <see cref="IIdentityReconciler"/>: normalises and validates a request, then lets the
/// <see cref="IContactStore"/> apply the plan of <see cref="ContactPlanner"/> atomically.
/// </summary>
/// <remarks>
/// A request that changes nothing (the common case of a returning customer) is answered from a read-only lookup and
/// never takes the store's write lock; one that changes something is planned again inside the store's atomic unit, so
/// that a concurrent write in between is never lost.
/// </remarks>
public sealed partial class IdentityReconciler : IIdentityReconciler
{
    private readonly IContactStore _store;
    private readonly IContactNormalizer _normalizer;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates a reconciler over a store, with the default normaliser and the system clock.</summary>
    /// <param name="store">The contact store.</param>
    public IdentityReconciler(IContactStore store)
        : this(store, DefaultContactNormalizer.Instance, TimeProvider.System, null)
    {
    }

    /// <summary>Creates a reconciler.</summary>
    /// <param name="store">The contact store.</param>
    /// <param name="normalizer">The identifier normaliser.</param>
    /// <param name="timeProvider">The clock for <c>createdAt</c> and <c>updatedAt</c>.</param>
    /// <param name="logger">The logger, or <see langword="null"/> for none.</param>
    public IdentityReconciler(IContactStore store, IContactNormalizer normalizer, TimeProvider timeProvider, ILogger<IdentityReconciler>? logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(normalizer);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _store = store;
        _normalizer = normalizer;
        _timeProvider = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Where busy failures and successful writes are reported for the health check; set by dependency injection.</summary>
    internal ContactStoreBusyTracker? BusyTracker { get; init; }

    /// <inheritdoc />
    public async Task<ContactCluster> IdentifyAsync(IdentifyRequest request, CancellationToken cancellationToken = default)
    {
        var identifiers = Prepare(request);
        using var activity = IdentityReconciliationTelemetry.ActivitySource.StartActivity("IdentityReconciliation.Identify");

        // Fast path: most requests bring nothing new and need no write.
        var snapshot = await Observe(_store.FindClustersAsync(identifiers, cancellationToken)).ConfigureAwait(false);
        if (snapshot.Count > 0 && ContactPlanner.Plan(identifiers, snapshot, _timeProvider.GetUtcNow()).IsEmpty)
        {
            activity?.SetTag("identity_reconciliation.written", false);
            return ContactPlanner.Consolidate(snapshot)!;
        }

        ContactChangeSet? applied = null;
        var result = await Observe(_store.ReconcileAsync(
            identifiers,
            touched => applied = ContactPlanner.Plan(identifiers, touched, _timeProvider.GetUtcNow()),
            cancellationToken)).ConfigureAwait(false);
        BusyTracker?.ReportWriteSucceeded();

        var cluster = ContactPlanner.Consolidate(result)
            ?? throw new InvalidOperationException($"The contact store {_store.GetType().Name} returned no contact for a request it reconciled.");
        Report(applied, cluster, activity);
        return cluster;
    }

    /// <inheritdoc />
    public async Task<ContactCluster?> FindAsync(IdentifyRequest request, CancellationToken cancellationToken = default)
    {
        var identifiers = Prepare(request);
        var snapshot = await Observe(_store.FindClustersAsync(identifiers, cancellationToken)).ConfigureAwait(false);
        if (snapshot.Count == 0)
        {
            return null;
        }

        // Show what the person would look like, but write nothing and leave out what no contact has yet.
        var changes = ContactPlanner.Plan(identifiers, snapshot, _timeProvider.GetUtcNow());
        return ContactPlanner.Consolidate(changes.Updates.Count == 0 ? snapshot : changes.Apply(snapshot, insertedId: null));
    }

    private ContactIdentifiers Prepare(IdentifyRequest request, bool erasure = false)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return ContactPlanner.Validate(_normalizer.NormalizeEmail(request.Email), _normalizer.NormalizePhoneNumber(request.PhoneNumber));
        }
        catch (InvalidIdentifyRequestException ex)
        {
            IdentityReconciliationTelemetry.RequestsRejected.Add(1);
            if (erasure)
            {
                Log.ErasureRejected(_logger, ex.Message);
            }
            else
            {
                Log.RequestRejected(_logger, ex.Message);
            }

            throw;
        }
    }

    /// <summary>Reports a <see cref="ContactStoreBusyException"/> to the health check; free when the store answered synchronously.</summary>
    private Task<T> Observe<T>(Task<T> task) => BusyTracker is null || task.IsCompletedSuccessfully ? task : ObserveAsync(task, BusyTracker);

    private static async Task<T> ObserveAsync<T>(Task<T> task, ContactStoreBusyTracker tracker)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (ContactStoreBusyException)
        {
            tracker.ReportBusy();
            throw;
        }
    }

    private void Report(ContactChangeSet? applied, ContactCluster cluster, Activity? activity)
    {
        activity?.SetTag("identity_reconciliation.written", applied is { IsEmpty: false });
        activity?.SetTag("identity_reconciliation.primary_contact_id", cluster.PrimaryContactId);
        if (applied is null || applied.IsEmpty)
        {
            return;
        }

        if (applied.Insert is { } insert)
        {
            if (insert.LinkPrecedence == LinkPrecedence.Primary)
            {
                IdentityReconciliationTelemetry.ContactsCreated.Add(1, new KeyValuePair<string, object?>("link_precedence", "primary"));
                Log.PrimaryCreated(_logger, cluster.PrimaryContactId);
            }
            else
            {
                IdentityReconciliationTelemetry.ContactsCreated.Add(1, new KeyValuePair<string, object?>("link_precedence", "secondary"));
                Log.SecondaryCreated(_logger, cluster.SecondaryContactIds.Count > 0 ? cluster.SecondaryContactIds[^1] : 0, cluster.PrimaryContactId);
            }
        }

        if (applied.Updates.Count > 0)
        {
            IdentityReconciliationTelemetry.ClustersMerged.Add(1);
            Log.ClustersMerged(_logger, cluster.PrimaryContactId, applied.Updates.Count);
        }
    }
}
