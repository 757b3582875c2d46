namespace IdentityReconciliation.Tests;

/// <summary>Re-resolution after an erasure, with no database: <see cref="ErasurePlanner"/> alone.</summary>
public sealed class ErasurePlannerTests
{
    private static readonly DateTimeOffset T0 = new(2023, 4, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = new(2023, 4, 20, 5, 30, 0, TimeSpan.Zero);

    private static Contact Primary(long id, string? email, string? phone, int minutes = 0) =>
        new(id, phone, email, null, LinkPrecedence.Primary, T0.AddMinutes(minutes), T0.AddMinutes(minutes));

    private static Contact Secondary(long id, string? email, string? phone, long primary, int minutes = 0) =>
        new(id, phone, email, primary, LinkPrecedence.Secondary, T0.AddMinutes(minutes), T0.AddMinutes(minutes));

    private static Contact Deleted(Contact contact) => contact with { DeletedAt = T0.AddDays(1) };

    private static ErasureScope Values(
        string? email,
        string? phone,
        IReadOnlyList<Contact> contacts,
        IReadOnlyList<Contact>? deleted = null,
        IReadOnlyList<ContactLink>? links = null) =>
        new(email is null ? [] : [email], phone is null ? [] : [phone], null, contacts, deleted ?? [], links ?? []);

    private static ContactLink Link(string email, string phone) => new(email, phone, T0.AddHours(1));

    private static ContactUpdate ToPrimary(long id) => new(id, null, LinkPrecedence.Primary, Now);

    private static ContactUpdate LinkTo(long id, long primary) => new(id, primary, LinkPrecedence.Secondary, Now);

    /// <summary>The remaining persons, as the reconciler reports them.</summary>
    private static IReadOnlyList<ContactCluster> Persons(ErasureScope scope, ErasureChangeSet changes) =>
        ErasurePlanner.ToResult(changes, changes.ApplyTo(scope)).Persons;

    [Fact]
    public void Plan_ValueNobodyHolds_ChangesNothing()
    {
        var changes = ErasurePlanner.Plan(Values("nobody@x.io", "999", []), Now);

        changes.Should().BeSameAs(ErasureChangeSet.Empty);
        ErasurePlanner.ToResult(changes, []).Should().BeSameAs(ErasureResult.Nothing);
    }

    [Fact]
    public void Plan_ChainSplitInTheMiddle_TheFarHalfGetsItsOldestAsPrimary()
    {
        // a-1, b-1, b-2, c-2, c-3: a chain of contacts, each sharing a value with the next. Phone 2 joins the halves.
        var contacts = new[]
        {
            Primary(1, "a@x.io", "1"),
            Secondary(2, "b@x.io", "1", 1, minutes: 1),
            Secondary(3, "b@x.io", "2", 1, minutes: 2),
            Secondary(4, "c@x.io", "2", 1, minutes: 3),
            Secondary(5, "c@x.io", "3", 1, minutes: 4),
        };
        var scope = Values(null, "2", contacts);

        var changes = ErasurePlanner.Plan(scope, Now);

        changes.DeletedContactIds.Should().BeEmpty();
        changes.RemovedValues.Should().Equal(new ContactValueRemoval(3, false, true, Now), new ContactValueRemoval(4, false, true, Now));
        changes.Updates.Should().Equal(ToPrimary(4), LinkTo(5, 4));
        changes.DeletedLinks.Should().BeEmpty();
        Persons(scope, changes).Should().BeEquivalentTo(
            new[]
            {
                new ContactCluster(1, ["a@x.io", "b@x.io"], ["1"], [2, 3]),
                new ContactCluster(4, ["c@x.io"], ["3"], [5]),
            },
            o => o.WithStrictOrdering());
    }

    [Fact]
    public void Plan_PersonHeldTogetherByOnePhone_SplitsIntoThree()
    {
        var contacts = new[]
        {
            Primary(1, "a@x.io", "1"),
            Secondary(2, "b@x.io", "1", 1, minutes: 1),
            Secondary(3, "c@x.io", "1", 1, minutes: 2),
            Secondary(4, "c@x.io", null, 1, minutes: 3),
        };
        var scope = Values(null, "1", contacts);

        var changes = ErasurePlanner.Plan(scope, Now);

        changes.RemovedValues.Select(r => r.Id).Should().Equal(1, 2, 3);
        changes.Updates.Should().Equal(ToPrimary(2), ToPrimary(3), LinkTo(4, 3));
        var result = ErasurePlanner.ToResult(changes, changes.ApplyTo(scope));
        result.ErasedContactIds.Should().BeEmpty();
        result.ChangedContactIds.Should().Equal(1, 2, 3, 4);
        result.Persons.Should().BeEquivalentTo(
            new[]
            {
                new ContactCluster(1, ["a@x.io"], [], []),
                new ContactCluster(2, ["b@x.io"], [], []),
                new ContactCluster(3, ["c@x.io"], [], [4]),
            },
            o => o.WithStrictOrdering());
    }

    [Fact]
    public void Plan_ErasingThePrimary_TheNextOldestTakesOverAndTheOthersLinkToIt()
    {
        var contacts = new[]
        {
            Primary(1, "a@x.io", null),
            Secondary(2, "a@x.io", "2", 1, minutes: 1),
            Secondary(3, "c@x.io", "2", 1, minutes: 2),
        };
        var scope = Values("a@x.io", null, contacts);

        var changes = ErasurePlanner.Plan(scope, Now);

        changes.DeletedContactIds.Should().Equal(1);
        changes.RemovedValues.Should().Equal(new ContactValueRemoval(2, true, false, Now));
        changes.Updates.Should().Equal(ToPrimary(2), LinkTo(3, 2));
        var result = ErasurePlanner.ToResult(changes, changes.ApplyTo(scope));
        result.ErasedContactIds.Should().Equal(1);
        result.ChangedContactIds.Should().Equal(2, 3);
        result.Persons.Should().ContainSingle().Which.Should().BeEquivalentTo(new ContactCluster(2, ["c@x.io"], ["2"], [3]));
    }

    [Fact]
    public void Plan_Component_IsHeadedByTheEarliestCreatedAtThenTheLowerId()
    {
        // Adopted data: ids and creation times need not agree. 5 is older than 3; 6 and 7 were created at the same instant.
        var contacts = new[]
        {
            Primary(1, "a@x.io", "1", minutes: 0),
            Secondary(3, "b@x.io", "1", 1, minutes: 9),
            Secondary(5, "b@x.io", null, 1, minutes: 5),
            Secondary(7, "c@x.io", "1", 1, minutes: 7),
            Secondary(6, "c@x.io", null, 1, minutes: 7),
        };
        var scope = Values(null, "1", contacts);

        var changes = ErasurePlanner.Plan(scope, Now);

        changes.Updates.Should().Equal(LinkTo(3, 5), ToPrimary(5), ToPrimary(6), LinkTo(7, 6));
    }

    [Fact]
    public void Plan_ErasingAWholePerson_DeletesEveryContactItsSoftDeletedContactsAndItsLinks()
    {
        var contacts = new[]
        {
            Primary(1, "a@x.io", "1"),
            Secondary(2, "b@x.io", "2", 1, minutes: 1), // joined by the request (a@x.io, 2)
            Secondary(3, "b@x.io", null, 1, minutes: 2),
        };
        var deleted = new[]
        {
            Deleted(Secondary(4, "old@x.io", "4", 2, minutes: 3)), // linked to a contact of the person, no shared value
            Deleted(Primary(8, "other@x.io", "1", minutes: 8)),    // holds a value of the person
        };
        var scope = new ErasureScope(["a@x.io", "b@x.io"], ["1", "2"], 1, contacts, deleted, [Link("a@x.io", "2")]);

        var changes = ErasurePlanner.Plan(scope, Now);

        changes.DeletedContactIds.Should().Equal(1, 2, 3, 4);
        changes.RemovedValues.Should().Equal(new ContactValueRemoval(8, false, true, Now));
        changes.Updates.Should().BeEmpty();
        changes.DeletedLinks.Should().Equal(Link("a@x.io", "2"));
        changes.ApplyTo(scope).Should().BeEmpty();
        ErasurePlanner.ToResult(changes, []).Should().BeEquivalentTo(new ErasureResult([1, 2, 3, 4], [8], []));
    }

    [Fact]
    public void Plan_ErasingAWholePerson_TakesEveryValueOfThePersonEvenIfTheScopeListsFewer()
    {
        var contacts = new[] { Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "1", 1, minutes: 1) };
        var deleted = new[] { Deleted(Primary(9, "b@x.io", "9", minutes: 9)) };
        var scope = new ErasureScope([], [], 1, contacts, deleted, []);

        var changes = ErasurePlanner.Plan(scope, Now);

        changes.DeletedContactIds.Should().Equal(1, 2);
        changes.RemovedValues.Should().Equal(new ContactValueRemoval(9, true, false, Now));
    }

