using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IdentityReconciliation.Diagnostics;
using IdentityReconciliation.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Tests;

/// <summary>
/// <see cref="IIdentityReconciler.IdentifyDetailedAsync"/> and the guards end to end on the in-memory store: what each call
/// did, what it set aside, and that logs and metrics never carry a value.
/// </summary>
public sealed class IdentifyDetailedTests
{
    private readonly InMemoryContactStore _store = new();
    private readonly ManualTimeProvider _clock = new() { AutoAdvance = TimeSpan.FromMilliseconds(1) };
    private readonly CollectingLogger<IdentityReconciler> _logger = new();

    private IdentityReconciler Reconciler(Action<IdentityReconciliationOptions>? configure = null)
    {
        var options = new IdentityReconciliationOptions();
        configure?.Invoke(options);
        return new IdentityReconciler(_store, DefaultContactNormalizer.Instance, _clock, Options.Create(options), _logger);
    }

    [Fact]
    public async Task IdentifyDetailedAsync_WorkedExample_ReportsEachOutcome()
    {
        var reconciler = Reconciler();

        var lorraine = await reconciler.IdentifyDetailedAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        var mcfly = await reconciler.IdentifyDetailedAsync(new IdentifyRequest("mcfly@hillvalley.edu", "123456"));
        var again = await reconciler.IdentifyDetailedAsync(new IdentifyRequest(null, "123456"));
        await reconciler.IdentifyDetailedAsync(new IdentifyRequest("george@hillvalley.edu", "919191"));
        var biff = await reconciler.IdentifyDetailedAsync(new IdentifyRequest("biffsucks@hillvalley.edu", "717171"));
        var merged = await reconciler.IdentifyDetailedAsync(new IdentifyRequest("george@hillvalley.edu", "717171"));

        lorraine.Should().BeEquivalentTo(new { Outcome = IdentifyOutcome.PrimaryCreated, CreatedContactId = 1L, MergedPrimaryContactIds = Array.Empty<long>(), SetAside = Array.Empty<SetAsideIdentifier>() });
        mcfly.Outcome.Should().Be(IdentifyOutcome.SecondaryCreated);
        mcfly.CreatedContactId.Should().Be(2);
        again.Outcome.Should().Be(IdentifyOutcome.Unchanged);
        again.CreatedContactId.Should().BeNull();
        again.Contact.Should().BeEquivalentTo(mcfly.Contact, o => o.WithStrictOrdering());
        merged.Outcome.Should().Be(IdentifyOutcome.PersonsMerged);
        merged.MergedPrimaryContactIds.Should().Equal(biff.Contact.PrimaryContactId);
        merged.CreatedContactId.Should().BeNull();
        merged.Contact.Should().BeEquivalentTo(
            new ContactCluster(3, ["george@hillvalley.edu", "biffsucks@hillvalley.edu"], ["919191", "717171"], [4]),
            o => o.WithStrictOrdering());
        merged.SetAside.Should().BeEmpty();
    }

