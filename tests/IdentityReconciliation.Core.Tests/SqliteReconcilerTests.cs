using IdentityReconciliation.Sqlite;

namespace IdentityReconciliation.Tests;

/// <summary>The reconciler end to end on a real SQLite file: bad input, read-only lookups, and a property test against a reference model.</summary>
public sealed class SqliteReconcilerTests : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private readonly ManualTimeProvider _clock = new() { AutoAdvance = TimeSpan.FromMilliseconds(1) };
    private SqliteContactStore _store = null!;
    private IdentityReconciler _reconciler = null!;

    public Task InitializeAsync()
    {
        _store = new SqliteContactStore(_database.ConnectionString);
        _reconciler = new IdentityReconciler(_store, DefaultContactNormalizer.Instance, _clock, null);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _database.Dispose();
    }

    public static TheoryData<string?, string?, string> BadRequests() => new()
    {
        { null, null, "request" },
        { "", "", "request" },
        { "   ", " \t ", "request" },
        { "lorraine.hillvalley.edu", null, "email" },
        { "lorraine@hillvalley.edu", "123-abc", "phoneNumber" },
        { null, "123456'; DROP TABLE Contact; --", "phoneNumber" },
        { new string('x', 400) + "@hillvalley.edu", null, "email" },
        { "lorraine@hillvalley.edu", new string('1', 40), "phoneNumber" },
        { "a@b@c", "123456", "email" },
        { "nul\u0000@hillvalley.edu", null, "email" },
        { "lorraine@hillvalley.edu\r\nBcc: x@y.z", null, "email" },
        { "ude.yellavllih@\u202Elorraine", null, "email" },
        { "lorraine\u200B@hillvalley.edu", "123456", "email" },
        { null, "\u2066123456", "phoneNumber" },
        { null, "\uFF11\uFF12\uFF13", "phoneNumber" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task IdentifyAsync_BadInput_ThrowsNamingTheFieldAndChangesNothing(string? email, string? phone, string field)
    {
        await _reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
        var before = SqliteRows.ReadAll(_database);

        var act = () => _reconciler.IdentifyAsync(new IdentifyRequest(email, phone));

        (await act.Should().ThrowAsync<InvalidIdentifyRequestException>()).Which.ParamName.Should().Be(field);
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task IdentifyAsync_NullRequest_ThrowsArgumentNullException()
    {
        var act = () => _reconciler.IdentifyAsync(null!);

        await act.Should().ThrowAsync<ArgumentNullException>().WithParameterName("request");
    }

    [Fact]
    public async Task IdentifyAsync_SqlLookingAndUnicodeValues_AreStoredLiterally()
    {
        var tricky = "robert'); drop table contact;--@bobby.tables";
        var unicode = "zoë@exämple.org";

        await _reconciler.IdentifyAsync(new IdentifyRequest(tricky, "1"));
        var view = await _reconciler.IdentifyAsync(new IdentifyRequest(unicode.ToUpperInvariant(), "1"));

        view.Emails.Should().Equal(tricky, unicode);
        SqliteRows.ReadAll(_database).Select(r => r.Email).Should().Equal(tricky, unicode);
    }

    [Fact]
    public async Task IdentifyAsync_RawValues_AreNormalisedBeforeMatchingAndStoring()
    {
        var first = await _reconciler.IdentifyAsync(new IdentifyRequest("  Doc@HillValley.edu ", "+1 (555) 010-1985"));
        var again = await _reconciler.IdentifyAsync(new IdentifyRequest("doc@hillvalley.edu", "+15550101985"));

        again.Should().BeEquivalentTo(first);
        first.Emails.Should().Equal("doc@hillvalley.edu");
        first.PhoneNumbers.Should().Equal("+15550101985");
        SqliteRows.ReadAll(_database).Should().ContainSingle();
    }

    [Fact]
    public async Task IdentifyAsync_ComposedAndDecomposedEmail_AreOnePerson()
    {
        var composed = await _reconciler.IdentifyAsync(new IdentifyRequest("caf\u00E9@hillvalley.edu", "1"));
        var decomposed = await _reconciler.IdentifyAsync(new IdentifyRequest("CAFE\u0301@hillvalley.edu", null));

        decomposed.Should().BeEquivalentTo(composed);
        decomposed.Emails.Should().Equal("caf\u00E9@hillvalley.edu");
        SqliteRows.ReadAll(_database).Should().ContainSingle().Which.Email.Should().Be("caf\u00E9@hillvalley.edu");
    }

    [Fact]
    public async Task FindAsync_NeverWrites()
    {
        (await _reconciler.FindAsync(new IdentifyRequest("nobody@x.io", "1"))).Should().BeNull();
        await _reconciler.IdentifyAsync(new IdentifyRequest("a@x.io", "1"));
        await _reconciler.IdentifyAsync(new IdentifyRequest("b@x.io", "2"));
        var before = SqliteRows.ReadAll(_database);

        var bridged = await _reconciler.FindAsync(new IdentifyRequest("b@x.io", "1"));
        var withNewPhone = await _reconciler.FindAsync(new IdentifyRequest("a@x.io", "3"));

        bridged!.PrimaryContactId.Should().Be(before[0].Id);
        bridged.Emails.Should().Equal("a@x.io", "b@x.io");
        withNewPhone!.PhoneNumbers.Should().Equal("1");
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task IdentifyAsync_RandomSequences_EqualTheReferenceModel(int seed)
    {
        var random = new Random(seed);
        var model = new ReferenceModel();

        for (var step = 0; step < 250; step++)
        {
            var (email, phone) = ContactStoreContractTests.RandomRequest(random, universe: 8);
            var expected = model.Identify(email, phone);

            var actual = await _reconciler.IdentifyAsync(new IdentifyRequest(Mess(random, email), Mess(random, phone)));

            actual.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), $"step {step} ({email}, {phone}) with seed {seed}");
        }

        SqliteRows.ReadAll(_database).Should().HaveCount(model.RowCount);
    }

    /// <summary>Small limits so that they bite often, both priorities, and one blocked email and phone number in the universe.</summary>
    public static TheoryData<int, int?, int?, IdentifierPriority> GuardedSequences() => new()
    {
        { 1, 2, 3, IdentifierPriority.EmailFirst },
        { 2, 3, 2, IdentifierPriority.EmailFirst },
        { 3, 2, 2, IdentifierPriority.PhoneNumberFirst },
        { 4, 3, 3, IdentifierPriority.PhoneNumberFirst },
        { 5, 2, null, IdentifierPriority.EmailFirst },
        { 6, null, 2, IdentifierPriority.PhoneNumberFirst },
    };

    [Theory]
    [MemberData(nameof(GuardedSequences))]
    public async Task IdentifyDetailedAsync_RandomSequencesWithSmallLimits_EqualTheReferenceModel(int seed, int? maxEmails, int? maxPhoneNumbers, IdentifierPriority priority)
    {
        var options = GuardedOptions(maxEmails, maxPhoneNumbers, priority);
        var reconciler = new IdentityReconciler(_store, DefaultContactNormalizer.Instance, _clock, Microsoft.Extensions.Options.Options.Create(options), null);
        var random = new Random(seed);
        var model = new ReferenceModel(options);
        var requests = new List<(string? Email, string? Phone)>();
        var setAside = 0;

        for (var step = 0; step < 250; step++)
        {
            var (email, phone) = ContactStoreContractTests.RandomRequest(random, universe: 8);
            requests.Add((email, phone));
            var expected = model.IdentifyDetailed(email, phone);
            var because = $"step {step} ({email}, {phone}) with seed {seed}";
            var act = () => reconciler.IdentifyDetailedAsync(new IdentifyRequest(Mess(random, email), Mess(random, phone)));
            if (expected is null)
            {
                (await act.Should().ThrowAsync<InvalidIdentifyRequestException>(because)).Which.Message.Should().Contain("placeholder");
                continue;
            }

            var actual = await act();

            actual.Contact.Should().BeEquivalentTo(expected.Value.Contact, o => o.WithStrictOrdering(), because);
            actual.SetAside.Select(s => (s.Kind, s.Reason)).Should().Equal(expected.Value.SetAside, because);
            setAside += actual.SetAside.Count;
        }

        var rows = SqliteRows.ReadAll(_database);
        rows.Should().HaveCount(model.RowCount);
        GraphInvariants.AssertHold(rows, requests, options);
        setAside.Should().BeGreaterThan(10, "the limits are small enough to bite often");
    }

    /// <summary>The options of the guarded property tests (shared with the PostgreSQL store's).</summary>
    internal static IdentityReconciliationOptions GuardedOptions(int? maxEmails, int? maxPhoneNumbers, IdentifierPriority priority)
    {
        var options = new IdentityReconciliationOptions { MaxEmailsPerPerson = maxEmails, MaxPhoneNumbersPerPerson = maxPhoneNumbers, IdentifierPriority = priority };
        options.BlockedEmails.Add("user7@example.com");
        options.BlockedPhoneNumbers.Add("+1555007");
        return options;
    }

    /// <summary>The same value as a client might send it: odd casing and spacing, or a blank instead of null.</summary>
    private static string? Mess(Random random, string? value) => value switch
    {
        null => random.Next(3) == 0 ? "  " : null,
        _ when value.Contains('@') => random.Next(2) == 0 ? $" {value.ToUpperInvariant()} " : value,
        _ => random.Next(2) == 0 ? $"{value[..3]} ({value[3..5]}) {value[5..]}" : value,
    };
}
