namespace IdentityReconciliation;

/// <summary>
/// What one erasure changes in the store, as planned by <see cref="ErasurePlanner.Plan"/>: contacts to delete, values to
/// remove from contacts that keep another one, re-links of the live contacts that remain, and links to delete. A store
/// applies it atomically, in the same transaction in which it loaded the <see cref="ErasureScope"/> it was planned from.
/// </summary>
public sealed class ErasureChangeSet
{
    /// <summary>The change set that changes nothing.</summary>
    public static ErasureChangeSet Empty { get; } = new([], [], [], []);

    /// <summary>Creates a change set.</summary>
    /// <param name="deletedContactIds">The contacts to delete (their rows are removed, not soft-deleted).</param>
    /// <param name="removedValues">The values to remove from contacts that keep another one.</param>
    /// <param name="updates">The live contacts whose link changes.</param>
    /// <param name="deletedLinks">The recorded links to delete.</param>
    /// <exception cref="ArgumentNullException">A list is <see langword="null"/>.</exception>
    public ErasureChangeSet(
        IReadOnlyList<long> deletedContactIds,
        IReadOnlyList<ContactValueRemoval> removedValues,
        IReadOnlyList<ContactUpdate> updates,
        IReadOnlyList<ContactLink> deletedLinks)
        : this(deletedContactIds, removedValues, updates, deletedLinks, null)
    {
    }

    /// <summary>Creates a change set that knows when it was planned.</summary>
    /// <param name="deletedContactIds">The contacts to delete (their rows are removed, not soft-deleted).</param>
    /// <param name="removedValues">The values to remove from contacts that keep another one.</param>
    /// <param name="updates">The live contacts whose link changes.</param>
    /// <param name="deletedLinks">The recorded links to delete.</param>
    /// <param name="erasedAt">The time of the erasure (UTC), or <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException">A list is <see langword="null"/>.</exception>
    public ErasureChangeSet(
        IReadOnlyList<long> deletedContactIds,
        IReadOnlyList<ContactValueRemoval> removedValues,
        IReadOnlyList<ContactUpdate> updates,
        IReadOnlyList<ContactLink> deletedLinks,
        DateTimeOffset? erasedAt)
    {
        ArgumentNullException.ThrowIfNull(deletedContactIds);
        ArgumentNullException.ThrowIfNull(removedValues);
        ArgumentNullException.ThrowIfNull(updates);
        ArgumentNullException.ThrowIfNull(deletedLinks);
        DeletedContactIds = deletedContactIds;
        RemovedValues = removedValues;
        Updates = updates;
        DeletedLinks = deletedLinks;
        ErasedAt = erasedAt;
    }

    /// <summary>
    /// The time of the erasure (UTC), as given to <see cref="ErasurePlanner.Plan"/>: the time of its change-feed entries.
    /// <see langword="null"/> for <see cref="Empty"/> and for a change set created without it.
    /// </summary>
    public DateTimeOffset? ErasedAt { get; }

    /// <summary>The contacts to delete, live or soft-deleted, in ascending order: their rows are removed.</summary>
    public IReadOnlyList<long> DeletedContactIds { get; }

    /// <summary>The values to remove (set to null) from contacts that keep another value, in ascending identifier order.</summary>
    public IReadOnlyList<ContactValueRemoval> RemovedValues { get; }

    /// <summary>The live contacts whose link changes, in ascending identifier order. Email, phone number and creation time never change here.</summary>
    public IReadOnlyList<ContactUpdate> Updates { get; }

    /// <summary>The recorded links to delete, identified by their email and phone number.</summary>
    public IReadOnlyList<ContactLink> DeletedLinks { get; }

    /// <summary>Whether the change set changes nothing.</summary>
    public bool IsEmpty => DeletedContactIds.Count == 0 && RemovedValues.Count == 0 && Updates.Count == 0 && DeletedLinks.Count == 0;

    /// <summary>
    /// Returns the live contacts of <paramref name="scope"/> with this change set applied: without the deleted ones, with
    /// the removed values and the new links. Stores return this from <see cref="IContactStore.EraseAsync"/> and
    /// <see cref="IContactStore.ErasePersonAsync"/>.
    /// </summary>
    /// <param name="scope">The scope the change set was planned from.</param>
    /// <returns>What remains of the affected persons, in ascending identifier order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="scope"/> is <see langword="null"/>.</exception>
    public IReadOnlyList<Contact> ApplyTo(ErasureScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var deleted = DeletedContactIds.ToHashSet();
        var removals = RemovedValues.ToDictionary(static r => r.Id);
        var updates = Updates.ToDictionary(static u => u.Id);
        var result = new List<Contact>(scope.Contacts.Count);
        foreach (var contact in scope.Contacts)
        {
            if (deleted.Contains(contact.Id))
            {
                continue;
            }

            var changed = contact;
            if (removals.TryGetValue(contact.Id, out var removal))
            {
                changed = changed with
                {
                    Email = removal.Email ? null : changed.Email,
                    PhoneNumber = removal.PhoneNumber ? null : changed.PhoneNumber,
                    UpdatedAt = removal.UpdatedAt,
                };
            }

            if (updates.TryGetValue(contact.Id, out var update))
            {
                changed = changed with { LinkedId = update.LinkedId, LinkPrecedence = update.LinkPrecedence, UpdatedAt = update.UpdatedAt };
            }

            result.Add(changed);
        }

        result.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return result;
    }
}

/// <summary>Removes the email and/or the phone number of a contact that keeps another value.</summary>
/// <param name="Id">The contact.</param>
/// <param name="Email">Whether its email is removed.</param>
/// <param name="PhoneNumber">Whether its phone number is removed.</param>
/// <param name="UpdatedAt">The new <c>updatedAt</c> (UTC).</param>
public sealed record ContactValueRemoval(long Id, bool Email, bool PhoneNumber, DateTimeOffset UpdatedAt);
