namespace IdentityReconciliation;

/// <summary>
/// Persistence for contacts. The reconciliation rules live in <see cref="ContactPlanner"/>; a store only loads the
/// clusters a request touches and applies the planned changes, atomically.
/// </summary>
/// <remarks>
/// <para>
/// The <em>touched clusters</em> of a request are all live (not soft-deleted) contacts whose email equals the request's
/// email or whose phone number equals the request's phone number, plus every live contact of the clusters they belong to:
/// the contacts whose <c>id</c> or <c>linkedId</c> is the root (<see cref="Contact.RootId"/>) of a matching contact.
/// Lookups must be indexed: the cost of a call must not grow with the size of the table.
/// </para>
/// <para>
/// <see cref="ReconcileAsync"/> is the unit of atomicity. It must behave as if no other write happened between loading the
/// touched clusters and committing the change set, whatever the number of application instances sharing the store:
/// for example by taking the database's write lock first (SQLite <c>BEGIN IMMEDIATE</c>), by locking the touched
/// identifiers and primaries in a fixed order, or by a serializable transaction retried on conflict.
/// </para>
/// <para>
/// When the database is too busy to serve a call in time (a lock held elsewhere beyond the store's timeout, no free
/// connection), a store throws <see cref="ContactStoreBusyException"/> having applied nothing, so that callers can retry
/// and health checks can tell a busy store from a broken one.
/// </para>
/// <para>Implementations must be thread-safe; they are registered as singletons.</para>
/// </remarks>
public interface IContactStore
{
    /// <summary>
    /// Loads the touched clusters of <paramref name="identifiers"/> without writing anything.
    /// </summary>
    /// <param name="identifiers">The validated identifiers.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The live contacts of the touched clusters, from one consistent snapshot, in ascending identifier order; empty when nothing matches.</returns>
    Task<IReadOnlyList<Contact>> FindClustersAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically loads the touched clusters of <paramref name="identifiers"/>, asks <paramref name="plan"/> for the
    /// changes, and applies them: the insert (assigning it a new, higher identifier) and the updates.
    /// </summary>
    /// <param name="identifiers">The validated identifiers.</param>
    /// <param name="plan">
    /// Turns the touched clusters, as loaded inside the atomic unit, into the changes to apply. It is pure and may be
    /// called more than once (for example when a store retries a transaction); only the change set of the call whose
    /// transaction commits is applied.
    /// </param>
    /// <param name="cancellationToken">Cancels the call while it waits for the store; once the change set is being committed it completes.</param>
    /// <returns>
    /// The touched contacts with the committed changes applied, as <see cref="ContactChangeSet.ApplyTo"/> computes them, in
    /// ascending identifier order.
    /// </returns>
    Task<IReadOnlyList<Contact>> ReconcileAsync(
        ContactIdentifiers identifiers,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default);
}
