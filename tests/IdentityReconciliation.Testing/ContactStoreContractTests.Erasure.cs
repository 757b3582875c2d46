namespace IdentityReconciliation.Testing;

/// <summary>What every store must do for merge evidence and erasure (issue 10): the same suite runs on every store.</summary>
public abstract partial class ContactStoreContractTests
{
    /// <summary>The persons of the multi-process erasure race: each is one person only through gone{k}@race.test.</summary>
    public const int RacePersons = 40;

    private Task<ContactCluster> Identify(string? email, string? phone) => Reconciler.IdentifyAsync(new IdentifyRequest(email, phone));

    /// <summary>
    /// The seed of the multi-process erasure race: person k is (u,P) (gone,P) (gone,Q) (v,Q), one person only through
    /// gone{k}@race.test, which the race erases.
    /// </summary>
    public static IEnumerable<(string Email, string Phone)> RaceSeed() =>
        Enumerable.Range(0, RacePersons).SelectMany(k => new[]
        {
            ($"u{k}@race.test", $"+1700{k:000}"),
            ($"gone{k}@race.test", $"+1700{k:000}"),
            ($"gone{k}@race.test", $"+1800{k:000}"),
            ($"v{k}@race.test", $"+1800{k:000}"),
        });

    /// <summary>The values the race erases.</summary>
    public static IEnumerable<string> RaceErased() => Enumerable.Range(0, RacePersons).Select(k => $"gone{k}@race.test");

    /// <summary>
    /// The guards every process of an erasure race runs with: the per-person limits are off, because the race grows persons
    /// past them on purpose and its outcome check expects every requested value to be stored; the limits have their own
    /// concurrency tests. The default blocklist stays on (no race value is a placeholder).
    /// </summary>
    public static IdentityReconciliationOptions RaceGuards => new() { MaxEmailsPerPerson = null, MaxPhoneNumbersPerPerson = null };

