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
    /// <exception cref="InvalidIdentifyRequestException">The request has no identifier, or one is malformed; nothing was written.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a change was committed.</exception>
    /// <exception cref="ContactStoreBusyException">The store was too busy to apply the request in time; nothing was written, and the request is worth retrying.</exception>
    Task<ContactCluster> IdentifyAsync(IdentifyRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Looks up the person the identifiers belong to without writing anything.
    /// </summary>
    /// <param name="request">The email and/or phone number; at least one must be present.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>
    /// The consolidated view, or <see langword="null"/> when no contact matches. When the identifiers belong to two persons,
    /// the view is the merged one that <see cref="IdentifyAsync"/> would produce, but nothing is stored and an identifier
    /// that no contact has yet is not included.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidIdentifyRequestException">The request has no identifier, or one is malformed.</exception>
    /// <exception cref="ContactStoreBusyException">The store was too busy to answer in time.</exception>
    Task<ContactCluster?> FindAsync(IdentifyRequest request, CancellationToken cancellationToken = default);
}
