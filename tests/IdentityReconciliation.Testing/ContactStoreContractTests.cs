namespace IdentityReconciliation.Testing;

/// <summary>
/// What every <see cref="IContactStore"/> must do. A store's test class derives from this one and says how to create an
/// empty store and how to read its rows from outside the library.
/// </summary>
public abstract partial class ContactStoreContractTests : IAsyncLifetime
{
    private IContactStore? _store;

    protected ManualTimeProvider Clock { get; } = new() { AutoAdvance = TimeSpan.FromMilliseconds(1) };

    protected IContactStore Store => _store ?? throw new InvalidOperationException("Not initialised.");

    protected IdentityReconciler Reconciler { get; private set; } = null!;

    /// <summary>Creates a new, empty store.</summary>
    protected abstract Task<IContactStore> CreateStoreAsync();

    /// <summary>Reads every row, soft-deleted ones included, without going through the store.</summary>
    protected abstract Task<IReadOnlyList<Contact>> ReadAllAsync();

    /// <summary>Soft-deletes a row without going through the store.</summary>
    protected abstract Task SoftDeleteAsync(long id, DateTimeOffset at);

    /// <summary>Reads every recorded link (merge evidence) without going through the store.</summary>
    protected abstract Task<IReadOnlyList<ContactLink>> ReadLinksAsync();

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        Reconciler = new IdentityReconciler(Store, DefaultContactNormalizer.Instance, Clock, null);
    }

    public virtual async Task DisposeAsync()
    {
        switch (_store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    [Fact]
    public async Task FindClustersAsync_EmptyStore_ReturnsEmpty()
    {
        var found = await Store.FindClustersAsync(new ContactIdentifiers("a@x.io", "1"));

        found.Should().BeEmpty();
    }

    [Fact]
    public async Task ReconcileAsync_NewIdentity_InsertsPrimaryWithAscendingIds()
    {
        var first = await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var second = await Reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));

        second.PrimaryContactId.Should().BeGreaterThan(first.PrimaryContactId);
        var rows = await ReadAllAsync();
        rows.Should().HaveCount(2);
        rows.Should().OnlyContain(r => r.LinkPrecedence == LinkPrecedence.Primary && r.LinkedId == null && r.CreatedAt == r.UpdatedAt);
    }

    [Fact]
    public async Task FindClustersAsync_MatchOnSecondary_ReturnsWholeClusterOnly()
    {
        var a = await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await Reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "1"));
        await Reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "1"));
        await Reconciler.IdentifyAsync(new IdentifyRequest("other@x.io", "9"));

        var found = await Store.FindClustersAsync(new ContactIdentifiers("c@x.io", null));

        found.Select(c => c.Email).Should().Equal("a@x.io", "b@x.io", "c@x.io");
        found.Select(c => c.Id).Should().BeInAscendingOrder();
        found[0].Id.Should().Be(a.PrimaryContactId);
        found.Skip(1).Should().OnlyContain(c => c.LinkedId == a.PrimaryContactId && c.LinkPrecedence == LinkPrecedence.Secondary);
    }

    [Fact]
    public async Task FindClustersAsync_SoftDeletedContact_NeitherMatchesNorAppears()
    {
        await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var withB = await Reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "1"));
        var deletedId = withB.SecondaryContactIds.Single();
        await SoftDeleteAsync(deletedId, Clock.GetUtcNow());

        (await Store.FindClustersAsync(new ContactIdentifiers("b@x.io", null))).Should().BeEmpty();
        (await Store.FindClustersAsync(new ContactIdentifiers(null, "1"))).Select(c => c.Id).Should().NotContain(deletedId);
        var view = await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", null));
        view.Emails.Should().Equal("a@x.io");
        view.SecondaryContactIds.Should().BeEmpty();
    }

    [Fact]
    public async Task ReconcileAsync_PlanThrows_WritesNothing()
    {
        await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var before = await ReadAllAsync();

        var act = () => Store.ReconcileAsync(new ContactIdentifiers("a@x.io", "2"), _ => throw new InvalidOperationException("boom"));

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("boom");
        (await ReadAllAsync()).Should().BeEquivalentTo(before);
        (await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "2"))).PhoneNumbers.Should().Equal("1", "2");
    }

    [Fact]
    public async Task ReconcileAsync_EmptyChangeSet_WritesNothingAndReturnsTouched()
    {
        await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var before = await ReadAllAsync();

        var result = await Store.ReconcileAsync(new ContactIdentifiers("a@x.io", null), _ => ContactChangeSet.Empty);

        result.Should().BeEquivalentTo(before);
        (await ReadAllAsync()).Should().BeEquivalentTo(before);
    }

    [Fact]
    public async Task ReconcileAsync_PlanSeesTheTouchedClustersInsideTheUnit()
    {
        await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await Reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        IReadOnlyList<Contact>? seen = null;

        await Store.ReconcileAsync(new ContactIdentifiers("a@x.io", "2"), touched =>
        {
            seen = touched;
            return ContactChangeSet.Empty;
        });

        seen.Should().NotBeNull();
        seen!.Select(c => c.Email).Should().Equal("a@x.io", "b@x.io");
    }

    [Fact]
    public async Task ReconcileAsync_Merge_UpdatesOnlyChangedRowsAndReturnsAppliedView()
    {
        var older = await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var newer = await Reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        await Reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "2")); // secondary of the newer primary
        await Reconciler.IdentifyAsync(new IdentifyRequest("z@x.io", "9")); // unrelated
        var before = (await ReadAllAsync()).ToDictionary(c => c.Id);

        var merged = await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "2"));

        merged.PrimaryContactId.Should().Be(older.PrimaryContactId);
        merged.Emails.Should().Equal("a@x.io", "b@x.io", "c@x.io");
        merged.PhoneNumbers.Should().Equal("1", "2");
        var after = (await ReadAllAsync()).ToDictionary(c => c.Id);
        after.Should().HaveCount(before.Count, "joining two clusters inserts no row");
        after[newer.PrimaryContactId].LinkPrecedence.Should().Be(LinkPrecedence.Secondary);
        after.Values.Where(c => c.Id != older.PrimaryContactId && c.Email != "z@x.io").Should().OnlyContain(c => c.LinkedId == older.PrimaryContactId);
        foreach (var (id, row) in after)
        {
            var changed = row.LinkedId != before[id].LinkedId || row.LinkPrecedence != before[id].LinkPrecedence;
            (row.UpdatedAt > before[id].UpdatedAt).Should().Be(changed, $"updatedAt of {id} moves exactly when the row changes");
            row.CreatedAt.Should().Be(before[id].CreatedAt);
        }
    }

    [Fact]
    public async Task ReconcileAsync_ValuesAndTimestamps_RoundTripExactly()
    {
        var odd = "o'brien\"; drop table contact; --@ex.io"; // already normalised: stored literally
        var cluster = await Reconciler.IdentifyAsync(new IdentifyRequest(odd, "+4412345"));
        var instant = new DateTimeOffset(2023, 4, 1, 0, 0, 0, TimeSpan.Zero); // the manual clock's first reading

        var rows = await ReadAllAsync();

        rows.Should().ContainSingle();
        rows[0].Email.Should().Be(odd);
        rows[0].PhoneNumber.Should().Be("+4412345");
        rows[0].CreatedAt.Should().BeCloseTo(instant, TimeSpan.FromSeconds(1));
        rows[0].CreatedAt.Offset.Should().Be(TimeSpan.Zero);
        (await Reconciler.FindAsync(new IdentifyRequest(odd, null)))!.PrimaryContactId.Should().Be(cluster.PrimaryContactId);
    }

    [Fact]
    public async Task ReconcileAsync_AlreadyCancelled_ThrowsAndWritesNothing()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        var act = () => Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"), cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        (await ReadAllAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task IdentifyAsync_SeedExample_MatchesTheProductVerbatim()
    {
        var lorraine = await Reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        lorraine.Emails.Should().Equal("lorraine@hillvalley.edu");
        lorraine.SecondaryContactIds.Should().BeEmpty();

        var mcfly = await Reconciler.IdentifyAsync(new IdentifyRequest("mcfly@hillvalley.edu", "123456"));
        foreach (var request in new[]
        {
            new IdentifyRequest(null, "123456"),
            new IdentifyRequest("lorraine@hillvalley.edu", null),
            new IdentifyRequest("mcfly@hillvalley.edu", null),
        })
        {
            var view = await Reconciler.IdentifyAsync(request);
            view.PrimaryContactId.Should().Be(lorraine.PrimaryContactId);
            view.Emails.Should().Equal("lorraine@hillvalley.edu", "mcfly@hillvalley.edu");
            view.PhoneNumbers.Should().Equal("123456");
            view.SecondaryContactIds.Should().ContainSingle().Which.Should().BeGreaterThan(lorraine.PrimaryContactId);
            view.Should().BeEquivalentTo(mcfly);
        }

        var george = await Reconciler.IdentifyAsync(new IdentifyRequest("george@hillvalley.edu", "919191"));
        var biff = await Reconciler.IdentifyAsync(new IdentifyRequest("biffsucks@hillvalley.edu", "717171"));
        var rowsBefore = (await ReadAllAsync()).Count;

        var merged = await Reconciler.IdentifyAsync(new IdentifyRequest("george@hillvalley.edu", "717171"));

        merged.PrimaryContactId.Should().Be(george.PrimaryContactId);
        merged.Emails.Should().Equal("george@hillvalley.edu", "biffsucks@hillvalley.edu");
        merged.PhoneNumbers.Should().Equal("919191", "717171");
        merged.SecondaryContactIds.Should().Equal(biff.PrimaryContactId);
        (await ReadAllAsync()).Should().HaveCount(rowsBefore, "no new row");
    }

    [Fact]
    public async Task IdentifyAsync_64ParallelIdenticalNewRequests_CreateExactlyOneRow()
    {
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 64)
            .Select(_ => Task.Run(async () =>
            {
                start.Wait();
                return await Reconciler.IdentifyAsync(new IdentifyRequest("same@x.io", "555"));
            }))
            .ToArray();
        start.Set();

        var results = await Task.WhenAll(tasks);

        var rows = await ReadAllAsync();
        rows.Should().ContainSingle();
        GraphInvariants.AssertHold(rows, [("same@x.io", "555")]);
        results.Select(r => r.PrimaryContactId).Distinct().Should().ContainSingle();
        results.Should().OnlyContain(r => r.SecondaryContactIds.Count == 0);
    }

    [Fact]
    public async Task IdentifyAsync_ParallelBridgingRequests_LeaveOnePrimary()
    {
        var clusters = new List<ContactCluster>();
        // Phones 111 to 444 (000 would be a placeholder, blocked by the default guards).
        static string Phone(int i) => new((char)('1' + i), 3);
        for (var i = 0; i < 4; i++)
        {
            clusters.Add(await Reconciler.IdentifyAsync(new IdentifyRequest($"e{i}@x.io", Phone(i))));
            await Reconciler.IdentifyAsync(new IdentifyRequest($"s{i}@x.io", Phone(i))); // each has a secondary to re-point
        }

        var bridges = new[] { ("e0@x.io", "222"), ("e1@x.io", "333"), ("e2@x.io", "444"), ("s3@x.io", "111"), ("s1@x.io", "444") };
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 64)
            .Select(i => Task.Run(async () =>
            {
                start.Wait();
                var (email, phone) = bridges[i % bridges.Length];
                return await Reconciler.IdentifyAsync(new IdentifyRequest(email, phone));
            }))
            .ToArray();
        start.Set();
        await Task.WhenAll(tasks);

        var rows = await ReadAllAsync();
        rows.Should().HaveCount(8, "bridging requests insert nothing");
        rows.Where(r => r.LinkPrecedence == LinkPrecedence.Primary).Select(r => r.Id).Should().Equal(clusters[0].PrimaryContactId);
        var requests = Enumerable.Range(0, 4).SelectMany(i => new (string?, string?)[] { ($"e{i}@x.io", Phone(i)), ($"s{i}@x.io", Phone(i)) })
            .Concat(bridges.Select(b => ((string?)b.Item1, (string?)b.Item2)));
        GraphInvariants.AssertHold(rows, requests);
        var final = await Reconciler.IdentifyAsync(new IdentifyRequest("e3@x.io", null));
        final.SecondaryContactIds.Should().HaveCount(7);
    }

    [Fact]
    public async Task IdentifyAsync_ParallelRandomRequests_KeepInvariantsAndRepeatsChangeNothing()
    {
        var random = new Random(20261121);
        var requests = Enumerable.Range(0, 400).Select(_ => RandomRequest(random, universe: 12)).ToList();

        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (request, ct) =>
            await Reconciler.IdentifyAsync(new IdentifyRequest(request.Email, request.Phone), ct));

        var rows = await ReadAllAsync();
        GraphInvariants.AssertHold(rows, requests, new IdentityReconciliationOptions()); // the default guards: 12 emails may reach the limit of 10

        foreach (var request in requests.Distinct())
        {
            await Reconciler.IdentifyAsync(new IdentifyRequest(request.Email, request.Phone));
        }

        (await ReadAllAsync()).Should().BeEquivalentTo(rows, o => o.WithStrictOrdering(), "repeating any request changes nothing");
    }

    [Fact]
    public async Task IdentifyAsync_64ParallelNewEmailsOnOnePhone_NeverExceedTheLimit()
    {
        var options = new IdentityReconciliationOptions { MaxEmailsPerPerson = 3 };
        var reconciler = new IdentityReconciler(Store, DefaultContactNormalizer.Instance, Clock, Microsoft.Extensions.Options.Options.Create(options), null);
        var requests = Enumerable.Range(0, 64).Select(i => ((string?)$"buyer{i}@x.io", (string?)"+15550100")).ToList();
        using var start = new ManualResetEventSlim();
        var tasks = requests
            .Select(request => Task.Run(async () =>
            {
                start.Wait();
                return await reconciler.IdentifyDetailedAsync(new IdentifyRequest(request.Item1, request.Item2));
            }))
            .ToArray();
        start.Set();

        var results = await Task.WhenAll(tasks);

        var rows = await ReadAllAsync();
        GraphInvariants.AssertHold(rows, requests, options);
        var hub = await reconciler.IdentifyAsync(new IdentifyRequest(null, "+15550100"));
        hub.Emails.Should().HaveCount(3, "the hub fills up to its limit and no further");
        rows.Should().HaveCount(64, "3 contacts of the hub and 61 persons of one email each");
        results.Where(r => r.SetAside.Count == 0).Should().HaveCount(3).And.OnlyContain(r => r.Contact.PrimaryContactId == hub.PrimaryContactId);
        results.Where(r => r.SetAside.Count > 0).Should().OnlyContain(r =>
            r.Outcome == IdentifyOutcome.PrimaryCreated
            && r.Contact.Emails.Count == 1
            && r.Contact.PhoneNumbers.Count == 0
            && r.SetAside.Single() == new SetAsideIdentifier(ContactIdentifierKind.PhoneNumber, "+15550100", SetAsideReason.EmailLimit));
    }

    [Fact]
    public async Task IdentifyAsync_BlockedValues_AreNeverStoredNorMatched()
    {
        var first = await Reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "000 000 0000"));
        var second = await Reconciler.IdentifyAsync(new IdentifyRequest("noemail@noemail.com", "1"));
        var third = await Reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "0000000000"));

        third.PrimaryContactId.Should().NotBe(first.PrimaryContactId);
        second.Emails.Should().BeEmpty();
        var rows = await ReadAllAsync();
        rows.Select(r => (r.Email, r.PhoneNumber)).Should().Equal(("a@x.io", null), (null, "1"), ("b@x.io", null));
        (await Store.FindClustersAsync(new ContactIdentifiers(null, "0000000000"))).Should().BeEmpty();
        var act = () => Reconciler.IdentifyAsync(new IdentifyRequest("noemail@noemail.com", "0000000000"));
        await act.Should().ThrowAsync<InvalidIdentifyRequestException>();
        (await ReadAllAsync()).Should().HaveCount(3);
    }

    public static (string? Email, string? Phone) RandomRequest(Random random, int universe)
    {
        var roll = random.Next(10);
        var email = roll < 8 ? $"user{random.Next(universe)}@example.com" : null;
        var phone = roll is >= 2 and < 10 || email is null ? $"+1555{random.Next(universe):000}" : null;
        return (email, phone);
    }
}
