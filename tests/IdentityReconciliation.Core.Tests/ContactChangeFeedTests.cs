
namespace IdentityReconciliation.Tests;

/// <summary>Which entries a committed change set produces, with no database: <see cref="ContactChangeFeed"/> alone.</summary>
public sealed class ContactChangeFeedTests
{
    private static readonly DateTimeOffset T0 = new(2023, 4, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = new(2023, 4, 20, 5, 30, 0, TimeSpan.Zero);

    private static Contact Primary(long id, string? email, string? phone, int minutes = 0) =>
        new(id, phone, email, null, LinkPrecedence.Primary, T0.AddMinutes(minutes), T0.AddMinutes(minutes));

    private static Contact Secondary(long id, string? email, string? phone, long primary, int minutes = 0) =>
        new(id, phone, email, primary, LinkPrecedence.Secondary, T0.AddMinutes(minutes), T0.AddMinutes(minutes));

    [Fact]
    public void Describe_NewPrimary_OneEntryAtItsCreationTime()
    {
        var changes = ContactPlanner.Plan(new ContactIdentifiers("a@x.io", "1"), [], Now);

        var entries = ContactChangeFeed.Describe([], changes, insertedId: 7);

        entries.Should().Equal(new ContactChange(0, Now, ContactChangeKind.PrimaryCreated, 7, 7, []));
    }

    [Fact]
    public void Describe_NewSecondary_LinksItToThePrimary()
    {
        var touched = new[] { Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "1", 1) };
        var changes = ContactPlanner.Plan(new ContactIdentifiers("c@x.io", "1"), touched, Now);

        var entries = ContactChangeFeed.Describe(touched, changes, insertedId: 3);

        entries.Should().Equal(new ContactChange(0, Now, ContactChangeKind.SecondaryCreated, 3, 1, []));
    }

    [Fact]
    public void Describe_Merge_OneEntryPerDemotedPrimaryWithItsRepointedContacts()
    {
        var touched = new[]
        {
            Primary(1, "a@x.io", "1", 0),
            Primary(2, "b@x.io", "2", 1),
            Secondary(3, "b@x.io", "3", 2, 2),
            Secondary(4, "c@x.io", "2", 2, 3),
        };
        var changes = ContactPlanner.Plan(new ContactIdentifiers("a@x.io", "3"), touched, Now);

        var entries = ContactChangeFeed.Describe(touched, changes, insertedId: null);

        entries.Should().Equal(new ContactChange(0, Now, ContactChangeKind.PersonsMerged, 2, 1, [3, 4]));
    }

    [Fact]
    public void Describe_RequestThatChangesNothing_NoEntry()
    {
        var touched = new[] { Primary(1, "a@x.io", "1") };

        ContactChangeFeed.Describe(touched, ContactPlanner.Plan(new ContactIdentifiers("a@x.io", "1"), touched, Now), null).Should().BeEmpty();
        ContactChangeFeed.Describe(touched, ContactChangeSet.Empty, null).Should().BeEmpty();
    }

    [Fact]
    public void Describe_InsertWithoutItsIdentifier_Throws()
    {
        var changes = ContactPlanner.Plan(new ContactIdentifiers("a@x.io", "1"), [], Now);

        var act = () => ContactChangeFeed.Describe([], changes, insertedId: null);

        act.Should().Throw<ArgumentException>().WithParameterName("insertedId");
    }

    [Fact]
    public void Describe_UpdateOutsideAMerge_IsARepointing()
    {
        var touched = new[] { Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "1", 1) };
        var changes = new ContactChangeSet(null, [new ContactUpdate(2, 5, LinkPrecedence.Secondary, Now)]);

        ContactChangeFeed.Describe(touched, changes, null).Should().Equal(new ContactChange(0, Now, ContactChangeKind.ContactRepointed, 2, 5, []));
    }

    [Fact]
    public void Describe_ErasureThatSplitsAPerson_ValuesErasedThenTheSplit()
    {
        // (a,1) and (b,2) joined by the link (a,2); (c,2) belongs to b's half. Erasing a@x.io removes the evidence.
        var contacts = new[] { Primary(1, "a@x.io", "1", 0), Secondary(2, "b@x.io", "2", 1, 1), Secondary(3, "c@x.io", "2", 1, 2) };
        var scope = new ErasureScope(["a@x.io"], [], null, contacts, [], [new ContactLink("a@x.io", "2", T0)]);
        var changes = ErasurePlanner.Plan(scope, Now);

        var entries = ContactChangeFeed.Describe(scope, changes, Now);

        entries.Should().Equal(
            new ContactChange(0, Now, ContactChangeKind.ValuesErased, 1, 1, []),
            new ContactChange(0, Now, ContactChangeKind.PersonSplit, 2, 2, [3]));
        FeedReplay.PrimaryOf(entries).Should().BeEquivalentTo(new Dictionary<long, long> { [1] = 1, [2] = 2, [3] = 2 });
    }

    [Fact]
    public void Describe_ErasureOfAWholePerson_EveryContactDeleted()
    {
        var contacts = new[] { Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "1", 1, 1) };
        var scope = new ErasureScope(["a@x.io", "b@x.io"], ["1"], 1, contacts, [], []);
        var changes = ErasurePlanner.Plan(scope, Now);

        var entries = ContactChangeFeed.Describe(scope, changes, Now);

        entries.Should().Equal(
            new ContactChange(0, Now, ContactChangeKind.ValuesErased, 1, null, []),
            new ContactChange(0, Now, ContactChangeKind.ValuesErased, 2, null, []));
    }

    [Fact]
    public void Describe_ErasureOfThePrimarysOnlyValue_TheNextOldestLeadsThePerson()
    {
        var contacts = new[] { Primary(1, null, "1"), Secondary(2, "b@x.io", "1", 1, 1), Secondary(3, "c@x.io", "1", 1, 2) };
        var scope = new ErasureScope([], ["1"], null, contacts, [], []);
        var changes = ErasurePlanner.Plan(scope, Now);

        var entries = ContactChangeFeed.Describe(scope, changes, Now);

        // Contact 1 held only the phone number: it is deleted. 2 and 3 no longer share anything: each leads its own person.
        entries.Should().Equal(
            new ContactChange(0, Now, ContactChangeKind.ValuesErased, 1, null, []),
            new ContactChange(0, Now, ContactChangeKind.ValuesErased, 2, 2, []),
            new ContactChange(0, Now, ContactChangeKind.ValuesErased, 3, 3, []),
            new ContactChange(0, Now, ContactChangeKind.PersonSplit, 2, 2, []),
            new ContactChange(0, Now, ContactChangeKind.PersonSplit, 3, 3, []));
    }

    [Fact]
    public void Describe_ErasureThatChangesNothing_NoEntry()
    {
        ContactChangeFeed.Describe(ErasureScope.Empty, ErasureChangeSet.Empty, Now).Should().BeEmpty();
    }

    [Fact]
    public void ContactChange_Equality_ComparesRelatedContactsByValue()
    {
        var a = new ContactChange(1, Now, ContactChangeKind.PersonsMerged, 2, 1, new List<long> { 3, 4 });
        var b = new ContactChange(1, Now, ContactChangeKind.PersonsMerged, 2, 1, new long[] { 3, 4 });

        a.Should().Be(b);
        a.GetHashCode().Should().Be(b.GetHashCode());
        a.Should().NotBe(b with { RelatedContactIds = [3] });
    }
}
