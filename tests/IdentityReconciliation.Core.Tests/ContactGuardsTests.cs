namespace IdentityReconciliation.Tests;

/// <summary>The guards against identity collapse, with no database: <see cref="ContactGuards"/> over <see cref="ContactPlanner"/>.</summary>
public sealed class ContactGuardsTests
{
    private static readonly DateTimeOffset T0 = new(2023, 4, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = new(2023, 4, 20, 5, 30, 0, TimeSpan.Zero);

    private static Contact Primary(long id, string? email, string? phone, int minutes = 0) =>
        new(id, phone, email, null, LinkPrecedence.Primary, T0.AddMinutes(minutes), T0.AddMinutes(minutes));

    private static Contact Secondary(long id, string? email, string? phone, long primary, int minutes = 0) =>
        new(id, phone, email, primary, LinkPrecedence.Secondary, T0.AddMinutes(minutes), T0.AddMinutes(minutes));

    private static ContactGuards Guards(int? maxEmails = 3, int? maxPhoneNumbers = 3, IdentifierPriority priority = IdentifierPriority.EmailFirst, Action<IdentityReconciliationOptions>? configure = null)
    {
        var options = new IdentityReconciliationOptions { MaxEmailsPerPerson = maxEmails, MaxPhoneNumbersPerPerson = maxPhoneNumbers, IdentifierPriority = priority };
        configure?.Invoke(options);
        return new ContactGuards(options, DefaultContactNormalizer.Instance);
    }

    /// <summary>A person of <paramref name="emails"/> emails on one phone: primary 1, then secondaries 2, 3, … (one per email).</summary>
    private static Contact[] Hub(int emails, string phone = "555", long firstId = 1, int minutes = 0) =>
        Enumerable.Range(0, emails)
            .Select(i => i == 0
                ? Primary(firstId, $"hub{firstId}-{i}@x.io", phone, minutes)
                : Secondary(firstId + i, $"hub{firstId}-{i}@x.io", phone, firstId, minutes + i))
            .ToArray();

    [Fact]
    public void WithoutBlocked_BlockedEmail_IsSetAsideAndThePhoneIsKept()
    {
        var guards = Guards(configure: o => o.BlockedEmails.Add(" Shared@Shop.Example "));

        var remaining = guards.WithoutBlocked(new ContactIdentifiers("shared@shop.example", "555"), out var setAside);

        remaining.Should().Be(new ContactIdentifiers(null, "555"));
        setAside.Should().Be(new SetAsideIdentifier(ContactIdentifierKind.Email, "shared@shop.example", SetAsideReason.Blocked), "configured values are normalised like requests");
    }

    [Fact]
    public void WithoutBlocked_BlockedPhone_IsSetAsideAndTheEmailIsKept()
    {
        var guards = Guards();

        var remaining = guards.WithoutBlocked(new ContactIdentifiers("a@x.io", "0000000000"), out var setAside);

        remaining.Should().Be(new ContactIdentifiers("a@x.io", null));
        setAside.Should().Be(new SetAsideIdentifier(ContactIdentifierKind.PhoneNumber, "0000000000", SetAsideReason.Blocked));
    }

    [Theory]
    [InlineData("noemail@noemail.com", "1111111", "request")]
    [InlineData("test@test.com", null, "email")]
    [InlineData(null, "+0000000", "phoneNumber")]
    public void WithoutBlocked_EveryIdentifierBlocked_ThrowsNamingTheFieldWithoutTheValue(string? email, string? phone, string field)
    {
        var guards = Guards();

        var act = () => guards.WithoutBlocked(new ContactIdentifiers(email, phone), out _);

        var thrown = act.Should().Throw<InvalidIdentifyRequestException>().Which;
        thrown.ParamName.Should().Be(field);
        thrown.Reason.Should().Be(InvalidIdentifyRequestReason.Blocked);
        thrown.Message.Should().Contain("placeholder");
        foreach (var value in new[] { email, phone }.OfType<string>())
        {
            thrown.Message.Should().NotContain(value);
        }
    }

    [Fact]
    public void WithoutBlocked_DefaultBlocklistOff_KeepsPlaceholders()
    {
        var guards = Guards(configure: o => o.UseDefaultBlocklist = false);

        guards.WithoutBlocked(new ContactIdentifiers("test@test.com", "0000000000"), out var setAside).Should().Be(new ContactIdentifiers("test@test.com", "0000000000"));
        setAside.Should().BeNull();
    }

    [Theory]
    [InlineData("0")]
    [InlineData("000")]
    [InlineData("+0000000000")]
    [InlineData("0000000000")]
    [InlineData("111111")]
    [InlineData("1111111")]
    [InlineData("9999999999")]
    [InlineData("+5555555555")]
    [InlineData("1234567890")]
    [InlineData("123456789")]
    [InlineData("12345678")]
    [InlineData("0123456789")]
    [InlineData("9876543210")]
    [InlineData("987654321")]
    [InlineData("0987654321")]
    public void DefaultBlocklist_PlaceholderPhoneNumbers_AreBlocked(string phone) =>
        Guards().IsBlockedPhoneNumber(phone).Should().BeTrue();

    [Theory]
    [InlineData("123456")] // the worked example
    [InlineData("919191")]
    [InlineData("717171")]
    [InlineData("1")]
    [InlineData("555")]
    [InlineData("11111")] // five digits: below the repeated-digit threshold
    [InlineData("1234567")]
    [InlineData("+15550101985")]
    [InlineData("+10000000000")] // a country code then zeros is not all zeros: add it to BlockedPhoneNumbers if you see it
    [InlineData("88121955")]
    public void DefaultBlocklist_RealLookingPhoneNumbers_AreNotBlocked(string phone) =>
        Guards().IsBlockedPhoneNumber(phone).Should().BeFalse();

    [Theory]
    [InlineData("noemail@noemail.com")]
    [InlineData("noemail@shop.example")]
    [InlineData("no-email@x.io")]
    [InlineData("no_email@x.io")]
    [InlineData("no.email@x.io")]
    [InlineData("nomail@x.io")]
    [InlineData("none@none.com")]
    [InlineData("noreply@x.io")]
    [InlineData("donotreply@x.io")]
    [InlineData("null@x.io")]
    [InlineData("na@na.com")]
    [InlineData("n/a@x.io")]
    [InlineData("unknown@x.io")]
    [InlineData("anonymous@x.io")]
    [InlineData("test@test.com")]
    [InlineData("test@example.com")]
    [InlineData("example@example.com")]
    [InlineData("email@email.com")]
    [InlineData("no@email.com")]
    [InlineData("a@a.com")]
    [InlineData("asdf@asdf.com")]
    public void DefaultBlocklist_PlaceholderEmails_AreBlocked(string email) =>
        Guards().IsBlockedEmail(email).Should().BeTrue();

    [Theory]
    [InlineData("lorraine@hillvalley.edu")]
    [InlineData("mcfly@hillvalley.edu")]
    [InlineData("george@hillvalley.edu")]
    [InlineData("biffsucks@hillvalley.edu")]
    [InlineData("user1@example.com")]
    [InlineData("test@hillvalley.edu")] // "test" is a word people use: only whole placeholder addresses are blocked
    [InlineData("nobody@example.com")]
    [InlineData("anna@a.com")]
    [InlineData("healthz@healthz.invalid")]
    public void DefaultBlocklist_RealLookingEmails_AreNotBlocked(string email) =>
        Guards().IsBlockedEmail(email).Should().BeFalse();

    [Fact]
    public void Plan_NewEmailOnAPersonAtTheEmailLimit_SetsThePhoneAsideAndCreatesANewPerson()
    {
        var touched = Hub(3);

        var plan = Guards(maxEmails: 3).Plan(new ContactIdentifiers("new@x.io", "555"), touched, Now);

        plan.SetAside.Should().Be(new SetAsideIdentifier(ContactIdentifierKind.PhoneNumber, "555", SetAsideReason.EmailLimit));
        plan.Identifiers.Should().Be(new ContactIdentifiers("new@x.io", null));
        plan.Touched.Should().BeEmpty("the email alone touches nothing");
        plan.Changes.Insert.Should().Be(new NewContact("new@x.io", null, null, LinkPrecedence.Primary, Now));
        plan.Changes.Updates.Should().BeEmpty();
        plan.LimitedPrimaryContactId.Should().Be(1);
    }

    [Fact]
    public void Plan_NewEmailBelowTheLimit_IsPlannedAsWithoutGuards()
    {
        var touched = Hub(2);

        var plan = Guards(maxEmails: 3).Plan(new ContactIdentifiers("new@x.io", "555"), touched, Now);

        plan.SetAside.Should().BeNull();
        plan.Changes.Insert.Should().Be(new NewContact("new@x.io", "555", 1, LinkPrecedence.Secondary, Now));
        plan.Touched.Should().BeSameAs(touched);
    }

    [Fact]
    public void Plan_NewPhoneOnAPersonAtThePhoneLimit_SetsThePhoneAsideAndChangesNothing()
    {
        var touched = new[] { Primary(1, "a@x.io", "1"), Secondary(2, "a@x.io", "2", 1, 1) };

        var plan = Guards(maxPhoneNumbers: 2).Plan(new ContactIdentifiers("a@x.io", "3"), touched, Now);

        plan.SetAside.Should().Be(new SetAsideIdentifier(ContactIdentifierKind.PhoneNumber, "3", SetAsideReason.PhoneNumberLimit));
        plan.Changes.IsEmpty.Should().BeTrue("the email alone brings nothing new");
        plan.Touched.Should().Equal(touched);
    }

    [Fact]
    public void Plan_MergeThatWouldExceedALimit_KeepsThePersonsApart()
    {
        // Each person holds 2 emails; joining them would give 4 > 3.
        var touched = new[]
        {
            Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "1", 1, 1),
            Primary(3, "c@x.io", "3", 2), Secondary(4, "d@x.io", "3", 3, 3),
        };

        var plan = Guards(maxEmails: 3).Plan(new ContactIdentifiers("a@x.io", "3"), touched, Now);

        plan.SetAside.Should().Be(new SetAsideIdentifier(ContactIdentifierKind.PhoneNumber, "3", SetAsideReason.EmailLimit));
        plan.Changes.IsEmpty.Should().BeTrue();
        plan.Touched.Select(c => c.Id).Should().Equal(1, 2);
        plan.LimitedPrimaryContactId.Should().Be(1);
    }

