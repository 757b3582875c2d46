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

    [Theory]
    [InlineData(null, null, InvalidIdentifyRequestReason.MissingIdentifier)]
    [InlineData("a\u0007b@x.io", null, InvalidIdentifyRequestReason.InvisibleCharacter)]
    [InlineData("a\u200Bb@x.io", null, InvalidIdentifyRequestReason.InvisibleCharacter)]
    [InlineData(null, "12\u202E34", InvalidIdentifyRequestReason.InvisibleCharacter)]
    [InlineData("two@@x.io", null, InvalidIdentifyRequestReason.MalformedEmail)]
    [InlineData("a@x.io", "12a45", InvalidIdentifyRequestReason.MalformedPhoneNumber)]
    [InlineData(null, "123456789012345678901234567890123", InvalidIdentifyRequestReason.MalformedPhoneNumber)]
    public void Validate_BadIdentifiers_SayWhyForPrograms(string? email, string? phone, InvalidIdentifyRequestReason reason)
    {
        var act = () => ContactPlanner.Validate(email, phone);

        act.Should().Throw<InvalidIdentifyRequestException>().Which.Reason.Should().Be(reason);
    }

    [Fact]
    public void Validate_OverlongOrBrokenText_SayWhyForPrograms()
    {
        var overlong = () => ContactPlanner.Validate(new string('a', 321 - "@x.io".Length) + "@x.io", null);
        var broken = () => ContactPlanner.Validate("a\uD800b@x.io", null);

        overlong.Should().Throw<InvalidIdentifyRequestException>().Which.Reason.Should().Be(InvalidIdentifyRequestReason.TooLong);
        broken.Should().Throw<InvalidIdentifyRequestException>().Which.Reason.Should().Be(InvalidIdentifyRequestReason.InvalidText);
    }

    [Fact]
    public void Exception_CreatedWithoutAReason_SaysUnspecified() =>
        new InvalidIdentifyRequestException("x", "email").Reason.Should().Be(InvalidIdentifyRequestReason.Unspecified);

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

    public static TheoryData<string?, string?, string> InvisibleCharacters() => new()
    {
        { "nul\u0000@x.com", null, "email" },
        { "a\r\nbcc@x.com", null, "email" },
        { "a\tb@x.com", null, "email" },
        { "a\u001Bb@x.com", null, "email" },
        { "a\u007Fb@x.com", null, "email" },
        { "a\u0085b@x.com", null, "email" }, // C1 (NEL)
        { "a\u009Fb@x.com", null, "email" },
        { "moc.x@\u202Eevil", null, "email" }, // right-to-left override
        { "a\u202Ab@x.com", null, "email" },
        { "a\u2066b@x.com", null, "email" },
        { "a\u2069b@x.com", null, "email" },
        { "\u200Fa@x.com", null, "email" },
        { "a@x.com\u200E", null, "email" },
        { "a\u061Cb@x.com", null, "email" },
        { null, "12\u000034", "phoneNumber" },
        { null, "123\u202E456", "phoneNumber" },
        { null, "\u2066123456", "phoneNumber" },
        { "a@x.com", "123\u0085456", "phoneNumber" },
    };

    [Theory]
    [MemberData(nameof(InvisibleCharacters))]
    public void Validate_ControlOrBidiCharacter_ThrowsNamingTheFieldWithoutTheValue(string? email, string? phone, string field)
    {
        var act = () => ContactPlanner.Validate(email, phone);

        var exception = act.Should().Throw<InvalidIdentifyRequestException>().Which;
        exception.ParamName.Should().Be(field);
        exception.Message.Should().Contain("control characters");
        exception.Message.Should().NotContain("x.com").And.NotContain("123");
    }

    [Theory]
    [InlineData("lorraine\u200B@x.com")] // zero width space
    [InlineData("\uFEFFlorraine@x.com")] // a byte-order mark left by a file's first line
    [InlineData("lor\u00ADraine@x.com")] // soft hyphen
    [InlineData("lorraine@x\u2060.com")] // word joiner
    [InlineData("lorraine@x.com\u2063")] // invisible separator
    [InlineData("\u3164@x.com")] // Hangul filler: a local part that shows as blank
    [InlineData("lorraine\u034F@x.com")] // combining grapheme joiner
    [InlineData("lorraine\u180E@x.com")] // Mongolian vowel separator
    public void Validate_EmailWithACharacterThatShowsNothing_ThrowsWithoutTheValue(string email)
    {
        var normalized = DefaultContactNormalizer.Instance.NormalizeEmail(email);

        var act = () => ContactPlanner.Validate(normalized, null);

        var exception = act.Should().Throw<InvalidIdentifyRequestException>().Which;
        exception.ParamName.Should().Be("email");
        exception.Message.Should().Contain("invisible characters").And.NotContain("lorraine").And.NotContain("x.com");
    }

    [Theory]
    [InlineData("\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645@x.com")] // Persian with a zero width non-joiner
    [InlineData("\u0915\u094D\u200D\u0937@x.com")] // Devanagari with a zero width joiner
    public void Validate_JoinerControlsThatScriptsSpellWith_AreAccepted(string email)
    {
        var normalized = DefaultContactNormalizer.Instance.NormalizeEmail(email);

        ContactPlanner.Validate(normalized, null).Email.Should().Be(normalized);
    }

    [Theory]
    [InlineData("a\\uD800b@x.com")] // a lone high surrogate
    [InlineData("ab\\uDC00@x.com")] // a lone low surrogate
    public void Validate_InvalidUtf16InEmail_Throws(string email)
    {
        email = System.Text.RegularExpressions.Regex.Unescape(email); // the attribute holds the escape: xUnit cannot serialise a lone surrogate

        var act = () => ContactPlanner.Validate(DefaultContactNormalizer.Instance.NormalizeEmail(email), null);

        act.Should().Throw<InvalidIdentifyRequestException>().Which.ParamName.Should().Be("email");
    }

    [Theory]
    [InlineData("caf\u00E9@x.com", "caf\u00E9@x.com")] // composed é
    [InlineData("cafe\u0301@x.com", "caf\u00E9@x.com")] // e + combining acute accent
    [InlineData("CAFE\u0301@X.COM", "caf\u00E9@x.com")]
    [InlineData("\u212Bngstr\u00F6m@x.com", "\u00E5ngstr\u00F6m@x.com")] // the angstrom sign is NFC-equivalent to Å
    [InlineData("zoe\u0308@exa\u0308mple.org", "zo\u00EB@ex\u00E4mple.org")]
    public void NormalizeEmail_IsUnicodeNfcThenLowerCase(string raw, string expected)
    {
        var normalized = DefaultContactNormalizer.Instance.NormalizeEmail(raw);

        normalized.Should().Be(expected);
        ContactPlanner.Validate(normalized, null).Email.Should().Be(expected);
    }

    [Theory]
    [InlineData("\uFF11\uFF12\uFF13")] // full-width 123
    [InlineData("\u0661\u0662\u0663")] // Arabic-Indic 123
    [InlineData("\u0967\u0968\u0969")] // Devanagari 123
    [InlineData("+\uFF14\uFF14 20")]
    public void Validate_NonAsciiDigits_AreRejectedNotMapped(string phone)
    {
        var act = () => ContactPlanner.Validate(null, DefaultContactNormalizer.Instance.NormalizePhoneNumber(phone));

        var exception = act.Should().Throw<InvalidIdentifyRequestException>().Which;
        exception.ParamName.Should().Be("phoneNumber");
        exception.Message.Should().Contain("ASCII digits");
    }

    [Fact]
    public void Validate_MessageNeverContainsTheValue()
    {
        var act = () => ContactPlanner.Validate("secret-person-at-example", null);

        act.Should().Throw<InvalidIdentifyRequestException>().Which.Message.Should().NotContain("secret-person");
    }
}
