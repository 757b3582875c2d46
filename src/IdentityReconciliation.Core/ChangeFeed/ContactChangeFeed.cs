namespace IdentityReconciliation;

/// <summary>
/// The change feed's rules, in one place and independent of storage: which <see cref="ContactChange"/> entries a committed
/// change set produces. Every <see cref="IContactStore"/> records these entries in the transaction that applies the change
/// set, and assigns their sequence numbers.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><description>A request (<see cref="ContactChangeSet"/>): one <see cref="ContactChangeKind.PersonsMerged"/> per demoted
/// primary, with the contacts re-pointed from it; a <see cref="ContactChangeKind.ContactRepointed"/> for any other re-pointed
/// contact; then <see cref="ContactChangeKind.PrimaryCreated"/> or <see cref="ContactChangeKind.SecondaryCreated"/> for the
/// inserted contact. A recorded link is merge evidence, not a change of grouping, and adds no entry.</description></item>
/// <item><description>An erasure (<see cref="ErasureChangeSet"/>): one <see cref="ContactChangeKind.ValuesErased"/> per contact
/// that lost a value or was deleted; one <see cref="ContactChangeKind.PersonSplit"/> per contact that became a primary, with
/// the contacts re-pointed to it; a <see cref="ContactChangeKind.ContactRepointed"/> for any other re-pointed contact.</description></item>
/// </list>
/// Entries never carry an email or a phone number. Their <see cref="ContactChange.Sequence"/> is 0 until a store assigns it.
/// </remarks>
public static class ContactChangeFeed
{
    /// <summary>Describes what a committed request changed.</summary>
    /// <param name="touched">The contacts the change set was planned from.</param>
    /// <param name="changes">The committed change set.</param>
    /// <param name="insertedId">The identifier the store assigned to <see cref="ContactChangeSet.Insert"/>; ignored when there is nothing to insert.</param>
    /// <returns>The entries to record, in order, with <see cref="ContactChange.Sequence"/> 0; empty when nothing changed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="touched"/> or <paramref name="changes"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The change set inserts a contact and <paramref name="insertedId"/> is not a positive identifier.</exception>
    public static IReadOnlyList<ContactChange> Describe(IReadOnlyList<Contact> touched, ContactChangeSet changes, long? insertedId)
    {
        ArgumentNullException.ThrowIfNull(touched);
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Insert is not null && insertedId is not > 0)
        {
            throw new ArgumentException("The change set inserts a contact: pass the identifier the store assigned to it.", nameof(insertedId));
        }

        if (changes.Insert is null && changes.Updates.Count == 0)
        {
            return [];
        }

        var entries = new List<ContactChange>(changes.Updates.Count + 1);
        if (changes.Updates.Count > 0)
        {
            // Small clusters (the common case) are searched in place; a large one gets a dictionary.
            var before = touched.Count > 16 ? touched.ToDictionary(static c => c.Id) : null;

            // A primary that becomes a secondary is a person that joined another one (usually one per request).
            List<(ContactUpdate Update, List<long> Related)>? demoted = null;
            foreach (var update in changes.Updates)
            {
                if (update.LinkPrecedence == LinkPrecedence.Secondary && Find(touched, before, update.Id) is { LinkPrecedence: LinkPrecedence.Primary })
                {
                    (demoted ??= []).Add((update, []));
                }
            }

            List<ContactUpdate>? repointed = null;
            foreach (var update in changes.Updates)
            {
                if (demoted is not null && demoted.Exists(d => d.Update.Id == update.Id))
                {
                    continue;
                }

                var merge = demoted is not null && Find(touched, before, update.Id)?.LinkedId is { } oldRoot
                    ? demoted.Find(d => d.Update.Id == oldRoot && d.Update.LinkedId == update.LinkedId)
                    : default;
                if (merge.Related is not null)
                {
                    merge.Related.Add(update.Id);
                }
                else
                {
                    (repointed ??= []).Add(update);
                }
            }

            if (demoted is not null)
            {
                demoted.Sort(static (a, b) => a.Update.Id.CompareTo(b.Update.Id));
                foreach (var (update, related) in demoted)
                {
                    related.Sort();
                    entries.Add(new ContactChange(0, update.UpdatedAt, ContactChangeKind.PersonsMerged, update.Id, update.LinkedId, related));
                }
            }

            foreach (var update in repointed ?? [])
            {
                entries.Add(new ContactChange(0, update.UpdatedAt, ContactChangeKind.ContactRepointed, update.Id, update.LinkedId ?? update.Id, []));
            }
        }

