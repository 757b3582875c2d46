using System.Text.Json;
using IdentityReconciliation.Samples.Tests.Support;

namespace IdentityReconciliation.Samples.Tests;

/// <summary><c>match telesign|cm</c> against a local stand-in of the provider, configured only through settings.</summary>
public sealed class ConsoleMatchTests : IAsyncLifetime
{
    // "identity-reconciliation-test-key" in base64: Telesign API keys are base64 and decoded for HMAC signing.
    private const string TelesignApiKey = "aWRlbnRpdHktcmVjb25jaWxpYXRpb24tdGVzdC1rZXk=";
    private const string TelesignCustomerId = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890";

    private ProviderStandIn _standIn = null!;

    public async Task InitializeAsync() => _standIn = await ProviderStandIn.StartWithCannedAnswersAsync();

    public async Task DisposeAsync() => await _standIn.DisposeAsync();

    [Fact]
    public async Task Match_Telesign_CallsTheConfiguredBaseAddressAndPrintsTheResult()
    {
        var run = await ConsoleRun.RunAsync(
            ["match", "telesign", "--phone", "+1 555-555-1212", "--first-name", "John", "--last-name", "Smith", "--dob", "1980-02-29"],
            TelesignSettings());

        run.Error.Should().BeEmpty();
        run.ExitCode.Should().Be(0);
        using var result = JsonDocument.Parse(run.Output);
        result.RootElement.GetProperty("provider").GetString().Should().Be("Telesign");
        result.RootElement.GetProperty("outcome").GetString().Should().Be("Compared");
        result.RootElement.GetProperty("providerStatus").GetString().Should().Be("2800");
        result.RootElement.GetProperty("referenceId").GetString().Should().Be("0123456789ABCDEF0123456789ABCDEF");
        var fields = result.RootElement.GetProperty("fields");
        fields.GetProperty("FirstName").GetProperty("score").GetInt32().Should().Be(100);
        fields.GetProperty("FirstName").GetProperty("passed").GetBoolean().Should().BeTrue();
        fields.GetProperty("DateOfBirth").GetProperty("passed").GetBoolean().Should().BeFalse();

        var request = _standIn.Requests.Should().ContainSingle().Subject;
        request.Path.Should().Be("/v1/phoneid/15555551212");
        request.Authorization.Should().StartWith($"TSA {TelesignCustomerId}:");
        request.BodyText.Should().Contain("John").And.Contain("1980-02-29");
    }

    [Fact]
    public async Task Match_Cm_CallsTheConfiguredBaseAddressAndPrintsTheResult()
    {
        var run = await ConsoleRun.RunAsync(
            ["match", "cm", "--phone", "+31612345678", "--first-name", "Jan", "--last-name", "Jansen", "--postal-code", "1011AB"],
            new Dictionary<string, string?>
            {
                ["Cm:KeyId"] = Guid.NewGuid().ToString(),
                ["Cm:Secret"] = "AC4Etykn7jusGR5FwLDAtILtQbiQbTMKedP31szXg4WlSbjGEXyNMZ",
                ["Cm:BaseAddress"] = _standIn.BaseAddress.ToString(),
            });

        run.Error.Should().BeEmpty();
        run.ExitCode.Should().Be(0);
        using var result = JsonDocument.Parse(run.Output);
        result.RootElement.GetProperty("provider").GetString().Should().Be("CM.com");
        result.RootElement.GetProperty("fields").GetProperty("PostalCode").GetProperty("score").GetInt32().Should().Be(90);
        var request = _standIn.Requests.Should().ContainSingle().Subject;
        request.Path.Should().Be("/mobile-identity/v1/identity-match");
        request.Authorization.Should().StartWith("Bearer ");
    }

    [Theory]
    [InlineData("telesign", "Telesign__CustomerId, Telesign__ApiKey")]
    [InlineData("cm", "Cm__KeyId, Cm__Secret")]
    public async Task Match_WithoutCredentials_NamesTheMissingSettingsAndCallsNothing(string provider, string missing)
    {
        var run = await ConsoleRun.RunAsync(
            ["match", provider, "--phone", "+15555551212", "--first-name", "John", "--last-name", "Smith"],
            new Dictionary<string, string?> { ["Telesign:BaseAddress"] = _standIn.BaseAddress.ToString(), ["Cm:BaseAddress"] = _standIn.BaseAddress.ToString() });

        run.ExitCode.Should().Be(1);
        run.Output.Should().BeEmpty();
        run.Error.Should().Be($"error: missing settings for {provider}: {missing} (set them in appsettings.json or as environment variables).{Environment.NewLine}");
        _standIn.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Match_OnlyOneTelesignCredential_NamesTheOtherOne()
    {
        var settings = TelesignSettings();
        settings.Remove("Telesign:ApiKey");

        var run = await ConsoleRun.RunAsync(["match", "telesign", "--phone", "+15555551212", "--first-name", "John", "--last-name", "Smith"], settings);

        run.ExitCode.Should().Be(1);
        run.Error.Should().Contain(": Telesign__ApiKey (").And.NotContain("CustomerId");
    }

    [Fact]
    public async Task Match_ProviderRejectsTheCredentials_Exits1WithOneLineError()
    {
        _standIn.StatusCode = 401;

        var run = await ConsoleRun.RunAsync(
            ["match", "telesign", "--phone", "+15555551212", "--first-name", "John", "--last-name", "Smith"], TelesignSettings());

        run.ExitCode.Should().Be(1);
        run.Output.Should().BeEmpty();
        run.Error.Should().StartWith("error: IdentityMatchConfigurationException: ");
        run.Error.TrimEnd().Should().NotContain("\n").And.NotContain(TelesignApiKey).And.NotContain(TelesignCustomerId);
        run.Error.TrimEnd().Should().EndWith("(reference id FEDCBA9876543210FEDCBA9876543210)", "the provider's reference is what its support asks for");
    }

    [Fact]
    public async Task Match_InvalidPhoneNumber_Exits1WithoutCallingTheProvider()
    {
        var run = await ConsoleRun.RunAsync(
            ["match", "telesign", "--phone", "not a number", "--first-name", "John", "--last-name", "Smith"], TelesignSettings());

        run.ExitCode.Should().Be(1);
        run.Error.Should().StartWith("error: ");
        _standIn.Requests.Should().BeEmpty();
    }

    private Dictionary<string, string?> TelesignSettings() => new()
    {
        ["Telesign:CustomerId"] = TelesignCustomerId,
        ["Telesign:ApiKey"] = TelesignApiKey,
        ["Telesign:BaseAddress"] = _standIn.BaseAddress.ToString(),
    };
}
