namespace IdentityReconciliation.Testing;

/// <summary>The contract of <see cref="IContactStore.ReconcileManyAsync"/>: order, atomicity, failure and cancellation.</summary>
public abstract partial class ContactStoreContractTests
{
    private static readonly DateTimeOffset BulkNow = new(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public async Task ReconcileManyAsync_Requests_AppliesEachFromTheStateAfterThePreviousOnes()
    {
        ContactIdentifiers[] requests =
        [
            new("a@x.io", "1"), // new primary
            new("b@x.io", "1"), // secondary of the first: sees the first
            new("c@x.io", "9"), // another person
            new("c@x.io", "1"), // merges them: sees both
            new("a@x.io", "1"), // nothing new
        ];

        var results = await ReconcileManyAsync(requests);

        results.Should().HaveCount(5);
        results[0].Should().ContainSingle().Which.LinkPrecedence.Should().Be(LinkPrecedence.Primary);
        var first = results[0][0].Id;
        results[1].Select(c => (c.Email, c.LinkedId)).Should().Equal(("a@x.io", null), ("b@x.io", (long?)first));
        var third = results[2].Should().ContainSingle().Subject.Id;
        third.Should().BeGreaterThan(results[1][1].Id);
        results[3].Should().HaveCount(3).And.OnlyContain(c => c.RootId == first);
        results[3].Single(c => c.Id == third).UpdatedAt.Should().Be(BulkNow);
        results[4].Should().BeEquivalentTo(results[3]);
        var rows = await ReadAllAsync();
        rows.Select(r => r.Id).Should().Equal(first, results[1][1].Id, third);
        rows.Should().BeEquivalentTo(results[3]);
        (await ReadLinksAsync()).Should().ContainSingle().Which.Should().Be(new ContactLink("c@x.io", "1", BulkNow));
    }

    [Fact]
    public async Task ReconcileManyAsync_Requests_WriteTheSameChangeFeedAsOneByOne()
    {
        ContactIdentifiers[] requests = [new("a@x.io", "1"), new("b@x.io", "2"), new("b@x.io", "1"), new("c@x.io", "3")];

        await ReconcileManyAsync(requests);

        var changes = await Store.GetChangesAsync(0, 100);
        var rows = await ReadAllAsync();
        changes.Where(c => c.Kind == ContactChangeKind.PrimaryCreated).Select(c => c.ContactId).Should().Equal(rows[0].Id, rows[1].Id, rows[2].Id);
        var kinds = changes.Select(c => c.Kind).ToList();
        kinds.IndexOf(ContactChangeKind.PersonsMerged).Should().BeGreaterThan(1).And.BeLessThan(kinds.LastIndexOf(ContactChangeKind.PrimaryCreated), "entries follow request order");
        changes.Select(c => c.Sequence).Should().BeInAscendingOrder();
        changes.Should().OnlyContain(c => c.OccurredAt == BulkNow);
    }

    [Fact]
    public async Task ReconcileManyAsync_EmptyList_YieldsNothingAndWritesNothing()
    {
        var results = await ReconcileManyAsync([]);

        results.Should().BeEmpty();
        (await ReadAllAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task ReconcileManyAsync_PlanThrowsMidway_KeepsWhatWasYieldedAndAppliesNothingAfter()
    {
        var requests = Enumerable.Range(0, 40).Select(i => new ContactIdentifiers($"p{i}@x.io", (i % 7).ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        var yielded = new List<IReadOnlyList<Contact>>();

        var act = async () =>
        {
            await foreach (var result in Store.ReconcileManyAsync(
                requests,
                (i, touched) => i == 23 ? throw new InvalidOperationException("plan failed") : ContactPlanner.Plan(requests[i], touched, BulkNow)))
            {
                yielded.Add(result);
            }
        };

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("plan failed");
        yielded.Count.Should().BeLessThanOrEqualTo(23);
        var rows = await ReadAllAsync();
        rows.Select(r => r.Email).Should().Equal(requests.Take(yielded.Count).Select(r => r.Email), "exactly the yielded requests are applied, in order");
        yielded.Select(r => r.Max(c => c.Id)).Should().Equal(rows.Select(r => r.Id), "each yielded result holds its own insert");

        // The store still works after the failure, and continues the order.
        await Reconciler.IdentifyAsync(new IdentifyRequest("after@x.io", "100"));
        (await ReadAllAsync()).Should().HaveCount(rows.Count + 1);
    }

    [Fact]
    public async Task ReconcileManyAsync_CancelledBeforehand_ThrowsAndWritesNothing()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        var act = async () =>
        {
            await foreach (var _ in Store.ReconcileManyAsync([new("a@x.io", "1")], (_, touched) => ContactPlanner.Plan(new("a@x.io", "1"), touched, BulkNow), cancellation.Token))
            {
            }
        };

        await act.Should().ThrowAsync<OperationCanceledException>();
        (await ReadAllAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task ReconcileManyAsync_NullArguments_Throw()
    {
        var nullList = () => Store.ReconcileManyAsync(null!, (_, _) => ContactChangeSet.Empty).GetAsyncEnumerator().MoveNextAsync().AsTask();
        var nullPlan = () => Store.ReconcileManyAsync([new("a@x.io", null)], null!).GetAsyncEnumerator().MoveNextAsync().AsTask();

        await nullList.Should().ThrowAsync<ArgumentNullException>();
        await nullPlan.Should().ThrowAsync<ArgumentNullException>();
        (await ReadAllAsync()).Should().BeEmpty();
    }

    /// <summary>Runs the batch, planning each request with <see cref="ContactPlanner.Plan"/> for its own identifiers.</summary>
    private async Task<List<IReadOnlyList<Contact>>> ReconcileManyAsync(IReadOnlyList<ContactIdentifiers> requests)
    {
        var results = new List<IReadOnlyList<Contact>>();
        await foreach (var result in Store.ReconcileManyAsync(requests, (i, touched) => ContactPlanner.Plan(requests[i], touched, BulkNow)))
        {
            results.Add(result);
        }

        return results;
    }
}