    /// <summary>
    /// Identify requests of one racing process, deterministic from its seed: they touch both halves of the persons being
    /// erased, add to them, join them again, and join persons to each other through shared new phone numbers. None carries
    /// an erased value.
    /// </summary>
    public static IEnumerable<(string? Email, string? Phone)> RaceRequests(int seed, int count)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var k = random.Next(RacePersons);
            yield return random.Next(5) switch
            {
                0 => ($"u{k}@race.test", $"+1700{k:000}"),
                1 => ($"u{k}@race.test", $"+1900{random.Next(100):000}"),
                2 => ($"w{random.Next(200)}@race.test", $"+1800{k:000}"),
                3 => ($"u{k}@race.test", $"+1800{k:000}"),
                _ => ($"v{k}@race.test", null),
            };
        }
    }

    /// <summary>After the race: the graph is whole, no erased value is left, and every value a request brought is there.</summary>
    public static void AssertRaceOutcome(IReadOnlyList<Contact> rows, IReadOnlyList<ContactLink> links, IEnumerable<(string? Email, string? Phone)> requests)
    {
        GraphInvariants.AssertAbsent(rows, links, RaceErased());
        GraphInvariants.AssertClustersAreComponents(rows, links);
        var emails = rows.Select(r => r.Email).OfType<string>().ToHashSet();
        var phones = rows.Select(r => r.PhoneNumber).OfType<string>().ToHashSet();
        foreach (var (email, phone) in requests)
        {
            if (email is not null)
            {
                emails.Should().Contain(email, "only gone{k} was erased");
            }

            if (phone is not null)
            {
                phones.Should().Contain(phone, "only gone{k} was erased");
            }
        }
    }

    [Fact]
    public async Task ReconcileAsync_JoinWithoutNewRow_RecordsTheRequestAsALinkInTheSameUnit()
    {
        await Identify("george@hillvalley.edu", "919191");
        await Identify("biffsucks@hillvalley.edu", "717171");
        (await ReadLinksAsync()).Should().BeEmpty("no request has joined two persons yet");

        await Identify("george@hillvalley.edu", "717171");
        await Identify("george@hillvalley.edu", "717171"); // nothing left to join: no second link

        var link = (await ReadLinksAsync()).Should().ContainSingle().Subject;
        link.Email.Should().Be("george@hillvalley.edu");
        link.PhoneNumber.Should().Be("717171");
        link.CreatedAt.Should().Be((await ReadAllAsync()).Single(r => r.Email == "biffsucks@hillvalley.edu").UpdatedAt, "recorded with the merge");
    }

    [Fact]
    public async Task ReconcileAsync_NewPrimariesAndSecondaries_RecordNoLink()
    {
        await Identify("a@x.io", "1");
        await Identify("b@x.io", "1");
        await Identify("b@x.io", "2");

        (await ReadLinksAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task EraseAsync_Email_LeavesNoRowOrLinkHoldingItAndSplitsWhatItHeldTogether()
    {
        var a = (await Identify("a@x.io", "1")).PrimaryContactId;                 // 1 (a,1)
        var b = (await Identify("b@x.io", "2")).PrimaryContactId;                 // 2 (b,2)
        await Identify("a@x.io", "2");                                            // joins them: link (a,2)
        var c = (await Identify("c@x.io", "1")).SecondaryContactIds.Max();        // 3 (c,1)
        var old = (await Identify("a@x.io", "9")).SecondaryContactIds.Max();      // 4 (a,9), soft-deleted below
        await SoftDeleteAsync(old, Clock.GetUtcNow());
        var unrelated = (await Identify("z@x.io", "7")).PrimaryContactId;
        var before = (await ReadAllAsync()).ToDictionary(r => r.Id);

        var result = await Reconciler.EraseAsync(new IdentifyRequest(" A@X.io ", null));

        result.ErasedContactIds.Should().BeEmpty();
        result.ChangedContactIds.Should().Equal(a, b, old);
        result.Persons.Should().BeEquivalentTo(
            new[]
            {
                new ContactCluster(a, ["c@x.io"], ["1"], [c]),
                new ContactCluster(b, ["b@x.io"], ["2"], []),
            },
            o => o.WithStrictOrdering());
        var rows = await ReadAllAsync();
        var links = await ReadLinksAsync();
        GraphInvariants.AssertAbsent(rows, links, ["a@x.io"]);
        GraphInvariants.AssertClustersAreComponents(rows, links);
        rows.Single(r => r.Id == old).PhoneNumber.Should().Be("9", "the soft-deleted row keeps its other value");
        foreach (var row in rows)
        {
            var changed = row.Id == a || row.Id == b || row.Id == old;
            (row.UpdatedAt > before[row.Id].UpdatedAt).Should().Be(changed, $"updatedAt of {row.Id} moves exactly when the row changes");
            row.CreatedAt.Should().Be(before[row.Id].CreatedAt);
        }

        rows.Single(r => r.Id == unrelated).Should().Be(before[unrelated]);
    }

    [Fact]
    public async Task EraseAsync_AValueStoredWithACharacterThatShowsNothing_IsErasedByValueThoughNoRequestMayBringIt()
    {
        // A value an earlier version stored before validation refused characters that show nothing: written through the
        // store, as that version did.
        var legacy = new ContactIdentifiers("lorraine\u200B@x.io", "1");
        await Store.ReconcileAsync(legacy, touched => ContactPlanner.Plan(legacy, touched, Clock.GetUtcNow()));
        await Identify("lorraine@x.io", "1");
        var identify = () => Reconciler.IdentifyAsync(new IdentifyRequest("lorraine\u200B@x.io", "2"));
        (await identify.Should().ThrowAsync<InvalidIdentifyRequestException>()).Which.ParamName.Should().Be("email");

        var result = await Reconciler.EraseAsync(new IdentifyRequest("lorraine\u200B@x.io", null));

        result.ErasedContactIds.Should().BeEmpty(); // the contact keeps its phone number
        result.Persons.Should().ContainSingle().Which.Emails.Should().Equal("lorraine@x.io");
        var rows = await ReadAllAsync();
        rows.Should().HaveCount(2);
        rows.Select(r => r.Email).Should().NotContain("lorraine\u200B@x.io");
        GraphInvariants.AssertAbsent(rows, await ReadLinksAsync(), ["lorraine\u200B@x.io"]);
    }

    [Fact]
    public async Task EraseAsync_ContactLeftWithNothing_IsDeletedAndTheNextOldestBecomesPrimary()
    {
        var first = (await Identify("a@x.io", null)).PrimaryContactId;
        await Identify("a@x.io", "2");
        var third = (await Identify("c@x.io", "2")).SecondaryContactIds.Max();
        var second = third - 1;

        var result = await Reconciler.EraseAsync(new IdentifyRequest("a@x.io", null));

        result.ErasedContactIds.Should().Equal(first);
        result.ChangedContactIds.Should().Equal(second, third);
        result.Persons.Should().ContainSingle().Which.Should().BeEquivalentTo(new ContactCluster(second, ["c@x.io"], ["2"], [third]));
        var rows = await ReadAllAsync();
        rows.Select(r => r.Id).Should().Equal(second, third);
        rows[0].LinkPrecedence.Should().Be(LinkPrecedence.Primary);
        rows[1].LinkedId.Should().Be(second);
        (await Reconciler.FindAsync(new IdentifyRequest(null, "2")))!.PrimaryContactId.Should().Be(second);
    }

    [Fact]
    public async Task EraseAsync_EmailAndPhone_ErasesBothInOneUnit()
    {
        await Identify("a@x.io", "1");
        await Identify("b@x.io", "1");
        await Identify("b@x.io", "2");

        var result = await Reconciler.EraseAsync(new IdentifyRequest("b@x.io", "1"));

        result.ErasedContactIds.Should().HaveCount(1, "(b, 1) held nothing else");
        result.Persons.Select(p => (p.Emails, p.PhoneNumbers)).Should().BeEquivalentTo(new[]
        {
            ((IReadOnlyList<string>)["a@x.io"], (IReadOnlyList<string>)[]),
            ((IReadOnlyList<string>)[], (IReadOnlyList<string>)["2"]),
        });
        GraphInvariants.AssertAbsent(await ReadAllAsync(), await ReadLinksAsync(), ["b@x.io", "1"]);
    }

    [Fact]
    public async Task EraseAsync_ValueNobodyHolds_ChangesNothing()
    {
        await Identify("a@x.io", "1");
        var before = await ReadAllAsync();

        var result = await Reconciler.EraseAsync(new IdentifyRequest("nobody@x.io", "999"));

        result.Should().BeEquivalentTo(ErasureResult.Nothing);
        (await ReadAllAsync()).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task EraseAsync_ValueHeldOnlyBySoftDeletedContacts_RemovesItFromThemAndNothingElse()
    {
        await Identify("a@x.io", "1");
        var gone = (await Identify("gone@x.io", "1")).SecondaryContactIds.Single();
        await SoftDeleteAsync(gone, Clock.GetUtcNow());
        var before = await ReadAllAsync();

        var result = await Reconciler.EraseAsync(new IdentifyRequest("gone@x.io", null));

        result.ChangedContactIds.Should().Equal(gone);
        result.Persons.Should().BeEmpty("no live contact held the value");
        var rows = await ReadAllAsync();
        rows.Single(r => r.Id == gone).Email.Should().BeNull();
        rows.Where(r => r.Id != gone).Should().BeEquivalentTo(before.Where(r => r.Id != gone), o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task ErasePersonAsync_DeletesEveryContactItsSoftDeletedContactsAndItsLinks_AndNothingElse()
    {
        var person = (await Identify("george@hillvalley.edu", "919191")).PrimaryContactId;
        await Identify("biffsucks@hillvalley.edu", "717171");
        await Identify("george@hillvalley.edu", "717171");                      // link (george, 717171)
        var old = (await Identify("old@hillvalley.edu", "919191")).SecondaryContactIds.Max();
        await SoftDeleteAsync(old, Clock.GetUtcNow());
        var other = await Identify("lorraine@hillvalley.edu", "123456");
        var before = await ReadAllAsync();
        var secondary = before.First(r => r.LinkedId == person).Id;

        var result = await Reconciler.ErasePersonAsync(secondary);

        result.ErasedContactIds.Should().Equal(before.Where(r => r.Id != other.PrimaryContactId).Select(r => r.Id));
        result.ChangedContactIds.Should().BeEmpty();
        result.Persons.Should().BeEmpty();
        var rows = await ReadAllAsync();
        rows.Should().BeEquivalentTo(before.Where(r => r.Id == other.PrimaryContactId));
        (await ReadLinksAsync()).Should().BeEmpty();
        (await Reconciler.FindAsync(new IdentifyRequest("george@hillvalley.edu", null))).Should().BeNull();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(999_999)]
    public async Task ErasePersonAsync_UnknownId_ErasesNothing(long contactId)
    {
        await Identify("a@x.io", "1");
        var before = await ReadAllAsync();

        var result = await Reconciler.ErasePersonAsync(contactId);

        result.Should().BeEquivalentTo(ErasureResult.Nothing);
        (await ReadAllAsync()).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task ErasePersonAsync_SoftDeletedContact_IsUnknownAndErasesNothing()
    {
        await Identify("a@x.io", "1");
        var deleted = (await Identify("b@x.io", "1")).SecondaryContactIds.Single();
        await SoftDeleteAsync(deleted, Clock.GetUtcNow());
        var before = await ReadAllAsync();

        var result = await Reconciler.ErasePersonAsync(deleted);

        result.Should().BeEquivalentTo(ErasureResult.Nothing);
        (await ReadAllAsync()).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task EraseAsync_PlanSeesTheScopeTheContractDefines()
    {
        var a = (await Identify("a@x.io", "1")).PrimaryContactId;
        await Identify("b@x.io", "2");
        await Identify("a@x.io", "2");                                            // link (a,2)
        await Identify("c@x.io", "3");                                            // another person, untouched
        var old = (await Identify("x@x.io", "1")).SecondaryContactIds.Max();
        await SoftDeleteAsync(old, Clock.GetUtcNow());
        var holder = (await Identify("q@x.io", "8")).PrimaryContactId;
        await SoftDeleteAsync(holder, Clock.GetUtcNow());                         // a soft-deleted holder of phone 8
        ErasureScope? seen = null;

        await Store.EraseAsync(new ContactIdentifiers(null, "1"), scope =>
        {
            seen = scope;
            return ErasureChangeSet.Empty;
        });

        seen!.Emails.Should().BeEmpty();
        seen.PhoneNumbers.Should().Equal("1");
        seen.PersonRootId.Should().BeNull();
        seen.Contacts.Select(c => c.Email).Should().Equal("a@x.io", "b@x.io");
        seen.Contacts.Select(c => c.Id).Should().BeInAscendingOrder();
        seen.DeletedContacts.Select(c => c.Id).Should().Equal(old);
        seen.DeletedContacts[0].DeletedAt.Should().NotBeNull();
        seen.Links.Select(l => (l.Email, l.PhoneNumber)).Should().Equal(("a@x.io", "2"));

        await Store.ErasePersonAsync(a, scope =>
        {
            seen = scope;
            return ErasureChangeSet.Empty;
        });

        seen!.PersonRootId.Should().Be(a);
        seen.Emails.Should().BeEquivalentTo("a@x.io", "b@x.io");
        seen.PhoneNumbers.Should().BeEquivalentTo("1", "2");
        seen.Contacts.Select(c => c.Email).Should().Equal("a@x.io", "b@x.io");
        seen.DeletedContacts.Select(c => c.Id).Should().Equal(old);
    }

    [Fact]
    public async Task EraseAsync_PlanThrows_WritesNothing()
    {
        await Identify("a@x.io", "1");
        var before = await ReadAllAsync();

        var act = () => Store.EraseAsync(new ContactIdentifiers("a@x.io", null), _ => throw new InvalidOperationException("boom"));

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("boom");
        (await ReadAllAsync()).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        (await Reconciler.EraseAsync(new IdentifyRequest("a@x.io", null))).ChangedContactIds.Should().ContainSingle();
    }

    [Fact]
    public async Task EraseAsync_AlreadyCancelled_ThrowsAndWritesNothing()
    {
        await Identify("a@x.io", "1");
        var before = await ReadAllAsync();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        var erase = () => Reconciler.EraseAsync(new IdentifyRequest("a@x.io", null), cts.Token);
        var erasePerson = () => Reconciler.ErasePersonAsync(before[0].Id, cts.Token);

        await erase.Should().ThrowAsync<OperationCanceledException>();
        await erasePerson.Should().ThrowAsync<OperationCanceledException>();
        (await ReadAllAsync()).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData(null, null, "request")]
    [InlineData("  ", "", "request")]
    [InlineData("a.x.io", null, "email")]
    [InlineData(null, "12-ab", "phoneNumber")]
    public async Task EraseAsync_InvalidRequest_ThrowsNamingTheFieldAndWritesNothing(string? email, string? phone, string field)
    {
        await Identify("a@x.io", "1");
        var before = await ReadAllAsync();

        var act = () => Reconciler.EraseAsync(new IdentifyRequest(email, phone));

        (await act.Should().ThrowAsync<InvalidIdentifyRequestException>()).Which.ParamName.Should().Be(field);
        (await ReadAllAsync()).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task IdentifyAsync_AfterAnErasure_StartsAfreshWithANewerId()
    {
        var first = await Identify("a@x.io", "1");
        var second = await Identify("b@x.io", "2");
        await Reconciler.ErasePersonAsync(second.PrimaryContactId);

        var again = await Identify("b@x.io", "2");

        again.PrimaryContactId.Should().BeGreaterThan(second.PrimaryContactId, "ids are never reused");
        again.SecondaryContactIds.Should().BeEmpty();
        (await Identify("a@x.io", "2")).SecondaryContactIds.Should().Equal(again.PrimaryContactId);
        first.PrimaryContactId.Should().BeLessThan(again.PrimaryContactId);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task IdentifyAndErase_RandomSequences_EqualTheReferenceModel(int seed)
    {
        var random = new Random(seed);
        var model = new ReferenceModel();

        for (var step = 0; step < 150; step++)
        {
            var roll = random.Next(10);
            if (roll < 7)
            {
                var (email, phone) = RandomRequest(random, universe: 8);
                var expected = model.Identify(email, phone);
                var actual = await Reconciler.IdentifyAsync(new IdentifyRequest(email, phone));
                actual.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), $"step {step}: identify ({email}, {phone}) with seed {seed}");
            }
            else if (roll < 9)
            {
                var (email, phone) = RandomRequest(random, universe: 8);
                var expected = model.Erase(email, phone);
                var actual = await Reconciler.EraseAsync(new IdentifyRequest(email, phone));
                actual.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), $"step {step}: erase ({email}, {phone}) with seed {seed}");
            }
            else
            {
                var ids = model.ContactIds;
                var id = ids.Count == 0 || random.Next(5) == 0 ? 1_000_000 : ids[random.Next(ids.Count)];
                var expected = model.ErasePerson(id);
                var actual = await Reconciler.ErasePersonAsync(id);
                actual.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), $"step {step}: erase person {id} with seed {seed}");
            }
        }

        var rows = await ReadAllAsync();
        rows.Should().HaveCount(model.RowCount);
        GraphInvariants.AssertClustersAreComponents(rows, await ReadLinksAsync());
        FeedReplay.PrimaryOf(await Feed()).Should().BeEquivalentTo(model.PrimaryOfEachRow(), "replaying the change feed gives the model's persons");
    }

    [Fact]
    public async Task EraseAsync_RacingIdentifyOfTheSamePersons_KeepsTheGraphWholeAndTheValueGone()
    {
        // Each person k is one person only through gone{k}: (u,P) (gone,P) (gone,Q) (v,Q). Erasing gone{k} splits it in two
        // while other requests touch both halves, bridge them again (u,Q), or add to them.
        const int Persons = 6;
        for (var k = 0; k < Persons; k++)
        {
            await Identify($"u{k}@x.io", $"10{k}");
            await Identify($"gone{k}@x.io", $"10{k}");
            await Identify($"gone{k}@x.io", $"20{k}");
            await Identify($"v{k}@x.io", $"20{k}");
        }

        var racers = new List<Func<Task>>();
        for (var k = 0; k < Persons; k++)
        {
            var n = k;
            racers.Add(() => Reconciler.EraseAsync(new IdentifyRequest($"gone{n}@x.io", null)));
            for (var i = 0; i < 6; i++)
            {
                var j = i;
                racers.Add(() => Identify($"u{n}@x.io", $"3{n}{j}"));
                racers.Add(() => Identify($"w{n}{j}@x.io", $"20{n}"));
                racers.Add(() => Identify($"u{n}@x.io", $"20{n}"));
                racers.Add(() => Reconciler.FindAsync(new IdentifyRequest($"v{n}@x.io", $"10{n}")));
            }
        }

        var order = racers.OrderBy(_ => Random.Shared.Next()).ToList();
        using var start = new ManualResetEventSlim();
        var tasks = order.Select(racer => Task.Run(async () =>
        {
            start.Wait();
            await racer();
        })).ToArray();
        start.Set();
        await Task.WhenAll(tasks);

        var rows = await ReadAllAsync();
        var links = await ReadLinksAsync();
        GraphInvariants.AssertAbsent(rows, links, Enumerable.Range(0, Persons).Select(k => $"gone{k}@x.io"));
        GraphInvariants.AssertClustersAreComponents(rows, links);
        for (var k = 0; k < Persons; k++)
        {
            // Whatever the order, nothing but gone{k} was erased, and u{k} and 10{k} were never apart.
            var view = await Reconciler.FindAsync(new IdentifyRequest($"u{k}@x.io", null));
            view!.PhoneNumbers.Should().Contain($"10{k}").And.Contain(Enumerable.Range(0, 6).Select(j => $"3{k}{j}"));
            rows.Should().Contain(r => r.Email == $"v{k}@x.io").And.Contain(r => r.PhoneNumber == $"20{k}");
        }
    }

    /// <summary>
    /// Seeds (u,1) (gone,1) (gone,2) (v,2), one person only through gone@x.io, and starts erasing gone@x.io with its plan
    /// held until <paramref name="release"/> is set; returns the erasure once it is in its plan.
    /// </summary>
    private async Task<Task<IReadOnlyList<Contact>>> HoldErasureOfGoneInItsPlanAsync(ManualResetEventSlim release)
    {
        await Identify("u@x.io", "1");
        await Identify("gone@x.io", "1");
        await Identify("gone@x.io", "2");
        await Identify("v@x.io", "2");
        using var entered = new ManualResetEventSlim();
        var erasure = Task.Run(() => Store.EraseAsync(new ContactIdentifiers("gone@x.io", null), scope =>
        {
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(30));
            return ErasurePlanner.Plan(scope, Clock.GetUtcNow());
        }));
        entered.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue("the erasure reaches its plan");
        return erasure;
    }

    [Fact]
    public async Task EraseAsync_InProgress_AConcurrentRequestForThePersonSeesItOnlyAfterItCommits()
    {
        using var release = new ManualResetEventSlim();
        var erasure = await HoldErasureOfGoneInItsPlanAsync(release);

        // A request that writes to the person: it must wait for the erasure, then see the split person.
        var identify = Task.Run(() => Identify("v@x.io", "3"));
        (await Task.WhenAny(identify, Task.Delay(300))).Should().NotBeSameAs(identify, "the person is being erased");
        release.Set();
        await erasure;
        var view = await identify;

        view.Emails.Should().Equal("v@x.io");
        view.PhoneNumbers.Should().Equal("2", "3");
        GraphInvariants.AssertAbsent(await ReadAllAsync(), await ReadLinksAsync(), ["gone@x.io"]);
        GraphInvariants.AssertClustersAreComponents(await ReadAllAsync(), await ReadLinksAsync());
    }

    [Fact]
    public async Task EraseAsync_WhileARequestForThePersonIsInProgress_WaitsAndErasesWhatItWrote()
    {
        await Identify("u@x.io", "1");
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var identifiers = new ContactIdentifiers("u@x.io", "2");
        var identify = Task.Run(() => Store.ReconcileAsync(identifiers, touched =>
        {
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(30));
            return ContactPlanner.Plan(identifiers, touched, Clock.GetUtcNow());
        }));
        entered.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue("the request reaches its plan");

        var erasure = Task.Run(() => Reconciler.EraseAsync(new IdentifyRequest("u@x.io", null)));
        (await Task.WhenAny(erasure, Task.Delay(300))).Should().NotBeSameAs(erasure, "a request is writing to the person");
        release.Set();
        (await identify).Should().HaveCount(2);
        var result = await erasure;

        result.ChangedContactIds.Should().HaveCount(2, "the erasure saw the contact the request inserted: (u, 2) lost u");
        result.Persons.Select(p => p.PhoneNumbers.Single()).Should().Equal(["1", "2"], "u alone joined the two contacts");
        GraphInvariants.AssertAbsent(await ReadAllAsync(), await ReadLinksAsync(), ["u@x.io"]);
    }

    [Fact]
    public async Task EraseAsync_TheSameValueTwiceAtOnce_TheSecondWaitsAndFindsNothingLeft()
    {
        using var release = new ManualResetEventSlim();
        var first = await HoldErasureOfGoneInItsPlanAsync(release);

        // The same value again, and the phone number the value shares a contact with: both reach the rows being erased.
        var second = Task.Run(() => Reconciler.EraseAsync(new IdentifyRequest("gone@x.io", null)));
        var third = Task.Run(() => Reconciler.EraseAsync(new IdentifyRequest(null, "2")));
        var waiting = Task.Delay(300);
        (await Task.WhenAny(second, third, waiting)).Should().BeSameAs(waiting, "the rows are being erased");
        release.Set();
        (await first).Should().NotBeNull();
        var again = await second;
        var phone = await third;

        again.ErasedContactIds.Should().BeEmpty("the first erasure took the value from every row");
        again.ChangedContactIds.Should().BeEmpty("the first erasure took the value from every row");
        phone.Persons.SelectMany(p => p.PhoneNumbers).Should().NotContain("2");
        var rows = await ReadAllAsync();
        var links = await ReadLinksAsync();
        GraphInvariants.AssertAbsent(rows, links, ["gone@x.io", "2"]);
        GraphInvariants.AssertClustersAreComponents(rows, links);
        rows.Should().Contain(r => r.Email == "u@x.io" && r.PhoneNumber == "1").And.Contain(r => r.Email == "v@x.io");
    }
}
