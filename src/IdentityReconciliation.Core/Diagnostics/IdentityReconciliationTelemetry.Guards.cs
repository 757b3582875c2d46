using System.Diagnostics.Metrics;

namespace IdentityReconciliation.Diagnostics;

// The guards' instruments, on the package's one meter (kept in their own file).
public static partial class IdentityReconciliationTelemetry
{
    internal static readonly Counter<long> IdentifiersSetAside = Meter.CreateCounter<long>(
        "identity_reconciliation.identifiers.set_aside",
        "{identifier}",
        "Identifiers of identify requests that were not used to link or store, tagged by reason (blocked, email_limit, phone_number_limit) and identifier (email, phone_number).");
}
