namespace IdentityReconciliation;

/// <summary>
/// The consolidated view of one person: every contact linked through a shared email or phone number.
/// </summary>
/// <param name="PrimaryContactId">The identifier of the person's primary (oldest) contact.</param>
/// <param name="Emails">Distinct emails, the primary contact's first, then in the order of their contacts' identifiers.</param>
/// <param name="PhoneNumbers">Distinct phone numbers, the primary contact's first, then in the order of their contacts' identifiers.</param>
/// <param name="SecondaryContactIds">The identifiers of the secondary contacts, ascending.</param>
public sealed record ContactCluster(
    long PrimaryContactId,
    IReadOnlyList<string> Emails,
    IReadOnlyList<string> PhoneNumbers,
    IReadOnlyList<long> SecondaryContactIds);
