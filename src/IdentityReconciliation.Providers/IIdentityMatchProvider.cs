namespace IdentityReconciliation.Providers;

/// <summary>
/// Compares what a person says about themselves (name, address, date of birth) with what the mobile operator holds
/// for their phone number.
/// </summary>
/// <remarks>
/// Both <c>TelesignContactMatchClient</c> and <c>CmIdentityMatchClient</c> implement this interface; each one
/// registered through DI is also resolvable as an <see cref="IIdentityMatchProvider"/> (resolve
/// <c>IEnumerable&lt;IIdentityMatchProvider&gt;</c> when more than one is registered). A named registration is a keyed
/// service: <c>GetRequiredKeyedService&lt;IIdentityMatchProvider&gt;(name)</c> or <c>[FromKeyedServices(name)]</c>.
/// </remarks>
public interface IIdentityMatchProvider
{
    /// <summary>The provider's display name, as in <see cref="IdentityMatchResult.Provider"/>.</summary>
    string Name { get; }

    /// <summary>Asks the provider how well <paramref name="query"/> matches the operator's data for its phone number.</summary>
    /// <param name="query">The phone number and the personal details to compare.</param>
    /// <param name="cancellationToken">Cancels the call, including any wait for a retry or for the rate limit.</param>
    /// <returns>
    /// The per-field scores and the outcome. "No data", "out of coverage" and "not applicable" are outcomes, not
    /// exceptions.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The phone number is not a valid international number for this provider, or the query has no field to compare.
    /// </exception>
    /// <exception cref="IdentityMatchConfigurationException">The credentials or the account need fixing.</exception>
    /// <exception cref="IdentityMatchInvalidQueryException">The provider rejected the query as invalid.</exception>
    /// <exception cref="IdentityMatchProviderUnavailableException">
    /// The provider failed or did not answer, and the resilience policy did not (or may not, because the call may have been
    /// billed) retry it any more.
    /// </exception>
    /// <exception cref="IdentityMatchInvalidResponseException">The provider's answer could not be read.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<IdentityMatchResult> MatchAsync(IdentityMatchQuery query, CancellationToken cancellationToken = default);
}
