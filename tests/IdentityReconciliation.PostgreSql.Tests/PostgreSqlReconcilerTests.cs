using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>The reconciler end to end on PostgreSQL: a property test against the reference model, and values stored literally.</summary>
[RequiresPostgreSql]
public sealed class PostgreSqlReconcilerTests(PostgreSqlDatabaseFixture fixture) : IClassFixture<PostgreSqlDatabaseFixture>, IAsyncLifetime
{
    private readonly string _schema = "reconciler_" + Guid.NewGuid().ToString("N")[..12];
    private readonly ManualTimeProvider _clock = new() { AutoAdvance = TimeSpan.FromMilliseconds(1) };
    private PostgreSqlContactStore _store = null!;
    private IdentityReconciler _reconciler = null!;

    public Task InitializeAsync()
    {
        _store = new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions { ConnectionString = fixture.Database.ConnectionString, Schema = _schema }));
        _reconciler = new IdentityReconciler(_store, DefaultContactNormalizer.Instance, _clock, null);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task IdentifyAsync_RandomSequences_EqualTheReferenceModel(int seed)
    {
        var random = new Random(seed);
        var model = new ReferenceModel();

        for (var step = 0; step < 200; step++)
        {
            var (email, phone) = ContactStoreContractTests.RandomRequest(random, universe: 8);
            var expected = model.Identify(email, phone);

            var actual = await _reconciler.IdentifyAsync(new IdentifyRequest(email, phone));

            actual.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), $"step {step} ({email}, {phone}) with seed {seed}");
        }

        (await fixture.Database.ReadAllAsync(_schema)).Should().HaveCount(model.RowCount);
    }

    [Theory]
    [InlineData(1, 2, 3, IdentifierPriority.EmailFirst)]
    [InlineData(2, 3, 2, IdentifierPriority.PhoneNumberFirst)]
    [InlineData(3, 2, 2, IdentifierPriority.EmailFirst)]
    public async Task IdentifyDetailedAsync_RandomSequencesWithSmallLimits_EqualTheReferenceModel(int seed, int maxEmails, int maxPhoneNumbers, IdentifierPriority priority)
    {
        // The same guards as the SQLite store's property test: small limits and one blocked email and phone number.
        var options = new IdentityReconciliationOptions { MaxEmailsPerPerson = maxEmails, MaxPhoneNumbersPerPerson = maxPhoneNumbers, IdentifierPriority = priority };
        options.BlockedEmails.Add("user7@example.com");
        options.BlockedPhoneNumbers.Add("+1555007");
        var reconciler = new IdentityReconciler(_store, DefaultContactNormalizer.Instance, _clock, Options.Create(options), null);
        var random = new Random(seed);
        var model = new ReferenceModel(options);
        var requests = new List<(string? Email, string? Phone)>();
        var setAside = 0;

        for (var step = 0; step < 200; step++)
        {
            var (email, phone) = ContactStoreContractTests.RandomRequest(random, universe: 8);
            requests.Add((email, phone));
            var expected = model.IdentifyDetailed(email, phone);
            var because = $"step {step} ({email}, {phone}) with seed {seed}";
            var act = () => reconciler.IdentifyDetailedAsync(new IdentifyRequest(email, phone));
            if (expected is null)
            {
                await act.Should().ThrowAsync<InvalidIdentifyRequestException>(because);
                continue;
            }

            var actual = await act();

            actual.Contact.Should().BeEquivalentTo(expected.Value.Contact, o => o.WithStrictOrdering(), because);
            actual.SetAside.Select(s => (s.Kind, s.Reason)).Should().Equal(expected.Value.SetAside, because);
            setAside += actual.SetAside.Count;
        }

        var rows = await fixture.Database.ReadAllAsync(_schema);
        rows.Should().HaveCount(model.RowCount);
        GraphInvariants.AssertHold(rows, requests, options);
        setAside.Should().BeGreaterThan(10, "the limits are small enough to bite often");
    }

    [Fact]
    public async Task IdentifyAsync_SqlLookingAndUnicodeValues_AreStoredLiterally()
    {
        var tricky = "robert'); drop table \"contact\";--@bobby.tables"; // already normalised (lower case)
        var unicode = "zoë@exämple.org";

        await _reconciler.IdentifyAsync(new IdentifyRequest(tricky, "1"));
        var view = await _reconciler.IdentifyAsync(new IdentifyRequest(unicode.ToUpperInvariant(), "1"));

        view.Emails.Should().Equal(tricky, unicode);
        (await fixture.Database.ReadAllAsync(_schema)).Select(r => r.Email).Should().Equal(tricky, unicode);
    }

    [Fact]
    public async Task IdentifyAsync_Timestamps_AreStoredAsUtcWithMicrosecondsAndReturnedAsStored()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2024, 2, 29, 23, 59, 59, TimeSpan.Zero).AddTicks(1234567));
        var reconciler = new IdentityReconciler(_store, DefaultContactNormalizer.Instance, clock, null);
        var touched = await _store.ReconcileAsync(new ContactIdentifiers("a@x.io", "1"), t => ContactPlanner.Plan(new ContactIdentifiers("a@x.io", "1"), t, clock.GetUtcNow()));

        var rows = await fixture.Database.ReadAllAsync(_schema);

        rows.Single().CreatedAt.Should().Be(new DateTimeOffset(2024, 2, 29, 23, 59, 59, TimeSpan.Zero).AddTicks(1234560), "timestamptz keeps microseconds");
        touched.Single().Should().Be(rows.Single(), "the store returns what it stored");
        (await reconciler.FindAsync(new IdentifyRequest("a@x.io", null)))!.PrimaryContactId.Should().Be(rows.Single().Id);
    }
}