    [Fact]
    public async Task IdentifyAsync_WorkedExampleWithDefaultGuards_GivesTheSeedsResponses()
    {
        var reconciler = Reconciler();
        foreach (var request in new IdentifyRequest[]
        {
            new("lorraine@hillvalley.edu", "123456"), new("mcfly@hillvalley.edu", "123456"), new(null, "123456"),
            new("lorraine@hillvalley.edu", null), new("mcfly@hillvalley.edu", null), new("george@hillvalley.edu", "919191"),
            new("biffsucks@hillvalley.edu", "717171"),
        })
        {
            (await reconciler.IdentifyDetailedAsync(request)).SetAside.Should().BeEmpty();
        }

        (await reconciler.IdentifyAsync(new IdentifyRequest("george@hillvalley.edu", "717171"))).Should().BeEquivalentTo(
            new ContactCluster(3, ["george@hillvalley.edu", "biffsucks@hillvalley.edu"], ["919191", "717171"], [4]),
            o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task IdentifyDetailedAsync_BlockedPhone_IsNeverStoredAndNeverLinks()
    {
        var reconciler = Reconciler();

        var first = await reconciler.IdentifyDetailedAsync(new IdentifyRequest("a@x.io", "000-000-0000"));
        var second = await reconciler.IdentifyDetailedAsync(new IdentifyRequest("b@x.io", "0000000000"));

        first.SetAside.Should().Equal(new SetAsideIdentifier(ContactIdentifierKind.PhoneNumber, "0000000000", SetAsideReason.Blocked));
        first.Outcome.Should().Be(IdentifyOutcome.PrimaryCreated);
        second.Contact.PrimaryContactId.Should().NotBe(first.Contact.PrimaryContactId, "a placeholder joins nobody");
        second.Contact.PhoneNumbers.Should().BeEmpty();
        _store.Snapshot().Should().OnlyContain(c => c.PhoneNumber == null);
    }

    [Fact]
    public async Task IdentifyAsync_EveryIdentifierBlocked_ThrowsAndWritesNothing()
    {
        var reconciler = Reconciler(o => o.BlockedEmails.Add("shared@shop.example"));
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        var before = _store.Snapshot();

        var act = () => reconciler.IdentifyAsync(new IdentifyRequest("SHARED@shop.example", "0000000"));

        var thrown = (await act.Should().ThrowAsync<InvalidIdentifyRequestException>()).Which;
        thrown.ParamName.Should().Be("request");
        thrown.Message.Should().NotContain("shared").And.NotContain("0000000");
        _store.Snapshot().Should().BeEquivalentTo(before);
    }

    [Fact]
    public async Task IdentifyDetailedAsync_HubPhone_StopsAtTheLimitAndLaterEmailsBecomeTheirOwnPersons()
    {
        var reconciler = Reconciler(o => o.MaxEmailsPerPerson = 3);

        var results = new List<IdentifyResult>();
        for (var i = 0; i < 6; i++)
        {
            results.Add(await reconciler.IdentifyDetailedAsync(new IdentifyRequest($"buyer{i}@x.io", "+15550100")));
        }

        results.Take(3).Should().OnlyContain(r => r.SetAside.Count == 0 && r.Contact.PrimaryContactId == 1);
        results[2].Contact.Emails.Should().HaveCount(3);
        foreach (var result in results.Skip(3))
        {
            result.Outcome.Should().Be(IdentifyOutcome.PrimaryCreated);
            result.Contact.Emails.Should().ContainSingle();
            result.Contact.PhoneNumbers.Should().BeEmpty("exactly as if the request had been sent without its phone");
            result.SetAside.Should().Equal(new SetAsideIdentifier(ContactIdentifierKind.PhoneNumber, "+15550100", SetAsideReason.EmailLimit));
        }

        (await reconciler.IdentifyAsync(new IdentifyRequest(null, "+15550100"))).Emails.Should().HaveCount(3);
        _logger.Entries.Should().Contain(e => e.EventId.Id == 31 && e.Message.Contains("person 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task IdentifyDetailedAsync_MergeOverTheLimit_KeepsBothPersonsAndAnswersWithTheEmailsPerson()
    {
        var reconciler = Reconciler(o => o.MaxEmailsPerPerson = 2);
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "1"));
        var other = await reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "3"));
        var before = _store.Snapshot();

        var result = await reconciler.IdentifyDetailedAsync(new IdentifyRequest("a@x.io", "3"));

        result.Outcome.Should().Be(IdentifyOutcome.Unchanged);
        result.Contact.Emails.Should().Equal("a@x.io", "b@x.io");
        result.SetAside.Should().Equal(new SetAsideIdentifier(ContactIdentifierKind.PhoneNumber, "3", SetAsideReason.EmailLimit));
        _store.Snapshot().Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        (await reconciler.FindAsync(new IdentifyRequest(null, "3")))!.PrimaryContactId.Should().Be(other.PrimaryContactId);
    }

    [Fact]
    public async Task IdentifyDetailedAsync_WritePathWithSetAside_ReturnsOnlyTheResultingPerson()
    {
        // The fast path sees room; a concurrent write fills the person before the atomic unit runs. The store still
        // returns the hub's contacts, and the reconciler keeps only the new person.
        var racing = new RacingStore(_store, onFirstReconcile: async () =>
            await new IdentityReconciler(_store, DefaultContactNormalizer.Instance, _clock, null).IdentifyAsync(new IdentifyRequest("second@x.io", "555")));
        var reconciler = new IdentityReconciler(racing, DefaultContactNormalizer.Instance, _clock, Options.Create(new IdentityReconciliationOptions { MaxEmailsPerPerson = 2 }), null);
        await reconciler.IdentifyAsync(new IdentifyRequest("first@x.io", "555"));

        var result = await reconciler.IdentifyDetailedAsync(new IdentifyRequest("third@x.io", "555"));

        result.SetAside.Should().ContainSingle().Which.Reason.Should().Be(SetAsideReason.EmailLimit);
        result.Outcome.Should().Be(IdentifyOutcome.PrimaryCreated);
        result.Contact.Emails.Should().Equal("third@x.io");
        result.Contact.SecondaryContactIds.Should().BeEmpty();
        (await reconciler.IdentifyAsync(new IdentifyRequest(null, "555"))).Emails.Should().Equal("first@x.io", "second@x.io");
    }

    [Fact]
    public async Task IdentifyDetailedAsync_PrimaryDeletedOutsideTheLibrary_ReportsRelinked()
    {
        var reconciler = Reconciler();
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "1"));
        await reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "1"));
        _store.Replace(_store.Snapshot()[0] with { DeletedAt = _clock.GetUtcNow() });

        var result = await reconciler.IdentifyDetailedAsync(new IdentifyRequest("c@x.io", null));

        result.Outcome.Should().Be(IdentifyOutcome.Relinked);
        result.Contact.PrimaryContactId.Should().Be(2);
        result.MergedPrimaryContactIds.Should().BeEmpty();
    }

    [Fact]
    public async Task FindAsync_AppliesTheSameRules()
    {
        var reconciler = Reconciler(o => o.MaxEmailsPerPerson = 2);
        await reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "1"));
        await reconciler.IdentifyAsync(new IdentifyRequest("c@x.io", "3"));

        (await reconciler.FindAsync(new IdentifyRequest("c@x.io", "1")))!.Emails.Should().Equal("c@x.io");
        (await reconciler.FindAsync(new IdentifyRequest("new@x.io", "1"))).Should().BeNull("as if sent without the phone");
        (await reconciler.FindAsync(new IdentifyRequest("a@x.io", "0000000000")))!.Emails.Should().Equal("a@x.io", "b@x.io");
        var act = () => reconciler.FindAsync(new IdentifyRequest(null, "0000000000"));
        (await act.Should().ThrowAsync<InvalidIdentifyRequestException>()).Which.ParamName.Should().Be("phoneNumber");
    }

    [Fact]
    public async Task SetAside_IsCountedByReasonAndLoggedWithoutValues()
    {
        var measurements = new ConcurrentBag<(long Value, string Reason, string Identifier)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == IdentityReconciliationTelemetry.Name && instrument.Name == "identity_reconciliation.identifiers.set_aside")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string reason = "", identifier = "";
            foreach (var tag in tags)
            {
                if (tag.Key == "reason")
                {
                    reason = (string)tag.Value!;
                }
                else if (tag.Key == "identifier")
                {
                    identifier = (string)tag.Value!;
                }
            }

            // Other tests run in parallel and report to the same meter: assert with Contain, not Equal.
            measurements.Add((value, reason, identifier));
        });
        listener.Start();
        var reconciler = Reconciler(o => o.MaxEmailsPerPerson = 1);

        await reconciler.IdentifyAsync(new IdentifyRequest("secret-person@x.io", "0000000"));
        await reconciler.IdentifyAsync(new IdentifyRequest("secret-person@x.io", "+15550199"));
        await reconciler.IdentifyAsync(new IdentifyRequest("secret-other@x.io", "+15550199"));

        measurements.Should().Contain((1, "blocked", "phone_number"));
        measurements.Should().Contain((1, "email_limit", "phone_number"));
        _logger.Entries.Should().Contain(e => e.EventId.Id == 30 && e.Level == LogLevel.Debug);
        _logger.Entries.Should().Contain(e => e.EventId.Id == 31 && e.Level == LogLevel.Information);
        _logger.Entries.Should().NotContain(e => e.Message.Contains("secret", StringComparison.Ordinal) || e.Message.Contains("555", StringComparison.Ordinal) || e.Message.Contains("0000000", StringComparison.Ordinal));
    }

    [Fact]
    public void SetAsideIdentifier_ToString_LeavesTheValueOut() =>
        new SetAsideIdentifier(ContactIdentifierKind.Email, "secret@x.io", SetAsideReason.Blocked).ToString().Should().Be("Email set aside: Blocked");

    [Theory]
    [InlineData(0, null, "MaxEmailsPerPerson")]
    [InlineData(null, -1, "MaxPhoneNumbersPerPerson")]
    public void Constructor_InvalidOptions_ThrowsNamingTheSetting(int? maxEmails, int? maxPhoneNumbers, string setting)
    {
        var act = () => new IdentityReconciler(_store, new IdentityReconciliationOptions { MaxEmailsPerPerson = maxEmails, MaxPhoneNumbersPerPerson = maxPhoneNumbers });

        act.Should().Throw<OptionsValidationException>().WithMessage($"*{setting}*");
    }

    [Fact]
    public void Constructor_BlankBlockedValue_ThrowsNamingItsPosition()
    {
        var options = new IdentityReconciliationOptions();
        options.BlockedPhoneNumbers.Add("0");
        options.BlockedPhoneNumbers.Add(" ");

        var act = () => new IdentityReconciler(_store, options);

        act.Should().Throw<OptionsValidationException>().WithMessage("*BlockedPhoneNumbers[1]*");
    }

    /// <summary>Runs another write between the fast path's lookup and the first atomic unit.</summary>
    private sealed class RacingStore(IContactStore inner, Func<Task> onFirstReconcile) : IContactStore
    {
        private int _raced;

        public Task<IReadOnlyList<Contact>> FindClustersAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken = default) =>
            inner.FindClustersAsync(identifiers, cancellationToken);

        public async Task<IReadOnlyList<Contact>> ReconcileAsync(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken = default)
        {
            if (identifiers.Email == "third@x.io" && Interlocked.Exchange(ref _raced, 1) == 0)
            {
                await onFirstReconcile();
            }

            return await inner.ReconcileAsync(identifiers, plan, cancellationToken);
        }

        public Task<IReadOnlyList<Contact>> EraseAsync(ContactIdentifiers identifiers, Func<ErasureScope, ErasureChangeSet> plan, CancellationToken cancellationToken = default) =>
            inner.EraseAsync(identifiers, plan, cancellationToken);

        public Task<IReadOnlyList<Contact>> ErasePersonAsync(long contactId, Func<ErasureScope, ErasureChangeSet> plan, CancellationToken cancellationToken = default) =>
            inner.ErasePersonAsync(contactId, plan, cancellationToken);

        public Task<IReadOnlyList<ContactChange>> GetChangesAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default) =>
            inner.GetChangesAsync(afterSequence, maxCount, cancellationToken);

        public Task<IReadOnlyList<ContactChange>> GetHistoryAsync(long contactId, CancellationToken cancellationToken = default) =>
            inner.GetHistoryAsync(contactId, cancellationToken);

        public Task<PersonGraph?> LoadPersonAsync(long contactId, CancellationToken cancellationToken = default) =>
            inner.LoadPersonAsync(contactId, cancellationToken);

        public Task<long> PruneChangesAsync(DateTimeOffset? olderThan, long? keepNewest, CancellationToken cancellationToken = default) =>
            inner.PruneChangesAsync(olderThan, keepNewest, cancellationToken);
    }
}
