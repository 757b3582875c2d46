namespace IdentityReconciliation.Tests;

/// <summary>
/// A record's generated <c>ToString</c> prints every member, so logging or formatting one that holds an email or a phone
/// number would write personal data: every public type that holds one shows whether it is present, never the value.
/// </summary>
public sealed class PersonalDataPrintingTests
{
    private const string Email = "secret.person@x.io";
    private const string Phone = "+15550123987";
    private static readonly DateTimeOffset At = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static readonly Contact Primary = new(1, Phone, Email, null, LinkPrecedence.Primary, At, At);
    private static readonly Contact Secondary = new(2, Phone, "other.person@x.io", 1, LinkPrecedence.Secondary, At, At, At);

    public static TheoryData<string, object> Holders() => new()
    {
        { "Contact", Primary },
        { "IdentifyRequest", new IdentifyRequest(Email, Phone) },
        { "ContactIdentifiers", new ContactIdentifiers(Email, Phone) },
        { "NewContact", new NewContact(Email, Phone, 1, LinkPrecedence.Secondary, At) },
        { "ContactLink", new ContactLink(Email, Phone, At) },
        { "ContactCluster", new ContactCluster(1, [Email], [Phone], [2]) },
        { "ContactExplanationStep", new ContactExplanationStep(Primary, Secondary, ContactJoinKind.SharedPhoneNumber, null) },
        { "IdentifyResult", new IdentifyResult(new ContactCluster(1, [Email], [Phone], []), IdentifyOutcome.PrimaryCreated, 1, [], [new SetAsideIdentifier(ContactIdentifierKind.Email, Email, SetAsideReason.Blocked)]) },
    };

    [Theory]
    [MemberData(nameof(Holders))]
    public void ToString_ShowsNoEmailOrPhoneNumber(string type, object holder)
    {
        var text = holder.ToString();

        text.Should().StartWith(type).And.NotContain("secret").And.NotContain("other.person").And.NotContain("5550123");
    }

    [Fact]
    public void Contact_ToString_ShowsWhatIsPresentAndEverythingElse()
    {
        var text = new Contact(7, null, Email, 3, LinkPrecedence.Secondary, At, At.AddMinutes(1)).ToString();

        text.Should().Be(
            "Contact { Id = 7, HasEmail = True, HasPhoneNumber = False, LinkedId = 3, LinkPrecedence = Secondary, "
            + "CreatedAt = 2026-12-06T12:00:00.0000000+00:00, UpdatedAt = 2026-12-06T12:01:00.0000000+00:00, DeletedAt =  }");
    }

    [Fact]
    public void IdentifyRequest_ToString_ShowsWhichIdentifiersArePresent() =>
        new IdentifyRequest(null, Phone).ToString().Should().Be("IdentifyRequest { HasEmail = False, HasPhoneNumber = True }");

    [Fact]
    public void Equality_StillComparesTheValues()
    {
        new IdentifyRequest(Email, Phone).Should().NotBe(new IdentifyRequest("someone.else@x.io", Phone));
        new ContactIdentifiers(Email, Phone).Should().Be(new ContactIdentifiers(Email, Phone));
    }
}
