using IdentityReconciliation.Tests.Support;

namespace IdentityReconciliation.Tests;

/// <summary>The rules, with no database: <see cref="ContactPlanner"/> alone.</summary>
public sealed class ContactPlannerTests
{
    private static readonly DateTimeOffset T0 = new(2023, 4, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = new(2023, 4, 20, 5, 30, 0, TimeSpan.Zero);

    private static Contact Primary(long id, string? email, string? phone, int minutes = 0) =>
        new(id, phone, email, null, LinkPrecedence.Primary, T0.AddMinutes(minutes), T0.AddMinutes(minutes));

    private static Contact Secondary(long id, string? email, string? phone, long primary, int minutes = 0) =>
        new(id, phone, email, primary, LinkPrecedence.Secondary, T0.AddMinutes(minutes), T0.AddMinutes(minutes));

    [Fact]
    public void Plan_NoMatch_InsertsNewPrimary()
    {
        var changes = ContactPlanner.Plan(new ContactIdentifiers("a@x.io", "1"), [], Now);

        changes.Insert.Should().Be(new NewContact("a@x.io", "1", null, LinkPrecedence.Primary, Now));
        changes.Updates.Should().BeEmpty();
    }

    [Theory]
    [InlineData("a@x.io", "2")] // known email, new phone
    [InlineData("b@x.io", "1")] // new email, known phone
    public void Plan_MatchWithNewInformation_InsertsOneSecondaryWithBothIdentifiers(string email, string phone)
    {
        var touched = new[] { Primary(1, "a@x.io", "1") };

        var changes = ContactPlanner.Plan(new ContactIdentifiers(email, phone), touched, Now);

        changes.Insert.Should().Be(new NewContact(email, phone, 1, LinkPrecedence.Secondary, Now));
        changes.Updates.Should().BeEmpty();
    }

    [Fact]
    public void Plan_MatchOnSecondary_LinksNewContactToThePrimaryNotTheSecondary()
    {
        var touched = new[] { Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "1", 1, 1) };

        var changes = ContactPlanner.Plan(new ContactIdentifiers("b@x.io", "3"), touched, Now);

        changes.Insert!.LinkedId.Should().Be(1);
    }

    [Theory]
    [InlineData("a@x.io", null)]
    [InlineData(null, "1")]
    [InlineData("a@x.io", "1")]
    [InlineData("b@x.io", "1")] // both present, on different contacts of one cluster
    public void Plan_NothingNew_ChangesNothing(string? email, string? phone)
    {
        var touched = new[] { Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "1", 1, 1) };

        var changes = ContactPlanner.Plan(new ContactIdentifiers(email, phone), touched, Now);

