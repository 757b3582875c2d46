namespace IdentityReconciliation;

/// <summary>
/// One entry of the change feed: a change a store committed, recorded in the same transaction (see
/// <see cref="IIdentityReconciler.GetChangesAsync"/>). It carries contact identifiers only, never an email or a phone
/// number: a consumer reads the current contact by identifier.
/// </summary>
/// <remarks>
/// <para>
/// After an entry, <see cref="ContactId"/> and every contact of <see cref="RelatedContactIds"/> belong to the person whose
/// primary is <see cref="PrimaryContactId"/>; when <see cref="PrimaryContactId"/> is <see langword="null"/>, the contact
/// <see cref="ContactId"/> no longer exists (an erasure deleted it). Replaying the entries in sequence order with that one
/// rule rebuilds the grouping of contacts into persons that the store holds.
/// </para>
/// <para>
/// Sequence numbers are positive and increase with commit order: a consumer that has read every entry up to sequence
/// <c>N</c> never later finds a newly committed entry at or below <c>N</c>. They may have gaps.
/// </para>
/// </remarks>
/// <param name="Sequence">The position in the feed: unique, positive, increasing with commit order (0 before a store assigned it).</param>
/// <param name="OccurredAt">When the change was made (UTC): the <c>createdAt</c> or <c>updatedAt</c> it wrote.</param>
/// <param name="Kind">What happened.</param>
/// <param name="ContactId">The contact the entry is about (see <see cref="ContactChangeKind"/>).</param>
/// <param name="PrimaryContactId">The primary of the person <see cref="ContactId"/> belongs to after the change, or <see langword="null"/> when the contact was deleted.</param>
/// <param name="RelatedContactIds">Further contacts that now belong to <see cref="PrimaryContactId"/> (for a merge, the re-pointed contacts), in ascending order; often empty.</param>
public sealed record ContactChange(
    long Sequence,
    DateTimeOffset OccurredAt,
    ContactChangeKind Kind,
    long ContactId,
    long? PrimaryContactId,
    IReadOnlyList<long> RelatedContactIds)
{
    /// <summary>Whether two entries are equal, comparing <see cref="RelatedContactIds"/> element by element.</summary>
    /// <param name="other">The other entry.</param>
    /// <returns><see langword="true"/> when every member is equal.</returns>
    public bool Equals(ContactChange? other) =>
        other is not null
        && Sequence == other.Sequence
        && OccurredAt == other.OccurredAt
        && Kind == other.Kind
        && ContactId == other.ContactId
        && PrimaryContactId == other.PrimaryContactId
        && RelatedContactIds.SequenceEqual(other.RelatedContactIds);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Sequence, OccurredAt, Kind, ContactId, PrimaryContactId, RelatedContactIds.Count);
}

/// <summary>What a <see cref="ContactChange"/> records.</summary>
public enum ContactChangeKind
{
    /// <summary>A request created a new primary contact, <see cref="ContactChange.ContactId"/>.</summary>
    PrimaryCreated = 1,

    /// <summary>A request created a secondary contact, <see cref="ContactChange.ContactId"/>, linked to <see cref="ContactChange.PrimaryContactId"/>.</summary>
    SecondaryCreated = 2,

    /// <summary>
    /// A request joined two persons: the primary <see cref="ContactChange.ContactId"/> was demoted and now links to the
    /// surviving primary <see cref="ContactChange.PrimaryContactId"/>; <see cref="ContactChange.RelatedContactIds"/> are the
    /// demoted person's other contacts, re-pointed to the survivor.
    /// </summary>
    PersonsMerged = 3,

    /// <summary>A contact, <see cref="ContactChange.ContactId"/>, was re-pointed to <see cref="ContactChange.PrimaryContactId"/> outside a merge or a split.</summary>
    ContactRepointed = 4,

    /// <summary>
    /// An erasure removed the email and/or the phone number of <see cref="ContactChange.ContactId"/>; when
    /// <see cref="ContactChange.PrimaryContactId"/> is <see langword="null"/>, the contact itself was deleted.
    /// </summary>
    ValuesErased = 5,

    /// <summary>
    /// An erasure re-resolved a person: <see cref="ContactChange.ContactId"/> became the primary of a person of its own
    /// (<see cref="ContactChange.PrimaryContactId"/> equals it) and <see cref="ContactChange.RelatedContactIds"/> were
    /// re-pointed to it.
    /// </summary>
    PersonSplit = 6,
}
