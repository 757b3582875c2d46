namespace IdentityReconciliation;

/// <summary>
/// The erasure rules, in one place and independent of storage, beside <see cref="ContactPlanner"/>. Every
/// <see cref="IContactStore"/> loads an <see cref="ErasureScope"/> inside its atomic unit and applies the
/// <see cref="ErasureChangeSet"/> planned here.
/// </summary>
/// <remarks>
/// <list type="number">
/// <item><description><b>Remove the values.</b> Each erased email and phone number is removed from every contact that holds
/// it, live or soft-deleted. A person erased whole (<see cref="ErasureScope.PersonRootId"/>) has every one of its values
/// erased, so every one of its contacts goes, with every soft-deleted contact linked to it.</description></item>
/// <item><description><b>Delete what is left empty.</b> A contact left with neither an email nor a phone number is deleted
/// (its row is removed). A recorded link that holds an erased value is deleted.</description></item>
/// <item><description><b>Re-resolve.</b> The remaining live contacts of the affected persons are grouped into connected
/// components: two contacts are connected when they share an email or a phone number, or when a remaining link joins a
/// contact holding its email to a contact holding its phone number. Each component becomes one person: its oldest contact
/// (earliest <c>createdAt</c>, ties by lower <c>id</c>) is the primary and every other contact links straight to
/// it.</description></item>
/// <item><description><b>Change only what changed.</b> <c>updatedAt</c> moves on every row that loses a value or whose link
/// changes, and on no other. Contacts outside the affected persons are never touched.</description></item>
/// </list>
/// </remarks>
public static class ErasurePlanner
{
    /// <summary>Plans an erasure (rules 1 to 4).</summary>
    /// <param name="scope">What the store loaded inside its atomic unit.</param>
    /// <param name="now">The time of the change (UTC).</param>
    /// <returns>The change set; <see cref="ErasureChangeSet.Empty"/> when nothing changes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="scope"/> is <see langword="null"/>.</exception>
    public static ErasureChangeSet Plan(ErasureScope scope, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var emails = new HashSet<string>(scope.Emails, StringComparer.Ordinal);
        var phones = new HashSet<string>(scope.PhoneNumbers, StringComparer.Ordinal);

        // Rule 1: a person erased whole loses every value it holds, and every contact of it goes.
        HashSet<long>? person = null;
        if (scope.PersonRootId is { } root)
        {
            person = [root];
            foreach (var contact in scope.Contacts)
            {
                if (contact.RootId == root)
                {
                    person.Add(contact.Id);
                    AddValue(emails, contact.Email);
                    AddValue(phones, contact.PhoneNumber);
                }
            }
        }

        var deleted = new List<long>();
        var removals = new List<ContactValueRemoval>();
        var remaining = new List<Contact>(scope.Contacts.Count);
        foreach (var contact in scope.Contacts)
        {
            if (person is not null && person.Contains(contact.Id))
            {
                deleted.Add(contact.Id);
            }
            else if (Erase(contact, emails, phones, now, deleted, removals) is { } kept)
            {
                remaining.Add(kept);
            }
        }

        foreach (var contact in scope.DeletedContacts)
        {
            if (person is not null && (person.Contains(contact.Id) || (contact.LinkedId is { } linkedId && person.Contains(linkedId))))
            {
                deleted.Add(contact.Id);
            }
            else
            {
                Erase(contact, emails, phones, now, deleted, removals);
            }
        }

        // Rule 2: links that hold an erased value go; the others are evidence for re-resolution.
        var deletedLinks = new List<ContactLink>();
        var keptLinks = new List<ContactLink>();
        foreach (var link in scope.Links)
        {
            (emails.Contains(link.Email) || phones.Contains(link.PhoneNumber) ? deletedLinks : keptLinks).Add(link);
        }

        // Rules 3 and 4.
        var updates = Resolve(remaining, keptLinks, now);

        if (deleted.Count == 0 && removals.Count == 0 && updates.Count == 0 && deletedLinks.Count == 0)
        {
            return ErasureChangeSet.Empty;
        }

        deleted.Sort();
        removals.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        updates.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return new ErasureChangeSet(deleted.Distinct().ToArray(), removals, updates, deletedLinks, now);
    }

