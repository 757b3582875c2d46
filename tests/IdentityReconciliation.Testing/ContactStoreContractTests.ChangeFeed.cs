namespace IdentityReconciliation.Testing;

// The change feed, history and explanation (issue 11): what every store must record, in the unit that commits each change.
public abstract partial class ContactStoreContractTests
{
    private static string Phone(int n) => (5550100 + n).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private Task<List<ContactChange>> Feed() => FeedReplay.ReadAllAsync((after, max) => Store.GetChangesAsync(after, max));

    [Fact]
    public async Task GetChangesAsync_EmptyStore_ReturnsNothing()
    {
        (await Store.GetChangesAsync(0, 100)).Should().BeEmpty();
        (await Store.GetHistoryAsync(1)).Should().BeEmpty();
        (await Store.LoadPersonAsync(1)).Should().BeNull();
    }

    [Fact]
    public async Task GetChangesAsync_EachKindOfRequest_RecordsItsEntriesInCommitOrder()
    {
        var george = (await Identify("george@hillvalley.edu", "919191")).PrimaryContactId;   // primary
        var biff = (await Identify("biffsucks@hillvalley.edu", "717171")).PrimaryContactId;  // primary
        var biff2 = (await Identify("biff2@hillvalley.edu", "717171")).SecondaryContactIds.Single(); // secondary of biff
        await Identify("george@hillvalley.edu", "919191");                                   // returning customer: no entry
        await Identify("george@hillvalley.edu", "717171");                                   // joins biff's person into george's
        var rows = (await ReadAllAsync()).ToDictionary(r => r.Id);

        var feed = await Feed();

        feed.Select(e => (e.Kind, e.ContactId, e.PrimaryContactId, string.Join(",", e.RelatedContactIds))).Should().Equal(
            (ContactChangeKind.PrimaryCreated, george, george, ""),
            (ContactChangeKind.PrimaryCreated, biff, biff, ""),
            (ContactChangeKind.SecondaryCreated, biff2, biff, ""),
            (ContactChangeKind.PersonsMerged, biff, george, biff2.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        feed.Select(e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems().And.OnlyContain(s => s > 0);
        feed[0].OccurredAt.Should().Be(rows[george].CreatedAt);
        feed[2].OccurredAt.Should().Be(rows[biff2].CreatedAt);
        feed[3].OccurredAt.Should().Be(rows[biff].UpdatedAt, "the merge's time is the updatedAt it wrote");
        FeedReplay.AssertRebuilds(feed, [.. rows.Values]);
    }

    [Fact]
    public async Task GetChangesAsync_MergeOfAPersonWithSecondaries_RecordsOneEntryWithTheRepointedContacts()
    {
        var a = (await Identify("a@x.io", "1")).PrimaryContactId;
        var b = (await Identify("b@x.io", "2")).PrimaryContactId;
        var b3 = (await Identify("b@x.io", "3")).SecondaryContactIds.Single();
        var b4 = (await Identify("b@x.io", "4")).SecondaryContactIds.Max();
        var c = (await Identify("c@x.io", "1")).SecondaryContactIds.Single();
        var before = (await Feed()).Count;

        await Identify("a@x.io", "3"); // joins b's person, through its secondary b3, into a's (older)
        var feed = await Feed();

        var merge = feed.Skip(before).Should().ContainSingle().Subject;
        merge.Kind.Should().Be(ContactChangeKind.PersonsMerged);
        merge.ContactId.Should().Be(b);
        merge.PrimaryContactId.Should().Be(a);
        merge.RelatedContactIds.Should().Equal(b3, b4);
        c.Should().BeGreaterThan(b4);
        FeedReplay.AssertRebuilds(feed, await ReadAllAsync());
    }

    [Fact]
    public async Task GetChangesAsync_Paging_ReturnsEveryEntryOnceInOrder()
    {
        for (var i = 0; i < 12; i++)
        {
            await Identify($"p{i}@x.io", Phone(i % 5));
        }

        var all = await Store.GetChangesAsync(0, 1000);
        var paged = await FeedReplay.ReadAllAsync((after, max) => Store.GetChangesAsync(after, max), pageSize: 5);

        all.Should().HaveCount(12);
        paged.Should().Equal(all);
        (await Store.GetChangesAsync(all[^1].Sequence, 10)).Should().BeEmpty();
        (await Store.GetChangesAsync(all[3].Sequence, 2)).Should().Equal(all[4], all[5]);
    }

    [Fact]
    public async Task GetChangesAsync_PlanThatThrows_LeavesNoEntry()
    {
        await Identify("a@x.io", "1");
        var before = await Feed();

        var act = () => Store.ReconcileAsync(new ContactIdentifiers("b@x.io", "2"), _ => throw new InvalidOperationException("planner failed"));

        await act.Should().ThrowAsync<InvalidOperationException>();
        (await Feed()).Should().Equal(before);
        await Identify("c@x.io", "3");
        (await Feed()).Should().HaveCount(before.Count + 1, "the store still records the next change");
    }

    [Fact]
    public async Task GetChangesAsync_Erasure_RecordsValuesErasedAndTheSplit()
    {
        var a = (await Identify("a@x.io", "1")).PrimaryContactId;                 // (a,1)
        var b = (await Identify("b@x.io", "2")).PrimaryContactId;                 // (b,2)
        await Identify("a@x.io", "2");                                            // joins them by a link
        var c = (await Identify("c@x.io", "2")).SecondaryContactIds.Max();        // (c,2), in b's half
        var before = (await Feed()).Count;

        await Reconciler.EraseAsync(new IdentifyRequest("a@x.io", null));
        var feed = await Feed();
        var erasure = feed.Skip(before).ToList();

        erasure.Should().ContainSingle(e => e.Kind == ContactChangeKind.ValuesErased && e.ContactId == a && e.PrimaryContactId == a);
        var split = erasure.Should().ContainSingle(e => e.Kind == ContactChangeKind.PersonSplit).Subject;
        split.ContactId.Should().Be(b);
        split.PrimaryContactId.Should().Be(b);
        split.RelatedContactIds.Should().Equal(c);
        FeedReplay.AssertRebuilds(feed, await ReadAllAsync());

        var before2 = Clock.GetUtcNow();
        await Reconciler.ErasePersonAsync(b);
        feed = await Feed();
        feed.TakeLast(2).Should().OnlyContain(e => e.Kind == ContactChangeKind.ValuesErased && e.PrimaryContactId == null);
        feed.TakeLast(2).Should().OnlyContain(
            e => e.OccurredAt > before2 && e.OccurredAt < before2.AddMinutes(1),
            "an erasure that only deletes rows is timed by the reconciler's clock, like every other change");
        feed.TakeLast(2).Select(e => e.ContactId).Should().BeEquivalentTo([b, c]);
        FeedReplay.AssertRebuilds(feed, await ReadAllAsync());
    }

    [Fact]
    public async Task GetChangesAsync_ErasureThatChangesNothing_RecordsNothing()
    {
        await Identify("a@x.io", "1");
        var before = await Feed();

        await Reconciler.EraseAsync(new IdentifyRequest("nobody@x.io", null));
        await Reconciler.ErasePersonAsync(999);

        (await Feed()).Should().Equal(before);
    }

    [Fact]
    public async Task GetChangesAsync_RandomRequestsAndErasures_ReplayRebuildsThePersons()
    {
        var random = new Random(11);
        for (var i = 0; i < 150; i++)
        {
            var email = random.Next(4) == 0 ? null : $"e{random.Next(14)}@x.io";
            var phone = email is not null && random.Next(4) == 0 ? null : Phone(random.Next(14));
            if (random.Next(12) == 0)
            {
                await Reconciler.EraseAsync(new IdentifyRequest(email, phone));
            }
            else
            {
                await Identify(email, phone);
            }
        }

        var feed = await Feed();

        feed.Select(e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        FeedReplay.AssertRebuilds(feed, await ReadAllAsync());
    }

    [Fact]
    public async Task GetChangesAsync_ConcurrentWritersAndAPollingReader_ReaderSeesEveryEntryOnceInOrder()
    {
        var reconciler = new IdentityReconciler(Store, RaceGuards);
        using var done = new CancellationTokenSource();
        var seen = new List<ContactChange>();
        var reader = Task.Run(async () =>
        {
            var after = 0L;
            while (true)
            {
                var finished = done.IsCancellationRequested;
                var page = await Store.GetChangesAsync(after, 7);
                foreach (var entry in page)
                {
                    entry.Sequence.Should().BeGreaterThan(after, "a reader never finds an entry at or below what it has read");
                    after = entry.Sequence;
                }

                seen.AddRange(page);
                if (finished && page.Count == 0)
                {
                    return;
                }
            }
        });

        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            for (var i = 0; i < 40; i++)
            {
                await reconciler.IdentifyAsync(new IdentifyRequest($"e{random.Next(30)}@x.io", Phone(random.Next(30))));
            }
        })).ToArray();
        await Task.WhenAll(writers);
        await done.CancelAsync();
        await reader;

        seen.Should().Equal(await Feed(), "the reader saw every committed entry exactly once");
        FeedReplay.AssertRebuilds(seen, await ReadAllAsync());
    }

    [Fact]
    public async Task GetHistoryAsync_FollowsThePersonThroughMerges()
    {
        var a = (await Identify("a@x.io", "1")).PrimaryContactId;
        var b = (await Identify("b@x.io", "2")).PrimaryContactId;
        var b3 = (await Identify("b@x.io", "3")).SecondaryContactIds.Single();
        var other = (await Identify("z@x.io", "9")).PrimaryContactId;
        await Identify("a@x.io", "2");
        var feed = await Feed();

        var history = await Store.GetHistoryAsync(b3);

        history.Should().Equal(feed.Where(e => e.ContactId != other), "every entry but the unrelated person's, oldest first");
        (await Reconciler.GetHistoryAsync(a)).Should().Equal(history, "any contact of the person gives the same history");
        (await Reconciler.GetHistoryAsync(other)).Should().ContainSingle().Which.Kind.Should().Be(ContactChangeKind.PrimaryCreated);
        (await Reconciler.GetHistoryAsync(12345)).Should().BeEmpty();
    }

    [Fact]
    public async Task GetHistoryAsync_SoftDeletedContact_IsUnknown()
    {
        var a = (await Identify("a@x.io", "1")).PrimaryContactId;
        await SoftDeleteAsync(a, Clock.GetUtcNow());

        (await Store.GetHistoryAsync(a)).Should().BeEmpty();
        (await Store.LoadPersonAsync(a)).Should().BeNull();
    }

    [Fact]
    public async Task ExplainAsync_Chain_ReturnsTheShortestPathWithWhatJoinsEachStep()
    {
        var first = (await Identify("a@x.io", "1")).PrimaryContactId;            // (a,1)
        await Identify("b@x.io", "1");                                           // (b,1) shares 1
        await Identify("b@x.io", "2");                                           // (b,2) shares b
        var last = (await Identify("c@x.io", "2")).SecondaryContactIds.Max();     // (c,2) shares 2

        var explanation = await Reconciler.ExplainAsync(first, last);

        explanation.Should().NotBeNull();
        explanation!.PrimaryContactId.Should().Be(first);
        explanation.Steps.Select(s => (s.Join, s.SharedValue)).Should().Equal(
            (ContactJoinKind.SharedPhoneNumber, "1"),
            (ContactJoinKind.SharedEmail, "b@x.io"),
            (ContactJoinKind.SharedPhoneNumber, "2"));
        explanation.Steps[0].From.Id.Should().Be(first);
        explanation.Steps[^1].To.Id.Should().Be(last);
        explanation.Steps.Zip(explanation.Steps.Skip(1)).Should().OnlyContain(p => p.First.To.Id == p.Second.From.Id);

        var back = await Reconciler.ExplainAsync(last, first);
        back!.Steps.Should().HaveCount(3);
        (await Reconciler.ExplainAsync(first, first))!.Steps.Should().BeEmpty();
    }

    [Fact]
    public async Task ExplainAsync_JoinedByARequest_NamesTheRecordedLink()
    {
        var a = (await Identify("a@x.io", "1")).PrimaryContactId;
        var b = (await Identify("b@x.io", "2")).PrimaryContactId;
        await Identify("a@x.io", "2");
        var person = await Store.LoadPersonAsync(b);

        var explanation = await Reconciler.ExplainAsync(a, b);

        person!.Contacts.Select(c => c.Id).Should().Equal(a, b);
        person.Links.Should().ContainSingle().Which.Should().Match<ContactLink>(l => l.Email == "a@x.io" && l.PhoneNumber == "2");
        var step = explanation!.Steps.Should().ContainSingle().Subject;
        step.Join.Should().Be(ContactJoinKind.MergeLink);
        step.Link!.Email.Should().Be("a@x.io");
        step.Link.PhoneNumber.Should().Be("2");
    }

    [Fact]
    public async Task ExplainAsync_TwoPersonsOrUnknownContacts_ReturnsNull()
    {
        var a = (await Identify("a@x.io", "1")).PrimaryContactId;
        var b = (await Identify("b@x.io", "2")).PrimaryContactId;

        (await Reconciler.ExplainAsync(a, b)).Should().BeNull();
        (await Reconciler.ExplainAsync(a, 999)).Should().BeNull();
        (await Reconciler.ExplainAsync(999, a)).Should().BeNull();
    }

    [Fact]
    public async Task PruneChangesAsync_EmptyFeed_DeletesNothing()
    {
        (await Store.PruneChangesAsync(Clock.GetUtcNow() + TimeSpan.FromDays(1), 1)).Should().Be(0);

        await Identify("a@x.io", "1");
        (await Feed()).Should().NotBeEmpty("the store works after pruning an empty feed");
    }

    [Fact]
    public async Task PruneChangesAsync_ByAge_DeletesEveryOldEntryEvenAfterANewerOne()
    {
        // Times need not rise with sequence numbers: another process's clock may be behind this one's.
        await Identify("a@x.io", "1");
        Clock.Advance(TimeSpan.FromDays(2));
        await Identify("b@x.io", "2");
        Clock.Advance(TimeSpan.FromDays(-3));
        await Identify("c@x.io", "3");          // an older time after a newer entry
        Clock.Advance(TimeSpan.FromDays(5));
        await Identify("d@x.io", "4");
        var feed = await Feed();
        var cutoff = feed[0].OccurredAt + TimeSpan.FromDays(1);
        var kept = feed.Where(e => e.OccurredAt >= cutoff || e == feed[^1]).ToList();
        feed.Count(e => e.OccurredAt < cutoff).Should().BeGreaterThanOrEqualTo(2, "the test needs old entries on both sides of a newer one");

        var deleted = await Store.PruneChangesAsync(cutoff, null);

        deleted.Should().Be(feed.Count - kept.Count);
        (await Feed()).Should().Equal(kept);
    }

    [Fact]
    public async Task PruneChangesAsync_ByAgeAndCount_KeepsTheNewestAndSequencesNeverGoBack()
    {
        await Identify("a@x.io", "1");
        await Identify("b@x.io", "2");
        Clock.Advance(TimeSpan.FromDays(2));
        await Identify("c@x.io", "3");
        await Identify("d@x.io", "4");
        await Identify("e@x.io", "5");
        var feed = await Feed();

        (await Store.PruneChangesAsync(Clock.GetUtcNow() - TimeSpan.FromDays(1), null)).Should().Be(2);
        (await Feed()).Should().Equal(feed.Skip(2));
        (await Store.PruneChangesAsync(null, 2)).Should().Be(1);
        (await Feed()).Should().Equal(feed.Skip(3));
        (await Store.PruneChangesAsync(Clock.GetUtcNow() + TimeSpan.FromDays(1), null)).Should().Be(1, "the newest entry is always kept");
        (await Feed()).Should().Equal(feed[^1]);
        (await Store.PruneChangesAsync(null, null)).Should().Be(0);

        await Identify("f@x.io", "6");
        (await Feed()).Select(e => e.Sequence).Should().HaveCount(2).And.BeInAscendingOrder().And.OnlyHaveUniqueItems();
        (await Feed())[^1].Sequence.Should().BeGreaterThan(feed[^1].Sequence);
    }
}
