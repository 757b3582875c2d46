namespace IdentityReconciliation.Tests.Support;

/// <summary>
/// A hand-written in-memory store: the simplest correct implementation of the contract, used to test the reconciler
/// without a database and to show that the contract tests hold for more than one store.
/// </summary>
public sealed class InMemoryContactStore : IContactStore
{
    private readonly object _gate = new();
    private readonly List<Contact> _contacts = [];
    private readonly List<ContactLink> _links = [];
    private readonly List<ContactChange> _feed = [];
    private long _lastId;
    private long _lastSequence;

    public IReadOnlyList<Contact> Snapshot()
    {
        lock (_gate)
        {
            return [.. _contacts];
        }
    }

    public IReadOnlyList<ContactLink> Links()
    {
        lock (_gate)
        {
            return [.. _links];
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
                id = ++_lastId; // never reused, even after an erasure deleted the newest contact
                _contacts.Add(new Contact(id.Value, insert.PhoneNumber, insert.Email, insert.LinkedId, insert.LinkPrecedence, insert.CreatedAt, insert.CreatedAt));
            }

            foreach (var update in changes.Updates)
            {
                var index = _contacts.FindIndex(c => c.Id == update.Id);
                _contacts[index] = _contacts[index] with { LinkedId = update.LinkedId, LinkPrecedence = update.LinkPrecedence, UpdatedAt = update.UpdatedAt };
            }

            if (changes.Link is { } link && !_links.Exists(l => l.Email == link.Email && l.PhoneNumber == link.PhoneNumber))
            {
                _links.Add(link);
            }

            Append(ContactChangeFeed.Describe(touched, changes, id));

            return Task.FromResult(changes.ApplyTo(touched, id));
        }
    }

    public Task<IReadOnlyList<Contact>> EraseAsync(ContactIdentifiers identifiers, Func<ErasureScope, ErasureChangeSet> plan, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var emails = identifiers.Email is { } e ? new[] { e } : [];
            var phones = identifiers.PhoneNumber is { } p ? new[] { p } : [];
            return Task.FromResult(Erase(Scope(emails, phones, null), plan));
        }
    }

    public Task<IReadOnlyList<Contact>> ErasePersonAsync(long contactId, Func<ErasureScope, ErasureChangeSet> plan, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var contact = _contacts.Find(c => c.Id == contactId && c.DeletedAt is null);
            if (contact is null)
            {
                return Task.FromResult(Erase(ErasureScope.Empty, plan));
            }

            var person = Live().Where(c => c.RootId == contact.RootId || c.Id == contact.RootId).ToList();
            var emails = person.Select(c => c.Email).OfType<string>().Distinct().ToArray();
            var phones = person.Select(c => c.PhoneNumber).OfType<string>().Distinct().ToArray();
            return Task.FromResult(Erase(Scope(emails, phones, contact.RootId), plan));
        }
    }

    private ErasureScope Scope(string[] emails, string[] phones, long? personRoot)
    {
        var live = Live();
        var roots = live.Where(c => (c.Email is { } e && emails.Contains(e)) || (c.PhoneNumber is { } p && phones.Contains(p))).Select(c => c.RootId).ToHashSet();
        if (personRoot is { } root)
        {
            roots.Add(root);
        }

        var contacts = live.Where(c => roots.Contains(c.Id) || (c.LinkedId is { } l && roots.Contains(l))).OrderBy(c => c.Id).ToList();
        var personIds = personRoot is { } r ? contacts.Where(c => c.RootId == r).Select(c => c.Id).Append(r).ToHashSet() : [];
        var deleted = _contacts
            .Where(c => c.DeletedAt is not null)
            .Where(c => (c.Email is { } e && emails.Contains(e)) || (c.PhoneNumber is { } p && phones.Contains(p))
                || personIds.Contains(c.Id) || (c.LinkedId is { } l && personIds.Contains(l)))
            .OrderBy(c => c.Id)
            .ToList();
        var linkEmails = emails.Concat(contacts.Select(c => c.Email).OfType<string>()).ToHashSet();
        var linkPhones = phones.Concat(contacts.Select(c => c.PhoneNumber).OfType<string>()).ToHashSet();
        var links = _links.Where(l => linkEmails.Contains(l.Email) || linkPhones.Contains(l.PhoneNumber)).ToList();
        return new ErasureScope(emails, phones, personRoot, contacts, deleted, links);
    }

    private IReadOnlyList<Contact> Erase(ErasureScope scope, Func<ErasureScope, ErasureChangeSet> plan)
    {
        var changes = plan(scope);
        var at = changes.ErasedAt ?? changes.RemovedValues.Select(r => r.UpdatedAt).Concat(changes.Updates.Select(u => u.UpdatedAt)).DefaultIfEmpty(DateTimeOffset.UtcNow).Max();
        Append(ContactChangeFeed.Describe(scope, changes, at));
        _links.RemoveAll(l => changes.DeletedLinks.Any(d => d.Email == l.Email && d.PhoneNumber == l.PhoneNumber));
        _contacts.RemoveAll(c => changes.DeletedContactIds.Contains(c.Id));
        foreach (var removal in changes.RemovedValues)
        {
            var index = _contacts.FindIndex(c => c.Id == removal.Id);
            _contacts[index] = _contacts[index] with
            {
                Email = removal.Email ? null : _contacts[index].Email,
                PhoneNumber = removal.PhoneNumber ? null : _contacts[index].PhoneNumber,
                UpdatedAt = removal.UpdatedAt,
            };
        }

        foreach (var update in changes.Updates)
        {
            var index = _contacts.FindIndex(c => c.Id == update.Id);
            _contacts[index] = _contacts[index] with { LinkedId = update.LinkedId, LinkPrecedence = update.LinkPrecedence, UpdatedAt = update.UpdatedAt };
        }

        return changes.ApplyTo(scope);
    }

    public Task<IReadOnlyList<ContactChange>> GetChangesAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<ContactChange>>(_feed.Where(c => c.Sequence > afterSequence).Take(maxCount).ToList());
        }
    }

    public Task<IReadOnlyList<ContactChange>> GetHistoryAsync(long contactId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var person = Person(contactId);
            return Task.FromResult<IReadOnlyList<ContactChange>>(person.Count == 0
                ? []
                : _feed.Where(c => person.Contains(c.ContactId) || (c.PrimaryContactId is { } p && person.Contains(p))).ToList());
        }
    }

    public Task<PersonGraph?> LoadPersonAsync(long contactId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var person = Person(contactId);
            if (person.Count == 0)
            {
                return Task.FromResult<PersonGraph?>(null);
            }

            var contacts = Live().Where(c => person.Contains(c.Id)).OrderBy(c => c.Id).ToList();
            var emails = contacts.Select(c => c.Email).OfType<string>().ToHashSet();
            var phones = contacts.Select(c => c.PhoneNumber).OfType<string>().ToHashSet();
            return Task.FromResult<PersonGraph?>(new PersonGraph(contacts, _links.Where(l => emails.Contains(l.Email) && phones.Contains(l.PhoneNumber)).ToList()));
        }
    }

    public Task<long> PruneChangesAsync(DateTimeOffset? olderThan, long? keepNewest, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var before = _feed.Count;
            var newest = _feed.Count == 0 ? 0 : _feed[^1].Sequence;
            _feed.RemoveAll(c => c.Sequence != newest && olderThan is { } t && c.OccurredAt < t);
            if (keepNewest is { } keep && _feed.Count > keep)
            {
                _feed.RemoveRange(0, _feed.Count - (int)Math.Max(keep, 1));
            }

            return Task.FromResult((long)(before - _feed.Count));
        }
    }

    private void Append(IReadOnlyList<ContactChange> entries)
    {
        foreach (var entry in entries)
        {
            _feed.Add(entry with { Sequence = ++_lastSequence });
        }
    }

    private HashSet<long> Person(long contactId)
    {
        var contact = _contacts.Find(c => c.Id == contactId && c.DeletedAt is null);
        return contact is null ? [] : Live().Where(c => c.RootId == contact.RootId).Select(c => c.Id).ToHashSet();
    }

    private List<Contact> Live() => _contacts.Where(c => c.DeletedAt is null).ToList();

    private IReadOnlyList<Contact> Touched(ContactIdentifiers identifiers)
    {
        var live = Live();
        var roots = live
            .Where(c => (identifiers.Email is not null && c.Email == identifiers.Email) || (identifiers.PhoneNumber is not null && c.PhoneNumber == identifiers.PhoneNumber))
            .Select(c => c.RootId)
            .ToHashSet();
        return live.Where(c => roots.Contains(c.Id) || (c.LinkedId is { } l && roots.Contains(l))).OrderBy(c => c.Id).ToList();
    }
}