        if (changes.Insert is { } insert && insertedId is { } newId)
        {
            entries.Add(insert.LinkPrecedence == LinkPrecedence.Primary || insert.LinkedId is null
                ? new ContactChange(0, insert.CreatedAt, ContactChangeKind.PrimaryCreated, newId, newId, [])
                : new ContactChange(0, insert.CreatedAt, ContactChangeKind.SecondaryCreated, newId, insert.LinkedId, []));
        }

        return entries;
    }

    /// <summary>Describes what a committed erasure changed.</summary>
    /// <param name="scope">The scope the change set was planned from.</param>
    /// <param name="changes">The committed change set.</param>
    /// <param name="occurredAt">When the erasure was made (UTC): the time given to <see cref="ErasurePlanner.Plan"/>.</param>
    /// <returns>The entries to record, in order, with <see cref="ContactChange.Sequence"/> 0; empty when nothing changed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="scope"/> or <paramref name="changes"/> is <see langword="null"/>.</exception>
    public static IReadOnlyList<ContactChange> Describe(ErasureScope scope, ErasureChangeSet changes, DateTimeOffset occurredAt)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.DeletedContactIds.Count == 0 && changes.RemovedValues.Count == 0 && changes.Updates.Count == 0)
        {
            return [];
        }

        var after = new Dictionary<long, Contact>(scope.Contacts.Count);
        foreach (var contact in changes.ApplyTo(scope))
        {
            after[contact.Id] = contact;
        }

        // Values erased: a deleted contact has no primary any more; one that keeps a value reports its primary afterwards
        // (a soft-deleted contact, which is not in the scope's live contacts, keeps its own link).
        var erased = new SortedDictionary<long, ContactChange>();
        foreach (var id in changes.DeletedContactIds)
        {
            erased[id] = new ContactChange(0, occurredAt, ContactChangeKind.ValuesErased, id, null, []);
        }

        foreach (var removal in changes.RemovedValues)
        {
            var primary = after.TryGetValue(removal.Id, out var kept)
                ? kept.RootId
                : scope.DeletedContacts.FirstOrDefault(c => c.Id == removal.Id)?.RootId ?? removal.Id;
            erased.TryAdd(removal.Id, new ContactChange(0, removal.UpdatedAt, ContactChangeKind.ValuesErased, removal.Id, primary, []));
        }

        var entries = new List<ContactChange>(erased.Count + changes.Updates.Count);
        entries.AddRange(erased.Values);

        // Re-resolution: a contact that became a primary leads a person of its own, with the contacts re-pointed to it.
        var promoted = new SortedDictionary<long, (ContactUpdate Update, List<long> Related)>();
        foreach (var update in changes.Updates)
        {
            if (update.LinkedId is null)
            {
                promoted[update.Id] = (update, []);
            }
        }

        List<ContactUpdate>? repointed = null;
        foreach (var update in changes.Updates)
        {
            if (update.LinkedId is { } primary)
            {
                if (promoted.TryGetValue(primary, out var split))
                {
                    split.Related.Add(update.Id);
                }
                else
                {
                    (repointed ??= []).Add(update);
                }
            }
        }

        foreach (var (id, split) in promoted)
        {
            split.Related.Sort();
            entries.Add(new ContactChange(0, split.Update.UpdatedAt, ContactChangeKind.PersonSplit, id, id, split.Related));
        }

        foreach (var update in repointed ?? [])
        {
            entries.Add(new ContactChange(0, update.UpdatedAt, ContactChangeKind.ContactRepointed, update.Id, update.LinkedId, []));
        }

        return entries;
    }

    private static Contact? Find(IReadOnlyList<Contact> touched, Dictionary<long, Contact>? byId, long id)
    {
        if (byId is not null)
        {
            return byId.GetValueOrDefault(id);
        }

        foreach (var contact in touched)
        {
            if (contact.Id == id)
            {
                return contact;
            }
        }

        return null;
    }
}
