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
/// <see cref="ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/> is the unit of atomicity. It must behave as if no other write happened between loading the
/// touched clusters and committing the change set, whatever the number of application instances sharing the store:
/// for example by taking the database's write lock first (SQLite <c>BEGIN IMMEDIATE</c>), by locking the touched
/// identifiers and primaries in a fixed order, or by a serializable transaction retried on conflict.
/// </para>
/// <para>
/// When the database is too busy to serve a call in time (a lock held elsewhere beyond the store's timeout, no free
/// connection), a store throws <see cref="ContactStoreBusyException"/> having applied nothing, so that callers can retry
/// and health checks can tell a busy store from a broken one.
/// </para>
/// <para>
/// <b>Merge evidence.</b> When the change set of <see cref="ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/> carries a <see cref="ContactChangeSet.Link"/>
/// (the request joined two persons without inserting a contact), the store records it in the same unit, keeping at most one
/// link per (email, phone number) pair. Re-resolution after an erasure depends on it.
/// </para>
/// <para>
/// <b>Erasure.</b> <see cref="EraseAsync"/> and <see cref="ErasePersonAsync"/> follow the same shape: inside one atomic unit
/// they load an <see cref="ErasureScope"/>, ask the plan delegate (<see cref="ErasurePlanner.Plan"/>) for an
/// <see cref="ErasureChangeSet"/>, and apply it. The scope, for a set of values to erase, is:
/// </para>
/// <list type="bullet">
/// <item><description><see cref="ErasureScope.Contacts"/>: every live contact of the touched clusters of each value (as
/// above, per value) and, for <see cref="ErasePersonAsync"/>, of the person itself; ascending identifier order.</description></item>
/// <item><description><see cref="ErasureScope.DeletedContacts"/>: every soft-deleted contact whose email or phone number is
/// one of the values and, for <see cref="ErasePersonAsync"/>, every soft-deleted contact whose <c>id</c> or <c>linkedId</c>
/// is the person's root or one of its contacts; ascending identifier order.</description></item>
/// <item><description><see cref="ErasureScope.Links"/>: every recorded link whose email is one of the values or the email of
/// a contact in <see cref="ErasureScope.Contacts"/>, or whose phone number is one of the values or the phone number of such
/// a contact.</description></item>
/// </list>
/// <para>
/// Applying the change set deletes the links it names, removes (not soft-deletes) the rows of the contacts it deletes, sets
/// the removed values to null with the new <c>updatedAt</c>, and applies the link updates to live contacts. An erasure must be
/// serial-equivalent with every <see cref="ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/> and every other erasure, in any process sharing the store: a
/// request racing an erasure sees the person either before or after it, never half-erased. A store should also make sure
/// the erased values do not linger in its files where it can (see the SQLite and PostgreSQL stores), and must never put a
/// value in a log message, an exception or telemetry.
/// </para>
/// <para>
/// <b>Change feed.</b> Every unit that changes something also appends, in the same transaction, the entries that
/// <see cref="ContactChangeFeed.Describe(IReadOnlyList{Contact}, ContactChangeSet, long?)"/> (a request) or
/// <see cref="ContactChangeFeed.Describe(ErasureScope, ErasureChangeSet, DateTimeOffset)"/> (an erasure) gives for the committed
/// change set, and assigns each a sequence number. A rolled-back unit leaves no entry. Sequence numbers must increase with
/// commit order across every process sharing the store: a reader that has read every entry up to <c>N</c> must never later
/// find a newly committed entry at or below <c>N</c>. A store serialises its writers and appends under that serialisation
/// (SQLite), or assigns numbers under a lock held until commit (PostgreSQL).
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
    /// <remarks>The change set's <see cref="ContactChangeSet.Link"/>, when set, is recorded in the same unit.</remarks>
    Task<IReadOnlyList<Contact>> ReconcileAsync(
        ContactIdentifiers identifiers,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/>,
    /// given the touched clusters that <see cref="FindClustersAsync"/> returned for the same identifiers just before: a
    /// store may plan from <paramref name="snapshot"/> and apply that plan in one step with taking its locks, provided it
    /// checks inside the atomic unit that the touched clusters still equal the snapshot (every contact and every value); when
    /// they do not, it must load them and plan again, exactly as the overload without a snapshot does. The result, the
    /// atomicity and the guarantees are those of that overload, whatever the snapshot holds. The default implementation
    /// ignores the snapshot.
    /// </summary>
    /// <param name="identifiers">The validated identifiers.</param>
    /// <param name="snapshot">
    /// The touched clusters as <see cref="FindClustersAsync"/> returned them (a hint: never trusted, only compared). Empty when
    /// nothing matched.
    /// </param>
    /// <param name="plan">
    /// As for the overload without a snapshot: pure, and may be called more than once (with the snapshot, then with the
    /// touched clusters as loaded when they changed); only the change set of the call whose transaction commits is applied.
    /// </param>
    /// <param name="cancellationToken">Cancels the call while it waits for the store; once the change set is being committed it completes.</param>
    /// <returns>
    /// The touched contacts with the committed changes applied, as <see cref="ContactChangeSet.ApplyTo"/> computes them, in
    /// ascending identifier order.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="snapshot"/> or <paramref name="plan"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="snapshot"/> holds a null contact.</exception>
    /// <remarks>
    /// <see cref="IdentityReconciler"/> calls this overload after its read-only lookup found that a request needs a write,
    /// so that a store which can check and write in one round trip (the PostgreSQL store) saves the round trip that loads
    /// the clusters again.
    /// </remarks>
    Task<IReadOnlyList<Contact>> ReconcileAsync(
        ContactIdentifiers identifiers,
        IReadOnlyList<Contact> snapshot,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        for (var i = 0; i < snapshot.Count; i++)
        {
            if (snapshot[i] is null)
            {
                throw new ArgumentException("The snapshot holds a null contact.", nameof(snapshot));
            }
        }

        return ReconcileAsync(identifiers, plan, cancellationToken);
    }

    /// <summary>
    /// Applies many requests <b>in order</b>, as <see cref="ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/> would apply them one after the other, and streams
    /// each request's result once it is committed. A store may commit several requests per transaction (the point of this
    /// method: a back-fill of millions of rows); the default implementation calls <see cref="ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/> once per request.
    /// </summary>
    /// <param name="identifiers">The validated identifiers of each request, in the order to apply them.</param>
    /// <param name="plan">
    /// Called with the position of a request in <paramref name="identifiers"/> and its touched clusters as they are after every
    /// earlier request of the call was applied (inside the atomic unit that applies it); returns that request's changes. Pure,
    /// and like the plan of <see cref="ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/> it may be called more than once for a request (a retried
    /// transaction plans its requests again, in order): only the change set of the call whose transaction commits is applied.
    /// </param>
    /// <param name="cancellationToken">Cancels the call while it waits for the store; results already committed are still streamed.</param>
    /// <returns>
    /// One result per request, in the order of <paramref name="identifiers"/>: the touched contacts with that request's committed
    /// changes applied, exactly as <see cref="ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/> would have returned them.
    /// </returns>
    /// <remarks>
    /// <para>The contract, which the store contract tests check:</para>
    /// <list type="bullet">
    /// <item><description><b>Order.</b> Request <c>i</c> is planned from the state after requests <c>0..i-1</c> of the call, and
    /// the final state (identifiers, links, precedences, timestamps, merge evidence, change-feed entries and their order) is the
    /// one that calling <see cref="ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/> for each request in turn would give when nothing else writes meanwhile.
    /// Inserted contacts get ascending identifiers in request order.</description></item>
    /// <item><description><b>Atomicity.</b> Each request is applied atomically, with the guarantees of <see cref="ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/>
    /// towards concurrent writers. A store may group consecutive requests into one atomic unit (a chunk); it yields a request's
    /// result only after the unit holding it committed. When the sequence throws (a database failure, a plan that throws,
    /// <see cref="ContactStoreBusyException"/>, cancellation), every request whose result was yielded before stays applied,
    /// and no later request is applied, in part or whole.</description></item>
    /// <item><description><b>Stopping early.</b> A consumer that stops enumerating leaves applied the requests already yielded
    /// and, in a store that groups requests, possibly the rest of the unit being yielded (it has committed).</description></item>
    /// </list>
    /// </remarks>
    IAsyncEnumerable<IReadOnlyList<Contact>> ReconcileManyAsync(
        IReadOnlyList<ContactIdentifiers> identifiers,
        Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default) =>
        ContactStoreBulk.ReconcileOneByOneAsync(this, identifiers, plan, cancellationToken);

    /// <summary>
    /// Atomically loads the erasure scope of the email and phone number in <paramref name="identifiers"/> (see the remarks on
    /// <see cref="IContactStore"/>), asks <paramref name="plan"/> for the changes, and applies them.
    /// </summary>
    /// <param name="identifiers">The validated identifiers to erase.</param>
    /// <param name="plan">
    /// Turns the scope, as loaded inside the atomic unit, into the changes to apply. It is pure and may be called more than
    /// once; only the change set of the call whose transaction commits is applied. The scope's <see cref="ErasureScope.Emails"/>
    /// and <see cref="ErasureScope.PhoneNumbers"/> hold the identifiers; <see cref="ErasureScope.PersonRootId"/> is null.
    /// </param>
    /// <param name="cancellationToken">Cancels the call while it waits for the store; once the change set is being committed it completes.</param>
    /// <returns>What remains of the affected persons: <see cref="ErasureChangeSet.ApplyTo"/> of the committed change set.</returns>
    Task<IReadOnlyList<Contact>> EraseAsync(
        ContactIdentifiers identifiers,
        Func<ErasureScope, ErasureChangeSet> plan,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically loads the erasure scope of the person that <paramref name="contactId"/> belongs to (the touched cluster of
    /// that live contact; every email and phone number of its live contacts is a value to erase), asks
    /// <paramref name="plan"/> for the changes, and applies them. When <paramref name="contactId"/> is not a live contact,
    /// the plan is given <see cref="ErasureScope.Empty"/>.
    /// </summary>
    /// <param name="contactId">Any contact of the person.</param>
    /// <param name="plan">
    /// Turns the scope, as loaded inside the atomic unit, into the changes to apply; pure, and may be called more than once.
    /// The scope's <see cref="ErasureScope.PersonRootId"/> is the person's root.
    /// </param>
    /// <param name="cancellationToken">Cancels the call while it waits for the store; once the change set is being committed it completes.</param>
    /// <returns>What remains of the affected persons: <see cref="ErasureChangeSet.ApplyTo"/> of the committed change set.</returns>
    Task<IReadOnlyList<Contact>> ErasePersonAsync(
        long contactId,
        Func<ErasureScope, ErasureChangeSet> plan,
        CancellationToken cancellationToken = default);

    /// <summary>Reads the change feed: the entries after <paramref name="afterSequence"/>, in sequence order.</summary>
    /// <param name="afterSequence">The last sequence number the caller has read; 0 to start from the beginning.</param>
    /// <param name="maxCount">The most entries to return; at least 1.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>Up to <paramref name="maxCount"/> committed entries with a sequence number above <paramref name="afterSequence"/>, ascending.</returns>
    Task<IReadOnlyList<ContactChange>> GetChangesAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads the entries that concern the person <paramref name="contactId"/> belongs to now: every entry whose
    /// <see cref="ContactChange.ContactId"/> or <see cref="ContactChange.PrimaryContactId"/> is one of the person's live
    /// contacts, in sequence order. Indexed: the cost grows with the person and its history, not with the feed.
    /// </summary>
    /// <param name="contactId">Any live contact of the person.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entries, oldest first; empty when <paramref name="contactId"/> is not a live contact.</returns>
    Task<IReadOnlyList<ContactChange>> GetHistoryAsync(long contactId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Loads the person <paramref name="contactId"/> belongs to, from one consistent snapshot: its live contacts and the
    /// recorded links whose email and phone number both belong to them.
    /// </summary>
    /// <param name="contactId">Any live contact of the person.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The person, or <see langword="null"/> when <paramref name="contactId"/> is not a live contact.</returns>
    Task<PersonGraph?> LoadPersonAsync(long contactId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes old entries of the change feed: those that occurred before <paramref name="olderThan"/>, and those beyond the
    /// newest <paramref name="keepNewest"/>. The newest entry is always kept, so that sequence numbers never go back.
    /// </summary>
    /// <remarks>
    /// A store may prune in several transactions, so that writes need not wait for the whole pruning (the SQLite store does):
    /// a pruning that is cancelled or fails part-way may have deleted some of the entries. Pruning is idempotent; the next
    /// one deletes the rest.
    /// </remarks>
    /// <param name="olderThan">Deletes entries that occurred before this time; <see langword="null"/> for no age limit.</param>
    /// <param name="keepNewest">Keeps at most this many of the newest entries (at least 1); <see langword="null"/> for no count limit.</param>
    /// <param name="cancellationToken">Cancels the call while it waits for the store.</param>
    /// <returns>The number of entries deleted.</returns>
    Task<long> PruneChangesAsync(DateTimeOffset? olderThan, long? keepNewest, CancellationToken cancellationToken = default);
}
