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
    Task<IdentifyResult> IdentifyDetailedAsync(IdentifyRequest request, CancellationToken cancellationToken = default);

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
    Task<ContactCluster?> FindAsync(IdentifyRequest request, CancellationToken cancellationToken = default);
}
