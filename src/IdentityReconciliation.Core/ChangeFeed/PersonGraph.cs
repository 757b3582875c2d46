namespace IdentityReconciliation;

/// <summary>
/// One person as a store holds it now, for <see cref="IIdentityReconciler.ExplainAsync"/>: its live contacts and the
/// recorded links (merge evidence) between them. Loaded by <see cref="IContactStore.LoadPersonAsync"/>.
/// </summary>
/// <remarks>It holds personal data (the contacts' values): it is the caller's own data, and is never logged.</remarks>
public sealed class PersonGraph
{
    /// <summary>Creates a person graph.</summary>
    /// <param name="contacts">The person's live contacts, in ascending identifier order.</param>
    /// <param name="links">Every recorded link whose email one of the contacts holds and whose phone number one of them holds.</param>
    /// <exception cref="ArgumentNullException">A list is <see langword="null"/>.</exception>
    public PersonGraph(IReadOnlyList<Contact> contacts, IReadOnlyList<ContactLink> links)
    {
        ArgumentNullException.ThrowIfNull(contacts);
        ArgumentNullException.ThrowIfNull(links);
        Contacts = contacts;
        Links = links;
    }

    /// <summary>The person's live contacts (the primary and every contact linked to it), in ascending identifier order.</summary>
    public IReadOnlyList<Contact> Contacts { get; }

    /// <summary>The recorded links whose email and phone number both belong to the person's contacts.</summary>
    public IReadOnlyList<ContactLink> Links { get; }
}