    [Fact]
    public void Plan_MergeWithinTheLimits_MergesAsWithoutGuards()
    {
        var touched = new[] { Primary(1, "a@x.io", "1"), Primary(3, "c@x.io", "3", 2) };

        var plan = Guards(maxEmails: 2, maxPhoneNumbers: 2).Plan(new ContactIdentifiers("a@x.io", "3"), touched, Now);

        plan.SetAside.Should().BeNull();
        plan.Changes.Updates.Should().Equal(new ContactUpdate(3, 1, LinkPrecedence.Secondary, Now));
    }

    [Fact]
    public void Plan_PriorityFlipped_SetsTheEmailAsideAndKeepsThePhonesPerson()
    {
        var touched = Hub(3);

        var plan = Guards(maxEmails: 3, priority: IdentifierPriority.PhoneNumberFirst).Plan(new ContactIdentifiers("new@x.io", "555"), touched, Now);

        plan.SetAside.Should().Be(new SetAsideIdentifier(ContactIdentifierKind.Email, "new@x.io", SetAsideReason.EmailLimit));
        plan.Identifiers.Should().Be(new ContactIdentifiers(null, "555"));
        plan.Changes.IsEmpty.Should().BeTrue("the phone alone is already the hub's");
        plan.Touched.Should().Equal(touched);
    }

