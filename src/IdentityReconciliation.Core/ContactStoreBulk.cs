using System.Runtime.CompilerServices;

namespace IdentityReconciliation;

/// <summary>The default implementation of <see cref="IContactStore.ReconcileManyAsync"/>: one <see cref="IContactStore.ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/> per request.</summary>
internal static class ContactStoreBulk
{
    public static IAsyncEnumerable<IReadOnlyList<Contact>> ReconcileOneByOneAsync(
        IContactStore store,
        IReadOnlyList<ContactIdentifiers> identifiers,
        Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identifiers);
        ArgumentNullException.ThrowIfNull(plan);
        return Iterate(store, identifiers, plan, cancellationToken);

        static async IAsyncEnumerable<IReadOnlyList<Contact>> Iterate(
            IContactStore store,
            IReadOnlyList<ContactIdentifiers> identifiers,
            Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            for (var i = 0; i < identifiers.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var index = i;
                yield return await store.ReconcileAsync(identifiers[i], touched => plan(index, touched), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
