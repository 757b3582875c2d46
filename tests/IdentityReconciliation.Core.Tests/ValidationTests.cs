namespace IdentityReconciliation.Tests;

/// <summary>Rules 1 and 2: normalisation and validation.</summary>
public sealed class ValidationTests
{
    [Theory]
    [InlineData("  Lorraine@HillValley.EDU ", "lorraine@hillvalley.edu")]
    [InlineData("a@b", "a@b")]
    [InlineData("", null)]
    [InlineData("   \t", null)]
    [InlineData(null, null)]
    public void NormalizeEmail_TrimsAndLowerCases(string? raw, string? expected) =>
        DefaultContactNormalizer.Instance.NormalizeEmail(raw).Should().Be(expected);

    [Theory]
    [InlineData(" +1 (555) 123-45.67 ", "+15551234567")]
    [InlineData("123456", "123456")]
    [InlineData("12 34\t56", "123456")]
    [InlineData("", null)]
    [InlineData("  ", null)]
    [InlineData(null, null)]
    [InlineData("--", "")] // not absent: rejected by validation
    public void NormalizePhoneNumber_DropsSeparatorsAndKeepsLeadingPlus(string? raw, string? expected) =>
        DefaultContactNormalizer.Instance.NormalizePhoneNumber(raw).Should().Be(expected);

    [Theory]
    [InlineData(null, null, "request")]
    [InlineData("no-at-sign", null, "email")]
    [InlineData("two@@x.io", null, "email")]
    [InlineData("a@b@c", null, "email")]
    [InlineData("@x.io", null, "email")]
    [InlineData("a@", null, "email")]
    [InlineData("a@x.io", "12a45", "phoneNumber")]
    [InlineData(null, "+", "phoneNumber")]
    [InlineData(null, "", "phoneNumber")]
    [InlineData(null, "1+2", "phoneNumber")]
    [InlineData(null, "++12", "phoneNumber")]
    [InlineData(null, "١٢٣", "phoneNumber")] // Arabic-Indic digits are not ASCII digits
    [InlineData(null, "123456789012345678901234567890123", "phoneNumber")] // 33 digits
    public void Validate_BadIdentifiers_ThrowNamingTheField(string? email, string? phone, string field)
    {
        var act = () => ContactPlanner.Validate(email, phone);

        act.Should().Throw<InvalidIdentifyRequestException>().Which.ParamName.Should().Be(field);
    }

    [Fact]
    public void Validate_OverlongEmail_Throws()
    {
        var email = new string('a', 321 - "@x.io".Length) + "@x.io";

        var act = () => ContactPlanner.Validate(email, null);

        act.Should().Throw<InvalidIdentifyRequestException>().Which.ParamName.Should().Be("email");
    }

    [Fact]
    public void Validate_LimitsExactly_Accepted()
    {
        var email = new string('a', 320 - "@x.io".Length) + "@x.io";
        var phone = "+" + new string('9', 32);

        ContactPlanner.Validate(email, phone).Should().Be(new ContactIdentifiers(email, phone));
    }

    [Fact]
    public void Validate_MessageNeverContainsTheValue()
    {
        var act = () => ContactPlanner.Validate("secret-person-at-example", null);

        act.Should().Throw<InvalidIdentifyRequestException>().Which.Message.Should().NotContain("secret-person");
    }
}
