namespace IdentityReconciliation;

/// <summary>
/// What an erasure is planned from, as a store loads it inside its atomic unit (see <see cref="IContactStore"/>): the
/// values to erase, the persons that hold them, the soft-deleted contacts that hold them, and the recorded links.
/// <see cref="ErasurePlanner.Plan"/> turns it into an <see cref="ErasureChangeSet"/>.
/// </summary>
public sealed class ErasureScope
{
    /// <summary>The scope of an erasure that finds nothing: no values, no contacts, no links.</summary>
    public static ErasureScope Empty { get; } = new([], [], null, [], [], []);

    /// <summary>Creates a scope.</summary>
    /// <param name="emails">The normalised emails to erase.</param>
    /// <param name="phoneNumbers">The normalised phone numbers to erase.</param>
    /// <param name="personRootId">For the erasure of a whole person, the root (<see cref="Contact.RootId"/>) of that person; otherwise <see langword="null"/>.</param>
    /// <param name="contacts">Every live contact of every affected person, in ascending identifier order.</param>
    /// <param name="deletedContacts">The soft-deleted contacts in scope, in ascending identifier order.</param>
    /// <param name="links">The recorded links in scope.</param>
    /// <exception cref="ArgumentNullException">A list is <see langword="null"/>.</exception>
    public ErasureScope(
        IReadOnlyList<string> emails,
        IReadOnlyList<string> phoneNumbers,
        long? personRootId,
        IReadOnlyList<Contact> contacts,
        IReadOnlyList<Contact> deletedContacts,
        IReadOnlyList<ContactLink> links)
    {
        ArgumentNullException.ThrowIfNull(emails);
        ArgumentNullException.ThrowIfNull(phoneNumbers);
        ArgumentNullException.ThrowIfNull(contacts);
        ArgumentNullException.ThrowIfNull(deletedContacts);
        ArgumentNullException.ThrowIfNull(links);
        Emails = emails;
        PhoneNumbers = phoneNumbers;
        PersonRootId = personRootId;
        Contacts = contacts;
        DeletedContacts = deletedContacts;
        Links = links;
    }

    /// <summary>The normalised emails to erase from every contact and link that holds them.</summary>
    public IReadOnlyList<string> Emails { get; }

    /// <summary>The normalised phone numbers to erase from every contact and link that holds them.</summary>
    public IReadOnlyList<string> PhoneNumbers { get; }

    /// <summary>
    /// For <see cref="IContactStore.ErasePersonAsync"/>, the root of the person erased whole: every contact whose
    /// <see cref="Contact.RootId"/> it is goes, with every soft-deleted contact linked to one of them. <see langword="null"/>
    /// for <see cref="IContactStore.EraseAsync"/>, and when the contact to erase was not found.
    /// </summary>
    public long? PersonRootId { get; }

    /// <summary>
    /// Every live contact of every affected person: the clusters that have a live contact holding one of the values, and
    /// the person erased whole. Re-resolution regroups exactly these contacts; nothing else changes.
    /// </summary>
    public IReadOnlyList<Contact> Contacts { get; }

    /// <summary>
    /// The soft-deleted contacts that hold one of the values and, for a person erased whole, those linked to one of its
    /// contacts (or to its root). They take no part in re-resolution: they lose the values, or go.
    /// </summary>
    public IReadOnlyList<Contact> DeletedContacts { get; }

    /// <summary>
    /// Every recorded link that holds one of the values, or an email or a phone number of one of <see cref="Contacts"/>:
    /// those that hold an erased value are deleted, the others join contacts during re-resolution.
    /// </summary>
    public IReadOnlyList<ContactLink> Links { get; }
}
