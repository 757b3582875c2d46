namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// Wraps a store to observe what each request changed (a new primary, a new secondary, a merge): the change set that
/// <see cref="IContactStore.ReconcileAsync"/> committed. An example of plugging a decorator in with
/// <c>.UseContactStore(...)</c>. Not for concurrent callers: <see cref="TakeLastChange"/> belongs to the last request.
/// </summary>
internal sealed class ChangeObservingContactStore(IContactStore inner) : IContactStore, IAsyncDisposable
{
    private ContactChangeSet? _lastCommitted;

    /// <summary>The change set the last request committed, or <see langword="null"/> when it wrote nothing; then forgets it.</summary>
    public ContactChangeSet? TakeLastChange()
    {
        var last = _lastCommitted;
        _lastCommitted = null;
        return last is { IsEmpty: false } ? last : null;
    }

    public Task<IReadOnlyList<Contact>> FindClustersAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken = default) =>
        inner.FindClustersAsync(identifiers, cancellationToken);

    public async Task<IReadOnlyList<Contact>> ReconcileAsync(
        ContactIdentifiers identifiers,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        // The plan may run more than once; only the change set of the call that committed counts.
        ContactChangeSet? planned = null;
        var result = await inner.ReconcileAsync(identifiers, touched => planned = plan(touched), cancellationToken);
        _lastCommitted = planned;
        return result;
    }

    public Task<IReadOnlyList<Contact>> EraseAsync(
        ContactIdentifiers identifiers,
        Func<ErasureScope, ErasureChangeSet> plan,
        CancellationToken cancellationToken = default) =>
        inner.EraseAsync(identifiers, plan, cancellationToken);

    public Task<IReadOnlyList<Contact>> ErasePersonAsync(
        long contactId,
        Func<ErasureScope, ErasureChangeSet> plan,
        CancellationToken cancellationToken = default) =>
        inner.ErasePersonAsync(contactId, plan, cancellationToken);

    public ValueTask DisposeAsync() => inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;
}
