namespace IdentityReconciliation.Testing;

/// <summary>
/// The overload of <see cref="IContactStore.ReconcileAsync(ContactIdentifiers, IReadOnlyList{Contact}, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/>
/// that takes the reconciler's snapshot: whatever the snapshot holds, the change set the store applies is the plan of the
/// touched clusters as stored when it commits.
/// </summary>
public abstract partial class ContactStoreContractTests
{
    /// <summary>How a snapshot can differ from the stored clusters: one way per field the store must compare.</summary>
    public static TheoryData<string> SnapshotDifferences => new()
    {
        "missing row", "extra row", "empty", "id", "phone", "email", "linkedId", "precedence", "updatedAt",
    };

    [Theory]
    [MemberData(nameof(SnapshotDifferences))]
    public async Task ReconcileAsync_SnapshotDiffersFromTheStoredClusters_AppliesThePlanOfTheStoredClusters(string difference)
    {
        await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await Reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        await Reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "2"));
        var identifiers = new ContactIdentifiers("a@x.io", "2");
        var stored = await Store.FindClustersAsync(identifiers);
        stored.Should().HaveCount(3);
        var snapshot = Alter(stored, difference);
        var now = Clock.GetUtcNow();
        var seen = new List<IReadOnlyList<Contact>>();

        var result = await Store.ReconcileAsync(identifiers, snapshot, touched =>
        {
            seen.Add(touched);
            return ContactPlanner.Plan(identifiers, touched, now);
        });

        seen.Should().NotBeEmpty();
        seen[^1].Should().BeEquivalentTo(stored, o => o.WithStrictOrdering(), "the applied plan is the one of the stored clusters");
        var expected = ContactPlanner.Plan(identifiers, stored, now).ApplyTo(stored, null);
        result.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
        var rows = await ReadAllAsync();
        rows.Should().BeEquivalentTo(expected, "the table holds exactly the plan of the stored clusters");
        GraphInvariants.AssertHold(rows, [("a@x.io", "1"), ("b@x.io", "2"), ("c@x.io", "2"), ("a@x.io", "2")]);
    }

    [Fact]
    public async Task ReconcileAsync_SnapshotGoneStaleAfterAnotherWrite_AppliesThePlanOfTheStoredClusters()
    {
        var (older, identifiers, snapshot) = await TwoPersonsAndTheSnapshotOfTheirMergeAsync();

        // Another request writes into the snapshot's newer cluster, then the merge runs with the snapshot of before.
        await Reconciler.IdentifyAsync(new IdentifyRequest("d@x.io", "2"));
        var result = await Store.ReconcileAsync(identifiers, snapshot, touched => ContactPlanner.Plan(identifiers, touched, Clock.GetUtcNow()));

        result.Select(c => c.Email).Should().Equal("a@x.io", "b@x.io", "d@x.io");
        var rows = await ReadAllAsync();
        rows.Where(r => r.Id != older.PrimaryContactId).Should().OnlyContain(r => r.LinkedId == older.PrimaryContactId, "the row written after the snapshot is re-linked too: no chain");
        GraphInvariants.AssertHold(rows, [("a@x.io", "1"), ("b@x.io", "2"), ("d@x.io", "2"), ("a@x.io", "2")]);
    }

    [Fact]
    public async Task ReconcileAsync_SnapshotEqualToTheStoredClusters_AppliesItsPlanOnce()
    {
        var (older, identifiers, snapshot) = await TwoPersonsAndTheSnapshotOfTheirMergeAsync();
        var calls = 0;

        var result = await Store.ReconcileAsync(identifiers, snapshot, touched =>
        {
            calls++;
            return ContactPlanner.Plan(identifiers, touched, Clock.GetUtcNow());
        });

        calls.Should().Be(1, "nothing changed since the snapshot and nothing else ran");
        result.Should().BeEquivalentTo(await ReadAllAsync(), o => o.WithStrictOrdering());
        result.Should().OnlyContain(c => c.Id == older.PrimaryContactId || c.LinkedId == older.PrimaryContactId);
    }

    [Fact]
    public async Task ReconcileAsync_NullSnapshot_ThrowsArgumentNullExceptionAndWritesNothing()
    {
        var act = () => Store.ReconcileAsync(new ContactIdentifiers("a@x.io", "1"), null!, _ => throw new InvalidOperationException("not called"));

        (await act.Should().ThrowAsync<ArgumentNullException>()).Which.ParamName.Should().Be("snapshot");
        (await ReadAllAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task ReconcileAsync_SnapshotHoldingANullContact_ThrowsArgumentExceptionAndWritesNothing()
    {
        var (_, identifiers, snapshot) = await TwoPersonsAndTheSnapshotOfTheirMergeAsync();
        var before = await ReadAllAsync();

        var act = () => Store.ReconcileAsync(identifiers, [.. snapshot, null!], touched => ContactPlanner.Plan(identifiers, touched, Clock.GetUtcNow()));

        var thrown = (await act.Should().ThrowAsync<ArgumentException>()).Which;
        thrown.ParamName.Should().Be("snapshot");
        thrown.Message.Should().NotContain("@").And.NotContain("x.io");
        (await ReadAllAsync()).Should().BeEquivalentTo(before);
    }

    [Fact]
    public async Task ReconcileAsync_PlanThrowsOnlyForAStaleSnapshot_AppliesThePlanOfTheStoredClusters()
    {
        var (older, identifiers, snapshot) = await TwoPersonsAndTheSnapshotOfTheirMergeAsync();
        await Reconciler.IdentifyAsync(new IdentifyRequest("d@x.io", "2"));

        // A plan may reject what it sees (a guard, an inconsistency); only its call on the stored clusters counts.
        var result = await Store.ReconcileAsync(identifiers, snapshot, touched => touched.Count == snapshot.Count
            ? throw new InvalidOperationException("stale")
            : ContactPlanner.Plan(identifiers, touched, Clock.GetUtcNow()));

        result.Select(c => c.Email).Should().Equal("a@x.io", "b@x.io", "d@x.io");
        (await ReadAllAsync()).Where(r => r.Id != older.PrimaryContactId).Should().OnlyContain(r => r.LinkedId == older.PrimaryContactId);
    }

    [Fact]
    public async Task ReconcileAsync_PlanThrowsWithASnapshot_ThrowsItAndWritesNothing()
    {
        var (_, identifiers, snapshot) = await TwoPersonsAndTheSnapshotOfTheirMergeAsync();
        var before = await ReadAllAsync();

        var act = () => Store.ReconcileAsync(identifiers, snapshot, _ => throw new InvalidOperationException("boom"));

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("boom");
        (await ReadAllAsync()).Should().BeEquivalentTo(before);
    }

    /// <summary>a@x.io/1 (the older person) and b@x.io/2, and what <see cref="IContactStore.FindClustersAsync"/> returns for a@x.io/2.</summary>
    private async Task<(ContactCluster Older, ContactIdentifiers Identifiers, IReadOnlyList<Contact> Snapshot)> TwoPersonsAndTheSnapshotOfTheirMergeAsync()
    {
        var older = await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await Reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        var identifiers = new ContactIdentifiers("a@x.io", "2");
        return (older, identifiers, await Store.FindClustersAsync(identifiers));
    }

    private static List<Contact> Alter(IReadOnlyList<Contact> stored, string difference)
    {
        var snapshot = stored.ToList();
        var last = snapshot[^1];
        switch (difference)
        {
            case "missing row":
                snapshot.RemoveAt(snapshot.Count - 1);
                break;
            case "extra row":
                snapshot.Add(last with { Id = last.Id + 100, Email = "e@x.io" });
                break;
            case "empty":
                snapshot.Clear();
                break;
            case "id":
                snapshot[^1] = last with { Id = last.Id + 100 };
                break;
            case "phone":
                snapshot[^1] = last with { PhoneNumber = "7" };
                break;
            case "email":
                snapshot[^1] = last with { Email = "e@x.io" };
                break;
            case "linkedId":
                snapshot[^1] = last with { LinkedId = snapshot[0].Id };
                break;
            case "precedence":
                snapshot[^1] = last with { LinkPrecedence = LinkPrecedence.Primary };
                break;
            case "updatedAt":
                snapshot[^1] = last with { UpdatedAt = last.UpdatedAt.AddSeconds(-1) };
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(difference), difference, null);
        }

        return snapshot;
    }
}