    [Fact]
    public void Plan_ValueHeldOnlyBySoftDeletedContacts_ChangesOnlyThem()
    {
        var deleted = new[]
        {
            Deleted(Primary(7, "gone@x.io", "7")),
            Deleted(Secondary(8, "gone@x.io", null, 7, minutes: 1)),
        };

        var changes = ErasurePlanner.Plan(Values("gone@x.io", null, [], deleted), Now);

        changes.DeletedContactIds.Should().Equal(8);
        changes.RemovedValues.Should().Equal(new ContactValueRemoval(7, true, false, Now));
        changes.Updates.Should().BeEmpty();
        ErasurePlanner.ToResult(changes, []).Should().BeEquivalentTo(new ErasureResult([8], [7], []));
    }

    [Fact]
    public void Plan_MergeLink_KeepsTheTwoHalvesTogetherWhileBothValuesRemain()
    {
        // 1(a,1) 3(c,1) and 2(b,2) 4(d,2) were joined by the request (a@x.io, 2): no row shows it, the link does.
        var contacts = new[]
        {
            Primary(1, "a@x.io", "1"),
            Secondary(2, "b@x.io", "2", 1, minutes: 1),
            Secondary(3, "c@x.io", "1", 1, minutes: 2),
            Secondary(4, "d@x.io", "2", 1, minutes: 3),
        };
        var scope = Values("c@x.io", null, contacts, links: [Link("a@x.io", "2")]);

        var changes = ErasurePlanner.Plan(scope, Now);

        changes.RemovedValues.Should().Equal(new ContactValueRemoval(3, true, false, Now));
        changes.Updates.Should().BeEmpty("the link still joins a contact holding a@x.io to one holding 2");
        changes.DeletedLinks.Should().BeEmpty();
        Persons(scope, changes).Should().ContainSingle().Which.SecondaryContactIds.Should().Equal(2, 3, 4);
    }

