namespace IdentityReconciliation;

// History, explanation and the change feed: read-only; the entries themselves are written by the store in the unit that
// commits each change (see IContactStore and ContactChangeFeed).
public sealed partial class IdentityReconciler
{
    /// <summary>The most entries one <see cref="GetChangesAsync"/> call returns.</summary>
    public const int MaxChangesPerRead = 10_000;

    /// <inheritdoc />
    public Task<IReadOnlyList<ContactChange>> GetChangesAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxCount, MaxChangesPerRead);
        return Observe(_store.GetChangesAsync(afterSequence, maxCount, cancellationToken));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ContactChange>> GetHistoryAsync(long contactId, CancellationToken cancellationToken = default) =>
        Observe(_store.GetHistoryAsync(contactId, cancellationToken));

    /// <inheritdoc />
    public async Task<ContactExplanation?> ExplainAsync(long contactId, long otherContactId, CancellationToken cancellationToken = default)
    {
        var person = await Observe(_store.LoadPersonAsync(contactId, cancellationToken)).ConfigureAwait(false);
        return person is null ? null : ContactExplainer.Explain(person, contactId, otherContactId);
    }
}
