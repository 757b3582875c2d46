using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Sqlite;

// ReconcileManyAsync: the whole call is one operation of the writer's queue (SqliteWriter), so it serialises with the
// other writes of this process and, through BEGIN IMMEDIATE, with those of other processes. In its transaction each
// request is applied in order exactly as a lone request is (the same load, plan, writes and change-feed entries), and
// the results are yielded once the transaction committed.
public sealed partial class SqliteContactStore
{
    /// <inheritdoc />
    /// <remarks>
    /// The store applies the whole call in one transaction of its writer and yields the results once it committed: when the
    /// sequence throws (a plan that throws, a database failure, <see cref="ContactStoreBusyException"/>), nothing of the call
    /// was applied. Pass chunks of a few hundred to a few thousand requests: the writer applies no other request meanwhile.
    /// </remarks>
    /// <exception cref="ContactStoreSchemaException">The database's contact schema is newer than this package understands.</exception>
    public IAsyncEnumerable<IReadOnlyList<Contact>> ReconcileManyAsync(
        IReadOnlyList<ContactIdentifiers> identifiers,
        Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifiers);
        ArgumentNullException.ThrowIfNull(plan);
        return ReconcileManyCoreAsync(identifiers, plan, cancellationToken);
    }

    private async IAsyncEnumerable<IReadOnlyList<Contact>> ReconcileManyCoreAsync(
        IReadOnlyList<ContactIdentifiers> identifiers,
        Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (identifiers.Count == 0)
        {
            yield break;
        }

        var results = await ApplyChunkAsync(identifiers, plan, cancellationToken).ConfigureAwait(false);
        foreach (var result in results)
        {
            yield return result;
        }
    }

    private async Task<IReadOnlyList<Contact>[]> ApplyChunkAsync(
        IReadOnlyList<ContactIdentifiers> identifiers,
        Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken)
    {
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await GetWriter().EnqueueChunkAsync(identifiers, plan, cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (IsBusy(ex))
        {
            throw Busy(ex);
        }
    }
}
