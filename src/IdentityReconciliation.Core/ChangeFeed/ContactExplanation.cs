using System.Text;

namespace IdentityReconciliation;

/// <summary>
/// Why two contacts are one person (<see cref="IIdentityReconciler.ExplainAsync"/>): the shortest path of contacts from
/// one to the other, with what joins each step.
/// </summary>
/// <remarks>It holds the contacts, values included: it is the caller's own data, for support tools; never log it.</remarks>
/// <param name="PrimaryContactId">The primary of the person both contacts belong to.</param>
/// <param name="Steps">The steps from the first contact to the other one, in order; empty when both are the same contact.</param>
public sealed record ContactExplanation(long PrimaryContactId, IReadOnlyList<ContactExplanationStep> Steps);

/// <summary>One step of a <see cref="ContactExplanation"/>: two contacts and what joins them.</summary>
/// <param name="From">The contact the step starts from.</param>
/// <param name="To">The contact the step reaches.</param>
/// <param name="Join">What joins them.</param>
/// <param name="Link">The recorded link, when <paramref name="Join"/> is <see cref="ContactJoinKind.MergeLink"/>; otherwise <see langword="null"/>.</param>
/// <remarks><see cref="object.ToString"/> shows no email or phone number (nor <see cref="SharedValue"/>).</remarks>
public sealed record ContactExplanationStep(Contact From, Contact To, ContactJoinKind Join, ContactLink? Link)
{
    /// <summary>
    /// The value the two contacts share: the email for <see cref="ContactJoinKind.SharedEmail"/>, the phone number for
    /// <see cref="ContactJoinKind.SharedPhoneNumber"/>; <see langword="null"/> otherwise.
    /// </summary>
    public string? SharedValue => Join switch
    {
        ContactJoinKind.SharedEmail => From.Email,
        ContactJoinKind.SharedPhoneNumber => From.PhoneNumber,
        _ => null,
    };

    // ToString leaves SharedValue out: the contacts and the link print without their values.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("From = ").Append(From).Append(", To = ").Append(To).Append(", Join = ").Append(Join).Append(", Link = ").Append(Link);
        return true;
    }
}

/// <summary>What joins two contacts in a <see cref="ContactExplanationStep"/>.</summary>
public enum ContactJoinKind
{
    /// <summary>Both contacts hold the same email.</summary>
    SharedEmail = 1,

    /// <summary>Both contacts hold the same phone number.</summary>
    SharedPhoneNumber = 2,

    /// <summary>
    /// A request brought one contact's email together with the other's phone number and joined their persons; the store
    /// recorded it as a <see cref="ContactLink"/>.
    /// </summary>
    MergeLink = 3,

    /// <summary>
    /// Nothing that remains joins them but the link of one contact to its primary: a merge recorded before the store kept
    /// merge evidence (schema version 1), or one whose evidence an erasure removed while the person was kept whole.
    /// </summary>
    PrimaryLink = 4,
}
