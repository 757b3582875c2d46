namespace IdentityReconciliation;

/// <summary>
/// What one <see cref="IIdentityReconciler.IdentifyDetailedAsync"/> call did: the person's consolidated view, what was
/// written, and every identifier that was set aside.
/// </summary>
/// <param name="Contact">The person's consolidated view after the request, exactly as <see cref="IIdentityReconciler.IdentifyAsync"/> returns it.</param>
/// <param name="Outcome">What the request changed.</param>
/// <param name="CreatedContactId">The identifier of the contact the request inserted, or <see langword="null"/> when it inserted none.</param>
/// <param name="MergedPrimaryContactIds">
/// When persons were merged, the former primary contacts of the persons that joined <see cref="ContactCluster.PrimaryContactId"/>'s
/// person (now its secondaries), ascending; otherwise empty.
/// </param>
/// <param name="SetAside">The identifiers of the request that were not used, each with its reason; empty when both were used.</param>
public sealed record IdentifyResult(
    ContactCluster Contact,
    IdentifyOutcome Outcome,
    long? CreatedContactId,
    IReadOnlyList<long> MergedPrimaryContactIds,
    IReadOnlyList<SetAsideIdentifier> SetAside);

/// <summary>What an identify request changed in the store.</summary>
public enum IdentifyOutcome
{
    /// <summary>Nothing was written: the person already had every identifier the request used.</summary>
    Unchanged = 0,

    /// <summary>No contact matched: a new primary contact (a new person) was inserted.</summary>
    PrimaryCreated = 1,

    /// <summary>The request brought an email or phone number the person did not have: a new secondary contact was inserted.</summary>
    SecondaryCreated = 2,

    /// <summary>
    /// The request joined two or more persons: the oldest primary stayed primary and the others, with their secondaries,
    /// were linked to it (see <see cref="IdentifyResult.MergedPrimaryContactIds"/>). No contact was inserted.
    /// </summary>
    PersonsMerged = 3,

    /// <summary>
    /// No contact was inserted and no persons were merged, but links were repaired: a person whose primary contact had been
    /// deleted outside the library got its oldest remaining contact as primary.
    /// </summary>
    Relinked = 4,
}

/// <summary>An identifier of a request that was not used to link or store, and why.</summary>
/// <param name="Kind">Whether it is the request's email or its phone number.</param>
/// <param name="Value">The normalised value, as the request gave it. Personal data: <see cref="ToString"/> leaves it out.</param>
/// <param name="Reason">Why it was set aside.</param>
public sealed record SetAsideIdentifier(ContactIdentifierKind Kind, string Value, SetAsideReason Reason)
{
    /// <summary>The kind and the reason, without the value (which is personal data).</summary>
    /// <returns>For example <c>PhoneNumber set aside: Blocked</c>.</returns>
    public override string ToString() => $"{Kind} set aside: {Reason}";
}

/// <summary>The two identifiers a request may carry.</summary>
public enum ContactIdentifierKind
{
    /// <summary>The email (<c>email</c> in the product's JSON).</summary>
    Email = 0,

    /// <summary>The phone number (<c>phoneNumber</c> in the product's JSON).</summary>
    PhoneNumber = 1,
}

/// <summary>Why an identifier was set aside (see <see cref="IdentityReconciliationOptions"/>).</summary>
public enum SetAsideReason
{
    /// <summary>The value is blocked: a configured value or a well-known placeholder of the default blocklist.</summary>
    Blocked = 0,

    /// <summary>Using it would have given the person more distinct emails than <see cref="IdentityReconciliationOptions.MaxEmailsPerPerson"/>.</summary>
    EmailLimit = 1,

    /// <summary>Using it would have given the person more distinct phone numbers than <see cref="IdentityReconciliationOptions.MaxPhoneNumbersPerPerson"/>.</summary>
    PhoneNumberLimit = 2,
}
