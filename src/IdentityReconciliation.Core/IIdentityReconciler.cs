namespace IdentityReconciliation;

/// <summary>
/// Links contacts that share an email or a phone number into one person and returns that person's consolidated view.
/// </summary>
/// <remarks>The rules are documented on <see cref="ContactPlanner"/>.</remarks>
public interface IIdentityReconciler
{
    /// <summary>
    /// Records the identifiers of a purchase and returns the consolidated view of the person they belong to:
    /// creates a primary contact when nothing matches, a secondary contact when the request brings new information,
    /// and merges two persons when the request joins them (the older primary stays primary).
    /// </summary>
    /// <param name="request">The email and/or phone number; at least one must be present.</param>
    /// <param name="cancellationToken">Cancels the call while it waits; a change that was committed is never rolled back.</param>
    /// <returns>The person's consolidated view after the request was applied.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// The guards of <see cref="IdentityReconciliationOptions"/> apply: a blocked identifier, or one that would take the
    /// person past a limit, is set aside and the request is resolved without it. <see cref="IdentifyDetailedAsync"/> says
    /// which.
    /// </remarks>
    /// <exception cref="InvalidIdentifyRequestException">The request has no identifier, one is malformed, or every identifier is blocked; nothing was written.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a change was committed.</exception>
    /// <exception cref="ContactStoreBusyException">The store was too busy to apply the request in time; nothing was written, and the request is worth retrying.</exception>
    Task<ContactCluster> IdentifyAsync(IdentifyRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Does exactly what <see cref="IdentifyAsync"/> does, and also reports what the call did: whether it created a primary
    /// or a secondary contact, merged persons (which ones) or changed nothing, and every identifier it set aside, with the reason.
    /// </summary>
    /// <param name="request">The email and/or phone number; at least one must be present.</param>
    /// <param name="cancellationToken">Cancels the call while it waits; a change that was committed is never rolled back.</param>
    /// <returns>The person's consolidated view and what the call did.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidIdentifyRequestException">The request has no identifier, one is malformed, or every identifier is blocked; nothing was written.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a change was committed.</exception>
    /// <exception cref="ContactStoreBusyException">The store was too busy to apply the request in time; nothing was written, and the request is worth retrying.</exception>
    Task<IdentifyResult> IdentifyDetailedAsync(IdentifyRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies a sequence of requests <b>in order</b>, many per transaction, and streams back each request's result in the same
    /// order: a back-fill of past purchases. The final state of the store is exactly the one that calling
    /// <see cref="IdentifyAsync"/> for each request in turn would give (same identifiers, links, precedences and timestamps
    /// for the same clock) when nothing else writes meanwhile.
    /// </summary>
    /// <param name="requests">The requests, read once, in order; it may be endless.</param>
    /// <param name="cancellationToken">Cancels the back-fill between transactions; committed results are still streamed first.</param>
    /// <returns>
    /// One <see cref="IdentifyManyResult"/> per request, in order (<see cref="IdentifyManyResult.Index"/> 0, 1, 2...). A bad row
    /// (<see langword="null"/>, no identifier, a malformed or a blocked one) yields an <see cref="IdentifyManyResult.Error"/> in
    /// its place, writes nothing, and never stops the back-fill. A result is streamed only once its request is committed.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="requests"/> is <see langword="null"/> (thrown by the call).</exception>
    /// <exception cref="OperationCanceledException">
    /// Thrown by the enumeration: <paramref name="cancellationToken"/> was cancelled. Every request whose result was streamed
    /// is applied; none after it is, in part or whole.
    /// </exception>
    /// <exception cref="ContactStoreBusyException">
    /// Thrown by the enumeration: the store was too busy. Every request whose result was streamed is applied, none after it is:
    /// resume with the request after the last <see cref="IdentifyManyResult.Index"/> received.
    /// </exception>
    /// <remarks>
    /// Requests are gathered into chunks of <see cref="IdentityReconciliationOptions.IdentifyManyChunkSize"/>, and the store
    /// applies a chunk with <see cref="IContactStore.ReconcileManyAsync"/> (see its contract), so a chunk's results are
    /// streamed together once it committed. The guards apply to each request as in <see cref="IdentifyAsync"/>. Any failure
    /// other than a bad row (the database, the store) ends the enumeration with that exception. The default implementation
    /// of this member calls <see cref="IdentifyDetailedAsync"/> once per request.
    /// </remarks>
    IAsyncEnumerable<IdentifyManyResult> IdentifyManyAsync(IAsyncEnumerable<IdentifyRequest> requests, CancellationToken cancellationToken = default) =>
        IdentifyManyOneByOne.RunAsync(this, requests, cancellationToken);

    /// <summary>
    /// Applies a sequence of requests in order, many per transaction, and streams back each request's result in the same order;
    /// see <see cref="IdentifyManyAsync(IAsyncEnumerable{IdentifyRequest}, CancellationToken)"/>.
    /// </summary>
    /// <param name="requests">The requests, read once, in order.</param>
    /// <param name="cancellationToken">Cancels the back-fill between transactions; committed results are still streamed first.</param>
    /// <returns>One <see cref="IdentifyManyResult"/> per request, in order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="requests"/> is <see langword="null"/> (thrown by the call).</exception>
    IAsyncEnumerable<IdentifyManyResult> IdentifyManyAsync(IEnumerable<IdentifyRequest> requests, CancellationToken cancellationToken = default) =>
        IdentifyManyAsync(IdentifyManyOneByOne.ToAsync(requests ?? throw new ArgumentNullException(nameof(requests))), cancellationToken);

    /// <summary>
    /// Looks up the person the identifiers belong to without writing anything.
    /// </summary>
    /// <param name="request">The email and/or phone number; at least one must be present.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>
    /// The consolidated view, or <see langword="null"/> when no contact matches. When the identifiers belong to two persons,
    /// the view is the merged one that <see cref="IdentifyAsync"/> would produce, but nothing is stored and an identifier
    /// that no contact has yet is not included. The guards apply as in <see cref="IdentifyAsync"/>: a blocked identifier never
    /// matches, and an identifier that would take the person past a limit is left out.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidIdentifyRequestException">The request has no identifier, one is malformed, or every identifier is blocked.</exception>
    /// <exception cref="ContactStoreBusyException">The store was too busy to answer in time.</exception>
    Task<ContactCluster?> FindAsync(IdentifyRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Erases an email and/or a phone number: removes it from every contact that holds it, live or soft-deleted, and from
    /// every recorded link; deletes a contact left with no identifier; and re-resolves what remains of each affected person
    /// (see <see cref="ErasurePlanner"/>). Atomic, and serial-equivalent with concurrent requests in every process sharing
    /// the store.
    /// </summary>
    /// <param name="request">
    /// The email and/or phone number to erase, normalised and validated like every request, except that an email may hold a
    /// character that shows nothing (a zero-width space, a soft hyphen...), so that such a value, stored by an earlier version
    /// of this package, can still be erased by value; at least one must be present.
    /// </param>
    /// <param name="cancellationToken">Cancels the call while it waits; an erasure that was committed is never rolled back.</param>
    /// <returns>The erased and changed contacts and the view of every person that remains; <see cref="ErasureResult.Nothing"/> when no contact or link held the values.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidIdentifyRequestException">The request has no identifier, or one is malformed; nothing was written.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the erasure was committed.</exception>
    Task<ErasureResult> EraseAsync(IdentifyRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Erases a whole person: every contact of the person that <paramref name="contactId"/> belongs to, every value they
    /// hold (wherever it is held), every soft-deleted contact linked to them, and every link holding one of their values.
    /// Atomic, and serial-equivalent with concurrent requests in every process sharing the store.
    /// </summary>
    /// <param name="contactId">Any live contact of the person (primary or secondary).</param>
    /// <param name="cancellationToken">Cancels the call while it waits; an erasure that was committed is never rolled back.</param>
    /// <returns>The erased and changed contacts; <see cref="ErasureResult.Nothing"/> when <paramref name="contactId"/> is not a live contact.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the erasure was committed.</exception>
    Task<ErasureResult> ErasePersonAsync(long contactId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads the change feed: every change the store committed (contacts created, persons merged, contacts re-pointed,
    /// values erased, persons split by an erasure), in commit order. Entries carry contact identifiers, never a value.
    /// </summary>
    /// <param name="afterSequence">The last sequence number the caller has handled; 0 to read from the beginning.</param>
    /// <param name="maxCount">The most entries to return, from 1 to 10,000.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>
    /// Up to <paramref name="maxCount"/> entries after <paramref name="afterSequence"/>, in sequence order; empty when there
    /// is nothing new. A caller that has read every entry up to sequence <c>N</c> never later finds a newly committed entry
    /// at or below <c>N</c>, whatever the number of processes sharing the store.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="afterSequence"/> is negative, or <paramref name="maxCount"/> is not between 1 and 10,000.</exception>
    /// <exception cref="ContactStoreBusyException">The store was too busy to answer in time.</exception>
    Task<IReadOnlyList<ContactChange>> GetChangesAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>The change-feed entries that concern the person <paramref name="contactId"/> belongs to now, oldest first.</summary>
    /// <param name="contactId">Any live contact of the person.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entries whose contact or primary is one of the person's contacts; empty when <paramref name="contactId"/> is not a live contact.</returns>
    /// <exception cref="ContactStoreBusyException">The store was too busy to answer in time.</exception>
    Task<IReadOnlyList<ContactChange>> GetHistoryAsync(long contactId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Explains why two contacts are one person: the shortest path of contacts from one to the other, with what joins each
    /// step (a shared email, a shared phone number, or a recorded merge link), computed from the current rows and links.
    /// </summary>
    /// <param name="contactId">A live contact.</param>
    /// <param name="otherContactId">Another live contact.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The explanation (it holds the contacts' values: the caller's own data), or <see langword="null"/> when the two are not one person or either is not a live contact.</returns>
    /// <exception cref="ContactStoreBusyException">The store was too busy to answer in time.</exception>
    Task<ContactExplanation?> ExplainAsync(long contactId, long otherContactId, CancellationToken cancellationToken = default);
}
