using System.Diagnostics;
using IdentityReconciliation.Diagnostics;

namespace IdentityReconciliation;

// Erasure: always planned inside the store's atomic unit (there is no read-only fast path: even a value that no live
// contact holds may linger in a soft-deleted contact or a link). Telemetry carries counts and identifiers, never a value.
public sealed partial class IdentityReconciler
{
    /// <inheritdoc />
    public async Task<ErasureResult> EraseAsync(IdentifyRequest request, CancellationToken cancellationToken = default)
    {
        var identifiers = Validate(request, erasure: true);
        using var activity = IdentityReconciliationTelemetry.ActivitySource.StartActivity("IdentityReconciliation.Erase");

        ErasureChangeSet? applied = null;
        var remaining = await Observe(_store.EraseAsync(
            identifiers,
            scope => applied = ErasurePlanner.Plan(scope, _timeProvider.GetUtcNow()),
            cancellationToken)).ConfigureAwait(false);
        BusyTracker?.ReportWriteSucceeded();

        return Report(applied, remaining, activity);
    }

    /// <inheritdoc />
    public async Task<ErasureResult> ErasePersonAsync(long contactId, CancellationToken cancellationToken = default)
    {
        using var activity = IdentityReconciliationTelemetry.ActivitySource.StartActivity("IdentityReconciliation.ErasePerson");
        activity?.SetTag("identity_reconciliation.contact_id", contactId);

        ErasureChangeSet? applied = null;
        var remaining = await Observe(_store.ErasePersonAsync(
            contactId,
            scope => applied = ErasurePlanner.Plan(scope, _timeProvider.GetUtcNow()),
            cancellationToken)).ConfigureAwait(false);
        BusyTracker?.ReportWriteSucceeded();

        return Report(applied, remaining, activity);
    }

    private ErasureResult Report(ErasureChangeSet? applied, IReadOnlyList<Contact> remaining, Activity? activity)
    {
        var result = ErasurePlanner.ToResult(applied ?? ErasureChangeSet.Empty, remaining);
        activity?.SetTag("identity_reconciliation.written", applied is { IsEmpty: false });
        activity?.SetTag("identity_reconciliation.erased_count", result.ErasedContactIds.Count);
        activity?.SetTag("identity_reconciliation.changed_count", result.ChangedContactIds.Count);
        activity?.SetTag("identity_reconciliation.person_count", result.Persons.Count);
        IdentityReconciliationTelemetry.Erasures.Add(1);
        if (result.ErasedContactIds.Count > 0)
        {
            IdentityReconciliationTelemetry.ContactsErased.Add(result.ErasedContactIds.Count);
        }

        if (applied is { IsEmpty: false })
        {
            Log.Erased(_logger, result.ErasedContactIds.Count, result.ChangedContactIds.Count, result.Persons.Count);
        }
        else
        {
            Log.ErasedNothing(_logger);
        }

        return result;
    }
}