    [Fact]
    public void Plan_PriorityFlippedAndThePhoneOverItsLimit_NamesThePhoneLimit()
    {
        // Email-first would set the phone aside for the phone limit; phone-first sets the email aside and still names the
        // phone limit, because the email's own limit was not the one exceeded.
        var touched = new[] { Primary(1, "a@x.io", "1"), Secondary(2, "a@x.io", "2", 1, 1) };

        var plan = Guards(maxPhoneNumbers: 2, priority: IdentifierPriority.PhoneNumberFirst).Plan(new ContactIdentifiers("a@x.io", "3"), touched, Now);

        plan.SetAside.Should().Be(new SetAsideIdentifier(ContactIdentifierKind.Email, "a@x.io", SetAsideReason.PhoneNumberLimit));
        plan.Changes.Insert.Should().Be(new NewContact(null, "3", null, LinkPrecedence.Primary, Now));
    }

    [Fact]
    public void Plan_LimitsOff_LetsAPersonGrowWithoutBound()
    {
        var touched = Hub(50);

        var plan = Guards(maxEmails: null, maxPhoneNumbers: null).Plan(new ContactIdentifiers("new@x.io", "555"), touched, Now);

        plan.SetAside.Should().BeNull();
        plan.Changes.Insert.Should().Be(new NewContact("new@x.io", "555", 1, LinkPrecedence.Secondary, Now));
    }