    /// <summary>Builds the result of an erasure from the change set a store committed and what it returned.</summary>
    /// <param name="changes">The committed change set.</param>
    /// <param name="remaining">The live contacts of the affected persons after the change, as the store returned them.</param>
    /// <returns>The erased and changed contact identifiers and the view of every remaining person.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The remaining contacts do not form valid clusters.</exception>
    public static ErasureResult ToResult(ErasureChangeSet changes, IReadOnlyList<Contact> remaining)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(remaining);
        if (changes.IsEmpty && remaining.Count == 0)
        {
            return ErasureResult.Nothing;
        }

        var erased = changes.DeletedContactIds.Distinct().Order().ToArray();
        var changed = changes.RemovedValues.Select(static r => r.Id)
            .Concat(changes.Updates.Select(static u => u.Id))
            .Except(erased)
            .Distinct()
            .Order()
            .ToArray();
        var persons = remaining
            .GroupBy(static c => c.RootId)
            .Select(static g => ContactPlanner.Consolidate(g.OrderBy(static c => c.Id).ToArray())!)
            .OrderBy(static p => p.PrimaryContactId)
            .ToArray();
        return new ErasureResult(erased, changed, persons);
    }

    /// <summary>Removes the erased values from one contact: it goes when nothing is left, else it may lose a value.</summary>
    private static Contact? Erase(Contact contact, HashSet<string> emails, HashSet<string> phones, DateTimeOffset now, List<long> deleted, List<ContactValueRemoval> removals)
    {
        var removeEmail = contact.Email is { } email && emails.Contains(email);
        var removePhone = contact.PhoneNumber is { } phone && phones.Contains(phone);
        var keptEmail = removeEmail ? null : contact.Email;
        var keptPhone = removePhone ? null : contact.PhoneNumber;
        if (keptEmail is null && keptPhone is null)
        {
            deleted.Add(contact.Id);
            return null;
        }

        if (!removeEmail && !removePhone)
        {
            return contact;
        }

        removals.Add(new ContactValueRemoval(contact.Id, removeEmail, removePhone, now));
        return contact with { Email = keptEmail, PhoneNumber = keptPhone, UpdatedAt = now };
    }

    /// <summary>Groups the remaining contacts into connected components and links each straight to its oldest contact.</summary>
    private static List<ContactUpdate> Resolve(List<Contact> contacts, List<ContactLink> links, DateTimeOffset now)
    {
        var parent = new int[contacts.Count];
        for (var i = 0; i < parent.Length; i++)
        {
            parent[i] = i;
        }

        int Find(int i)
        {
            while (parent[i] != i)
            {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }

            return i;
        }

        void Union(int a, int b)
        {
            var (ra, rb) = (Find(a), Find(b));
            if (ra != rb)
            {
                parent[Math.Max(ra, rb)] = Math.Min(ra, rb);
            }
        }

        var byEmail = new Dictionary<string, int>(StringComparer.Ordinal);
        var byPhone = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < contacts.Count; i++)
        {
            if (contacts[i].Email is { } email && !byEmail.TryAdd(email, i))
            {
                Union(byEmail[email], i);
            }

            if (contacts[i].PhoneNumber is { } phone && !byPhone.TryAdd(phone, i))
            {
                Union(byPhone[phone], i);
            }
        }

        foreach (var link in links)
        {
            if (byEmail.TryGetValue(link.Email, out var a) && byPhone.TryGetValue(link.PhoneNumber, out var b))
            {
                Union(a, b);
            }
        }

        var oldest = new Dictionary<int, Contact>();
        for (var i = 0; i < contacts.Count; i++)
        {
            var component = Find(i);
            if (!oldest.TryGetValue(component, out var current) || IsOlder(contacts[i], current))
            {
                oldest[component] = contacts[i];
            }
        }

        var updates = new List<ContactUpdate>();
        for (var i = 0; i < contacts.Count; i++)
        {
            var contact = contacts[i];
            var primary = oldest[Find(i)];
            var linkedId = primary.Id == contact.Id ? (long?)null : primary.Id;
            var precedence = linkedId is null ? LinkPrecedence.Primary : LinkPrecedence.Secondary;
            if (contact.LinkedId != linkedId || contact.LinkPrecedence != precedence)
            {
                updates.Add(new ContactUpdate(contact.Id, linkedId, precedence, now));
            }
        }

        return updates;
    }

    private static bool IsOlder(Contact a, Contact b) => a.CreatedAt < b.CreatedAt || (a.CreatedAt == b.CreatedAt && a.Id < b.Id);

    private static void AddValue(HashSet<string> values, string? value)
    {
        if (value is not null)
        {
            values.Add(value);
        }
    }
}
