using System.Text;

namespace IdentityReconciliation;

/// <summary>
/// What one request changes in the store, as planned by <see cref="ContactPlanner.Plan"/>: at most one contact to insert,
/// the contacts whose link changes, and the merge evidence to record when the request joins two persons. A store applies
/// it atomically, in the same transaction in which it loaded the contacts the plan was made from.
/// </summary>
public sealed class ContactChangeSet
{
    /// <summary>The change set that changes nothing.</summary>
    public static ContactChangeSet Empty { get; } = new(null, []);

    /// <summary>Creates a change set.</summary>
    /// <param name="insert">The contact to insert, or <see langword="null"/>.</param>
    /// <param name="updates">The contacts to update.</param>
    public ContactChangeSet(NewContact? insert, IReadOnlyList<ContactUpdate> updates)
        : this(insert, updates, null)
    {
    }

    /// <summary>Creates a change set that may record merge evidence.</summary>
    /// <param name="insert">The contact to insert, or <see langword="null"/>.</param>
    /// <param name="updates">The contacts to update.</param>
    /// <param name="link">The merge evidence to record, or <see langword="null"/>.</param>
    public ContactChangeSet(NewContact? insert, IReadOnlyList<ContactUpdate> updates, ContactLink? link)
    {
        ArgumentNullException.ThrowIfNull(updates);
        Insert = insert;
        Updates = updates;
        Link = link;
    }

    /// <summary>The contact to insert, or <see langword="null"/>.</summary>
    public NewContact? Insert { get; }

    /// <summary>The contacts to update, in ascending identifier order.</summary>
    public IReadOnlyList<ContactUpdate> Updates { get; }

    /// <summary>
    /// The merge evidence to record in the same transaction: set when the request joins two persons and inserts no
    /// contact (which would itself hold both identifiers); otherwise <see langword="null"/>.
    /// </summary>
    public ContactLink? Link { get; }

    /// <summary>Whether the change set changes nothing.</summary>
    public bool IsEmpty => Insert is null && Updates.Count == 0 && Link is null;

    /// <summary>
    /// Returns the contacts the plan was made from with this change set applied: the updated links, and the inserted
    /// contact with the identifier the store assigned to it. Stores return this from <see cref="IContactStore.ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/>.
    /// </summary>
    /// <param name="touched">The contacts the plan was made from.</param>
    /// <param name="insertedId">The identifier assigned to <see cref="Insert"/>; ignored when there is nothing to insert.</param>
    /// <returns>The contacts after the change, in ascending identifier order.</returns>
    /// <exception cref="ArgumentException"><see cref="Insert"/> is set and <paramref name="insertedId"/> is not a positive identifier.</exception>
    public IReadOnlyList<Contact> ApplyTo(IReadOnlyList<Contact> touched, long? insertedId)
    {
        ArgumentNullException.ThrowIfNull(touched);
        if (Insert is not null && insertedId is not > 0)
        {
            throw new ArgumentException("The change set inserts a contact: pass the identifier the store assigned to it.", nameof(insertedId));
        }

        return Apply(touched, Insert is null ? null : insertedId);
    }

    /// <summary>The contacts with the updates applied, and the insert only when an identifier is given.</summary>
    internal IReadOnlyList<Contact> Apply(IReadOnlyList<Contact> touched, long? insertedId)
    {
        var result = new List<Contact>(touched.Count + 1);
        var byId = Updates.Count > 8 ? Updates.ToDictionary(static u => u.Id) : null;
        foreach (var contact in touched)
        {
            var update = byId is null ? FindUpdate(contact.Id) : byId.GetValueOrDefault(contact.Id);
            result.Add(update is null
                ? contact
                : contact with { LinkedId = update.LinkedId, LinkPrecedence = update.LinkPrecedence, UpdatedAt = update.UpdatedAt });
        }

        if (Insert is not null && insertedId is { } id)
        {
            result.Add(new Contact(id, Insert.PhoneNumber, Insert.Email, Insert.LinkedId, Insert.LinkPrecedence, Insert.CreatedAt, Insert.CreatedAt));
        }

        result.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return result;
    }

    private ContactUpdate? FindUpdate(long id)
    {
        foreach (var update in Updates)
        {
            if (update.Id == id)
            {
                return update;
            }
        }

        return null;
    }
}

/// <summary>A contact to insert. Its <c>updatedAt</c> equals <paramref name="CreatedAt"/>.</summary>
/// <param name="Email">The normalised email, or <see langword="null"/>.</param>
/// <param name="PhoneNumber">The normalised phone number, or <see langword="null"/>.</param>
/// <param name="LinkedId">The primary it links to, or <see langword="null"/> for a new primary.</param>
/// <param name="LinkPrecedence">Primary or secondary.</param>
/// <param name="CreatedAt">The creation time (UTC).</param>
/// <remarks><see cref="ToString"/> shows whether the contact has an email and a phone number, never the values.</remarks>
public sealed record NewContact(string? Email, string? PhoneNumber, long? LinkedId, LinkPrecedence LinkPrecedence, DateTimeOffset CreatedAt)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Identifiers(Email, PhoneNumber).Append(", LinkedId = ").Append(LinkedId).Append(", LinkPrecedence = ").Append(LinkPrecedence)
            .Instant("CreatedAt", CreatedAt);
        return true;
    }
}

/// <summary>A change to an existing contact's link. Email, phone number and creation time never change.</summary>
/// <param name="Id">The contact to change.</param>
/// <param name="LinkedId">Its new primary, or <see langword="null"/> when it becomes (or stays) primary.</param>
/// <param name="LinkPrecedence">Its new precedence.</param>
/// <param name="UpdatedAt">The new <c>updatedAt</c> (UTC).</param>
public sealed record ContactUpdate(long Id, long? LinkedId, LinkPrecedence LinkPrecedence, DateTimeOffset UpdatedAt);