    [Fact]
    public void Plan_LoweredLimitOverExistingData_LeavesItAndRefusesChangesThatKeepItAbove()
    {
        // Stored while the limit was 10: 5 emails. The limit is now 3.
        var touched = Hub(5);
        var guards = Guards(maxEmails: 3);

        // Reads and repeats change nothing and are answered whole.
        var repeat = guards.Plan(new ContactIdentifiers("hub1-4@x.io", "555"), touched, Now);
        repeat.SetAside.Should().BeNull();
        repeat.Changes.IsEmpty.Should().BeTrue();
        repeat.Touched.Should().HaveCount(5);

        // A new phone for a known email would keep the person above the email limit: the phone is set aside.
        var newPhone = guards.Plan(new ContactIdentifiers("hub1-0@x.io", "777"), touched, Now);
        newPhone.SetAside.Should().Be(new SetAsideIdentifier(ContactIdentifierKind.PhoneNumber, "777", SetAsideReason.EmailLimit));
        newPhone.Changes.IsEmpty.Should().BeTrue();

        // A single identifier never adds to a person, so it is planned as it is.
        guards.Plan(new ContactIdentifiers(null, "555"), touched, Now).Changes.IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void Plan_OneIdentifier_IsNeverLimited()
    {
        var guards = Guards(maxEmails: 1, maxPhoneNumbers: 1);

        guards.Plan(new ContactIdentifiers("new@x.io", null), [], Now).Changes.Insert!.LinkPrecedence.Should().Be(LinkPrecedence.Primary);
        guards.Plan(new ContactIdentifiers(null, "555"), Hub(4), Now).SetAside.Should().BeNull();
    }

    [Fact]
    public void Plan_SetAsideOnAClusterWhosePrimaryWasDeleted_PlansOverThatClusterAlone()
    {
        // The email's cluster lost its primary (1); the phone's person is full.
        var touched = new[] { Secondary(2, "a@x.io", "1", 1, 1), Secondary(3, "b@x.io", "1", 1, 2) }.Concat(Hub(3, "555", firstId: 10, minutes: 10)).ToArray();

        var plan = Guards(maxEmails: 3).Plan(new ContactIdentifiers("a@x.io", "555"), touched, Now);

        plan.SetAside!.Kind.Should().Be(ContactIdentifierKind.PhoneNumber);
        plan.Touched.Select(c => c.Id).Should().Equal(2, 3);
        plan.Changes.Updates.Should().Equal(
            new ContactUpdate(2, null, LinkPrecedence.Primary, Now),
            new ContactUpdate(3, 2, LinkPrecedence.Secondary, Now));
    }

    [Fact]
    public void TouchedBy_KeepsTheClustersOfTheIdentifierInOrder()
    {
        var contacts = new[] { Primary(1, "a@x.io", "1"), Primary(2, "b@x.io", "2"), Secondary(3, "c@x.io", "2", 2), Secondary(4, "d@x.io", "1", 1) };

        ContactGuards.TouchedBy(new ContactIdentifiers("c@x.io", null), contacts).Select(c => c.Id).Should().Equal(2, 3);
        ContactGuards.TouchedBy(new ContactIdentifiers(null, "1"), contacts).Select(c => c.Id).Should().Equal(1, 4);
        ContactGuards.TouchedBy(new ContactIdentifiers("z@x.io", null), contacts).Should().BeEmpty();
    }
}