        changes.IsEmpty.Should().BeTrue();
        changes.Should().BeSameAs(ContactChangeSet.Empty);
    }

    [Fact]
    public void Plan_TwoClusters_OlderPrimaryStaysAndOtherClusterIsRepointedWithoutInsert()
    {
        // Cluster 1 is older by createdAt even though its primary has the higher id.
        var touched = new[]
        {
            Primary(1, "young@x.io", "1", minutes: 10),
            Secondary(2, "young2@x.io", "1", 1, minutes: 11),
            Primary(3, "old@x.io", "3", minutes: 0),
            Secondary(4, "old2@x.io", "3", 3, minutes: 12),
        };

        var changes = ContactPlanner.Plan(new ContactIdentifiers("young2@x.io", "3"), touched, Now);

        changes.Insert.Should().BeNull();
        changes.Updates.Should().Equal(
            new ContactUpdate(1, 3, LinkPrecedence.Secondary, Now),
            new ContactUpdate(2, 3, LinkPrecedence.Secondary, Now));
    }

    [Fact]
    public void Plan_TwoPrimariesCreatedAtTheSameInstant_LowerIdWins()
    {
        var touched = new[] { Primary(7, "a@x.io", "1"), Primary(5, "b@x.io", "2") };

        var changes = ContactPlanner.Plan(new ContactIdentifiers("a@x.io", "2"), touched, Now);

        changes.Updates.Should().Equal(new ContactUpdate(7, 5, LinkPrecedence.Secondary, Now));
    }

    [Fact]
    public void Plan_TwoClustersAndNewInformation_CannotHappenWithOneEmailAndOnePhone_ButMergesAndLinksToWinner()
    {
        // With one email and one phone, joining two clusters means both identifiers are known. A request whose phone is
        // new and whose email is shared by two clusters (a graph written by hand) is still healed and linked to the winner.
        var touched = new[] { Primary(1, "a@x.io", "1"), Primary(2, "a@x.io", "2", minutes: 1) };

        var changes = ContactPlanner.Plan(new ContactIdentifiers("a@x.io", "9"), touched, Now);

        changes.Updates.Should().Equal(new ContactUpdate(2, 1, LinkPrecedence.Secondary, Now));
        changes.Insert.Should().Be(new NewContact("a@x.io", "9", 1, LinkPrecedence.Secondary, Now));
    }

    [Fact]
    public void Plan_ClusterWhosePrimaryWasDeleted_PromotesItsOldestLiveContact()
    {
        // Primary 1 is soft-deleted, so its secondaries arrive without it.
        var touched = new[] { Secondary(2, "b@x.io", "1", 1, minutes: 1), Secondary(3, "c@x.io", "1", 1, minutes: 2) };

        var changes = ContactPlanner.Plan(new ContactIdentifiers("c@x.io", null), touched, Now);

        changes.Insert.Should().BeNull();
        changes.Updates.Should().Equal(
            new ContactUpdate(2, null, LinkPrecedence.Primary, Now),
            new ContactUpdate(3, 2, LinkPrecedence.Secondary, Now));
    }

    [Fact]
    public void ApplyTo_InsertAndUpdates_ReturnsContactsAfterTheChange()
    {
        var touched = new[] { Primary(1, "a@x.io", "1"), Primary(2, "b@x.io", "2", minutes: 1) };
        var changes = ContactPlanner.Plan(new ContactIdentifiers("a@x.io", "2"), touched, Now);

        var after = changes.ApplyTo(touched, insertedId: null);

        after.Should().HaveCount(2);
        after[1].Should().Be(touched[1] with { LinkedId = 1, LinkPrecedence = LinkPrecedence.Secondary, UpdatedAt = Now });
        after[0].Should().BeSameAs(touched[0]);
    }

    [Fact]
    public void ApplyTo_InsertWithoutAssignedId_Throws()
    {
        var changes = ContactPlanner.Plan(new ContactIdentifiers("a@x.io", null), [], Now);

        var act = () => changes.ApplyTo([], insertedId: null);

        act.Should().Throw<ArgumentException>().WithParameterName("insertedId");
    }

    [Fact]
    public void Consolidate_PrimaryValuesFirstThenByIdWithoutDuplicatesOrNulls()
    {
        var cluster = new[]
        {
            Secondary(9, "z@x.io", null, 4),
            Primary(4, null, "44"),
            Secondary(5, "m@x.io", "55", 4),
            Secondary(6, "m@x.io", "44", 4),
            Secondary(7, "a@x.io", "55", 4),
        };

        var view = ContactPlanner.Consolidate(cluster)!;

        view.PrimaryContactId.Should().Be(4);
        view.Emails.Should().Equal("m@x.io", "a@x.io", "z@x.io");
        view.PhoneNumbers.Should().Equal("44", "55");
        view.SecondaryContactIds.Should().Equal(5, 6, 7, 9);
    }

    [Fact]
    public void Consolidate_PrimaryEmailComesFirstEvenWhenASecondaryHasALowerId()
    {
        // After a merge the surviving primary can have a higher id than contacts re-pointed to it.
        var cluster = new[] { Secondary(1, "young@x.io", "1", 3), Primary(3, "old@x.io", "3") };

        var view = ContactPlanner.Consolidate(cluster)!;

        view.Emails.Should().Equal("old@x.io", "young@x.io");
        view.PhoneNumbers.Should().Equal("3", "1");
        view.SecondaryContactIds.Should().Equal(1);
    }

    [Fact]
    public void Consolidate_LargeClusterWithRepeats_MatchesTheSmallClusterRules()
    {
        // Above 16 contacts the values are deduplicated through sets: the view must not change.
        var cluster = new List<Contact> { Primary(100, "p@x.io", "9") };
        for (var i = 1; i <= 60; i++)
        {
            cluster.Add(Secondary(100 + i, i % 7 == 0 ? null : $"e{i % 23}@x.io", i % 5 == 0 ? null : $"{i % 11}", 100, i));
        }

        var view = ContactPlanner.Consolidate(cluster)!;

        var ordered = cluster.OrderBy(c => c.Id).ToList();
        view.Emails.Should().Equal(new[] { "p@x.io" }.Concat(ordered.Select(c => c.Email).OfType<string>()).Distinct());
        view.PhoneNumbers.Should().Equal(new[] { "9" }.Concat(ordered.Select(c => c.PhoneNumber).OfType<string>()).Distinct());
        view.SecondaryContactIds.Should().Equal(Enumerable.Range(101, 60).Select(i => (long)i));
    }

    [Fact]
    public void Consolidate_TwoPrimaries_Throws()
    {
        var act = () => ContactPlanner.Consolidate([Primary(1, "a@x.io", null), Primary(2, "b@x.io", null)]);

        act.Should().Throw<InvalidOperationException>().WithMessage("*both primary*");
    }

    [Fact]
    public void Consolidate_Empty_ReturnsNull() => ContactPlanner.Consolidate([]).Should().BeNull();

    [Fact]
    public async Task SeedExample_WithNoDatabase_MatchesTheProductVerbatim()
    {
        // The product's worked example, replayed through the planner with the hand-written in-memory store.
        var reconciler = new IdentityReconciler(new InMemoryContactStore(), DefaultContactNormalizer.Instance, new ManualTimeProvider { AutoAdvance = TimeSpan.FromSeconds(1) }, null);

        var first = await reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        first.Should().BeEquivalentTo(new ContactCluster(1, ["lorraine@hillvalley.edu"], ["123456"], []));
        var second = await reconciler.IdentifyAsync(new IdentifyRequest("mcfly@hillvalley.edu", "123456"));
        var expected = new ContactCluster(1, ["lorraine@hillvalley.edu", "mcfly@hillvalley.edu"], ["123456"], [2]);
        second.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
        (await reconciler.IdentifyAsync(new IdentifyRequest(null, "123456"))).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
        (await reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", null))).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
        (await reconciler.IdentifyAsync(new IdentifyRequest("mcfly@hillvalley.edu", null))).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());

        (await reconciler.IdentifyAsync(new IdentifyRequest("george@hillvalley.edu", "919191"))).PrimaryContactId.Should().Be(3);
        (await reconciler.IdentifyAsync(new IdentifyRequest("biffsucks@hillvalley.edu", "717171"))).PrimaryContactId.Should().Be(4);
        var merged = await reconciler.IdentifyAsync(new IdentifyRequest("george@hillvalley.edu", "717171"));

        merged.Should().BeEquivalentTo(
            new ContactCluster(3, ["george@hillvalley.edu", "biffsucks@hillvalley.edu"], ["919191", "717171"], [4]),
            o => o.WithStrictOrdering());
    }

    [Fact]
    public void Plan_TwoClusters_RecordsTheJoiningRequestAsMergeEvidence()
    {
        var touched = new[] { Primary(1, "george@x.io", "919191"), Primary(2, "biff@x.io", "717171", minutes: 1) };

        var changes = ContactPlanner.Plan(new ContactIdentifiers("george@x.io", "717171"), touched, Now);

        changes.Insert.Should().BeNull();
        changes.Link.Should().Be(new ContactLink("george@x.io", "717171", Now));
    }

    [Theory]
    [InlineData("a@x.io", "2")] // new secondary: the row itself holds both values
    [InlineData("b@x.io", "1")] // within one cluster: nothing to join
    public void Plan_NoJoin_RecordsNoLink(string email, string phone)
    {
        var touched = new[] { Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "1", 1, 1) };

        var changes = ContactPlanner.Plan(new ContactIdentifiers(email, phone), touched, Now);

        changes.Link.Should().BeNull();
    }

    [Fact]
    public void Plan_RepairWithinOneCluster_RecordsNoLink()
    {
        // Primary 1 was soft-deleted: the plan promotes 2, but the request joins nothing.
        var touched = new[] { Secondary(2, "b@x.io", "1", 1, minutes: 1), Secondary(3, "c@x.io", "1", 1, minutes: 2) };

        var changes = ContactPlanner.Plan(new ContactIdentifiers("c@x.io", "1"), touched, Now);

        changes.Updates.Should().NotBeEmpty();
        changes.Link.Should().BeNull();
    }
}
