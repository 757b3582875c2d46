using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace IdentityReconciliation.Diagnostics;

/// <summary>The names of this package's <see cref="ActivitySource"/> and <see cref="Meter"/>, for telemetry subscriptions.</summary>
public static partial class IdentityReconciliationTelemetry
{
    /// <summary>The name of the activity source and of the meter: <c>IdentityReconciliation</c>.</summary>
    public const string Name = "IdentityReconciliation";

    internal static readonly ActivitySource ActivitySource = new(Name);

    internal static readonly Meter Meter = new(Name);

    internal static readonly Counter<long> ContactsCreated = Meter.CreateCounter<long>(
        "identity_reconciliation.contacts.created", "{contact}", "Contacts inserted, tagged by link precedence.");

    internal static readonly Counter<long> ClustersMerged = Meter.CreateCounter<long>(
        "identity_reconciliation.clusters.merged", "{merge}", "Primaries demoted because a request joined their cluster to an older one.");

    internal static readonly Counter<long> RequestsRejected = Meter.CreateCounter<long>(
        "identity_reconciliation.requests.rejected", "{request}", "Requests rejected as invalid.");

    internal static readonly Counter<long> Erasures = Meter.CreateCounter<long>(
        "identity_reconciliation.erasures", "{erasure}", "Erasures committed (EraseAsync and ErasePersonAsync), including those that found nothing.");

    internal static readonly Counter<long> ContactsErased = Meter.CreateCounter<long>(
        "identity_reconciliation.contacts.erased", "{contact}", "Contacts deleted by erasures.");
}
