namespace IdentityReconciliation.Tests;

/// <summary>Why two contacts are one person, with no database: <see cref="ContactExplainer"/> alone.</summary>
public sealed class ContactExplainerTests
{
    private static readonly DateTimeOffset T0 = new(2023, 4, 1, 0, 0, 0, TimeSpan.Zero);

    private static Contact Primary(long id, string? email, string? phone) =>
        new(id, phone, email, null, LinkPrecedence.Primary, T0.AddMinutes(id), T0.AddMinutes(id));

    private static Contact Secondary(long id, string? email, string? phone, long primary = 1) =>
        new(id, phone, email, primary, LinkPrecedence.Secondary, T0.AddMinutes(id), T0.AddMinutes(id));

    private static IEnumerable<(long From, long To, ContactJoinKind Join)> Path(ContactExplanation? explanation) =>
        explanation!.Steps.Select(s => (s.From.Id, s.To.Id, s.Join));

    [Fact]
    public void Explain_ShortcutExists_TakesTheShortestPath()
    {
        // 1 -phone 1- 2 -email b- 3 -phone 2- 4, and 5 shares 1's email and 4's phone: 1 -> 5 -> 4 is shorter.
        var person = new PersonGraph(
            [Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "1"), Secondary(3, "b@x.io", "2"), Secondary(4, "c@x.io", "3"), Secondary(5, "a@x.io", "3")],
            []);

        Path(ContactExplainer.Explain(person, 1, 4)).Should().Equal((1, 5, ContactJoinKind.SharedEmail), (5, 4, ContactJoinKind.SharedPhoneNumber));
    }

    [Fact]
    public void Explain_JoinedOnlyByARecordedLink_UsesTheLink()
    {
        var link = new ContactLink("a@x.io", "2", T0);
        var person = new PersonGraph([Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "2")], [link]);

        var explanation = ContactExplainer.Explain(person, 2, 1);

        Path(explanation).Should().Equal((2, 1, ContactJoinKind.MergeLink));
        explanation!.Steps[0].Link.Should().Be(link);
        explanation.Steps[0].SharedValue.Should().BeNull();
        explanation.PrimaryContactId.Should().Be(1);
    }

    [Fact]
    public void Explain_MergeWithoutEvidence_FallsBackToThePrimaryLink()
    {
        var person = new PersonGraph([Primary(1, "a@x.io", "1"), Secondary(2, "b@x.io", "2"), Secondary(3, "c@x.io", "2")], []);

        Path(ContactExplainer.Explain(person, 3, 1)).Should().Equal((3, 1, ContactJoinKind.PrimaryLink));
        Path(ContactExplainer.Explain(person, 2, 3)).Should().Equal([(2, 3, ContactJoinKind.SharedPhoneNumber)], "a value path wins when there is one");
    }

    [Fact]
    public void Explain_ContactNotInThePerson_ReturnsNull()
    {
        var person = new PersonGraph([Primary(1, "a@x.io", "1")], []);

        ContactExplainer.Explain(person, 1, 2).Should().BeNull();
        ContactExplainer.Explain(person, 2, 1).Should().BeNull();
        ContactExplainer.Explain(person, 1, 1)!.Steps.Should().BeEmpty();
    }

    [Fact]
    public void Explain_HubOfThousands_IsLinearAndShort()
    {
        var contacts = new List<Contact> { Primary(1, "e0@x.io", "1") };
        for (var i = 2; i <= 5000; i++)
        {
            contacts.Add(Secondary(i, $"e{i}@x.io", "1"));
        }

        contacts.Add(Secondary(5001, "e5000@x.io", "9"));

        Path(ContactExplainer.Explain(new PersonGraph(contacts, []), 2, 5001)).Should().Equal(
            (2, 5000, ContactJoinKind.SharedPhoneNumber),
            (5000, 5001, ContactJoinKind.SharedEmail));
    }
}
