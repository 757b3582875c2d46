namespace IdentityReconciliation.Tests.Support;

/// <summary>
/// A hand-written in-memory store: the simplest correct implementation of the contract, used to test the reconciler
/// without a database and to show that the contract tests hold for more than one store.
/// </summary>
public sealed class InMemoryContactStore : IContactStore
{
    private readonly object _gate = new();
    private readonly List<Contact> _contacts = [];

    public IReadOnlyList<Contact> Snapshot()
    {
        lock (_gate)
        {
            return [.. _contacts];
        }
    }

    public void Replace(Contact contact)
    {
        lock (_gate)
        {
            _contacts[_contacts.FindIndex(c => c.Id == contact.Id)] = contact;
        }
    }

    public Task<IReadOnlyList<Contact>> FindClustersAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return Task.FromResult(Touched(identifiers));
        }
    }

    public Task<IReadOnlyList<Contact>> ReconcileAsync(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var touched = Touched(identifiers);
            var changes = plan(touched);
            long? id = null;
            if (changes.Insert is { } insert)
            {
                id = _contacts.Count == 0 ? 1 : _contacts.Max(c => c.Id) + 1;
                _contacts.Add(new Contact(id.Value, insert.PhoneNumber, insert.Email, insert.LinkedId, insert.LinkPrecedence, insert.CreatedAt, insert.CreatedAt));
            }

            foreach (var update in changes.Updates)
            {
                var index = _contacts.FindIndex(c => c.Id == update.Id);
                _contacts[index] = _contacts[index] with { LinkedId = update.LinkedId, LinkPrecedence = update.LinkPrecedence, UpdatedAt = update.UpdatedAt };
            }

            return Task.FromResult(changes.ApplyTo(touched, id));
        }
    }

    private IReadOnlyList<Contact> Touched(ContactIdentifiers identifiers)
    {
        var live = _contacts.Where(c => c.DeletedAt is null).ToList();
        var roots = live
            .Where(c => (identifiers.Email is not null && c.Email == identifiers.Email) || (identifiers.PhoneNumber is not null && c.PhoneNumber == identifiers.PhoneNumber))
            .Select(c => c.RootId)
            .ToHashSet();
        return live.Where(c => roots.Contains(c.Id) || (c.LinkedId is { } l && roots.Contains(l))).OrderBy(c => c.Id).ToList();
    }
}