    [Fact]
    public void Plan_MergeLinkHoldingTheErasedValue_IsDeletedAndTheHalvesSplit()
    {
        var contacts = new[]
        {
            Primary(1, "a@x.io", "1"),
            Secondary(2, "b@x.io", "2", 1, minutes: 1),
            Secondary(3, "c@x.io", "1", 1, minutes: 2),
            Secondary(4, "d@x.io", "2", 1, minutes: 3),
        };
        var scope = Values("a@x.io", null, contacts, links: [Link("a@x.io", "2"), Link("c@x.io", "5")]);

        var changes = ErasurePlanner.Plan(scope, Now);

        changes.DeletedLinks.Should().Equal(Link("a@x.io", "2"));
        changes.RemovedValues.Should().Equal(new ContactValueRemoval(1, true, false, Now));
        changes.Updates.Should().Equal(ToPrimary(2), LinkTo(4, 2));
        Persons(scope, changes).Select(p => p.PrimaryContactId).Should().Equal(1, 2);
    }

    [Fact]
    public void Plan_LinkWhoseOtherEndNobodyHolds_JoinsNothing()
    {
        var contacts = new[] { Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "1", 1, minutes: 1) };
        var scope = Values(null, "1", contacts, links: [Link("a@x.io", "9")]);

        var changes = ErasurePlanner.Plan(scope, Now);

        changes.Updates.Should().Equal(ToPrimary(2));
        changes.DeletedLinks.Should().BeEmpty("the link holds no erased value");
    }

    [Fact]
    public void Plan_RowsThatDoNotChange_AreNotInTheChangeSet()
    {
        // Only 2 holds the value; the person stays whole through phone 1, so nothing but 2 changes.
        var contacts = new[]
        {
            Primary(1, "a@x.io", "1"),
            Secondary(2, "b@x.io", "1", 1, minutes: 1),
            Secondary(3, "c@x.io", "1", 1, minutes: 2),
        };

        var changes = ErasurePlanner.Plan(Values("b@x.io", null, contacts), Now);

        changes.RemovedValues.Should().Equal(new ContactValueRemoval(2, true, false, Now));
        changes.Updates.Should().BeEmpty();
        changes.DeletedContactIds.Should().BeEmpty();
    }

    [Fact]
    public void Plan_PersonWhosePrimaryWasSoftDeleted_IsRepairedToo()
    {
        // Primary 1 is soft-deleted: its secondaries arrive without it and are re-resolved like any other contacts.
        var contacts = new[] { Secondary(2, "b@x.io", "1", 1, minutes: 1), Secondary(3, "c@x.io", "1", 1, minutes: 2) };

        var changes = ErasurePlanner.Plan(Values("c@x.io", null, contacts), Now);

        changes.Updates.Should().Equal(ToPrimary(2), LinkTo(3, 2));
    }

    [Fact]
    public void ApplyTo_RemovesDeletedContactsAndAppliesValuesAndLinks()
    {
        var contacts = new[] { Primary(1, "a@x.io", null), Secondary(2, "a@x.io", "2", 1, minutes: 1) };
        var scope = Values("a@x.io", null, contacts);
        var changes = ErasurePlanner.Plan(scope, Now);

        var remaining = changes.ApplyTo(scope);

        remaining.Should().ContainSingle().Which.Should().Be(new Contact(2, "2", null, null, LinkPrecedence.Primary, T0.AddMinutes(1), Now));
    }

    [Fact]
    public void ContactLink_ToString_ShowsNeitherValue()
    {
        var text = Link("secret@x.io", "5550123").ToString();

        text.Should().NotContain("secret").And.NotContain("5550123").And.Contain("CreatedAt");
    }
}
