using System.Text;
using IdentityReconciliation.Providers.Telesign;

namespace IdentityReconciliation.Providers.Tests;

public sealed class TelesignSignatureTests
{
    // Telesign's published SDK test key ("EXAMPLE----TE8s..."), with the four dashes removed: Python's b64decode
    // discards them, .NET's strict decoder does not, and both give the same 61 bytes.
    private const string SdkKey = "EXAMPLETE8sTgg45yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw==";
    private const string SdkDate = "Wed, 14 Dec 2016 18:20:12 GMT";
    private const string SdkNonce = "A1592C6F-E384-4CDB-BC42-C3AB970369E9";

    [Fact]
    public void Compute_TelesignSdkPostVector_MatchesPublishedSignature()
    {
        // Expected value from Telesign's python SDK tests (test_generate_telesign_headers_with_post), re-derived with:
        // python3 -c "import hmac,hashlib,base64;k=base64.b64decode('<SdkKey>');s='POST\napplication/x-www-form-urlencoded\n<SdkDate>\nx-ts-auth-method:HMAC-SHA256\nx-ts-nonce:<SdkNonce>\ntest=param\n/v1/resource';print(base64.b64encode(hmac.new(k,s.encode(),hashlib.sha256).digest()).decode())"
        var signature = TelesignSignature.Compute(
            Convert.FromBase64String(SdkKey), "POST", "application/x-www-form-urlencoded", SdkDate, SdkNonce,
            Encoding.UTF8.GetBytes("test=param"), "/v1/resource");

        signature.Should().Be("2xVlmbrxLjYrrPun3G3WMNG6Jon4yKcTeOoK9DjXJ/Q=");
    }

    [Fact]
    public void Compute_GetWithoutContentType_LeavesBodyLineOut()
    {
        // Telesign's python SDK test_generate_telesign_headers_with_get; same python3 one-liner with 'GET\n\n<SdkDate>...\n/v1/resource'.
        var signature = TelesignSignature.Compute(
            Convert.FromBase64String(SdkKey), "GET", string.Empty, SdkDate, SdkNonce, [], "/v1/resource");

        signature.Should().Be("aUm7I+9GKl3ww7PNeeJntCT0iS7b+EmRKEE4LnRzChQ=");
    }

    [Fact]
    public void Compute_JsonContactMatchBody_MatchesIndependentHmac()
    {
        // python3: key=b'identity-reconciliation-test-key';
        // s='POST\napplication/json\nWed, 14 Dec 2016 18:20:12 GMT\nx-ts-auth-method:HMAC-SHA256\nx-ts-nonce:A1592C6F-E384-4CDB-BC42-C3AB970369E9\n'
        //   + '{"addons":{"contact_match":{"first_name":"John","last_name":"Smith","date_of_birth":"1980-02-29"}}}' + '\n/v1/phoneid/15555551212'
        // base64(hmac.new(key, s.encode(), hashlib.sha256).digest())
        const string body = """{"addons":{"contact_match":{"first_name":"John","last_name":"Smith","date_of_birth":"1980-02-29"}}}""";

        var signature = TelesignSignature.Compute(
            Convert.FromBase64String(TelesignServer.ApiKey), "POST", "application/json", SdkDate, SdkNonce,
            Encoding.UTF8.GetBytes(body), "/v1/phoneid/15555551212");

        signature.Should().Be("KeER8OU2rjM+szHLkJ0hBJOKwMRaNcPvU9kDj9W5JVE=");
    }

    [Fact]
    public async Task SignAsync_FixedClockAndNonce_SetsHeadersAndSignsExactBody()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new TelesignContactMatchOptions { CustomerId = TelesignServer.CustomerId, ApiKey = TelesignServer.ApiKey };
        using var signer = new TelesignSigningHandler(options, clock, () => "00000000-0000-0000-0000-000000000001");
        var body = TelesignContactMatchClient.BuildBody(new IdentityMatchQuery("+447700900123") { FirstName = " José " });
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://rest-ww.telesign.com/v1/phoneid/447700900123")
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        await signer.SignAsync(request, CancellationToken.None);

        Encoding.UTF8.GetString(body).Should().Be("""{"addons":{"contact_match":{"first_name":"José"}}}""", "letters are sent as UTF-8, not escaped");
        request.Headers.GetValues("Date").Should().ContainSingle().Which.Should().Be("Thu, 01 Jan 2026 00:00:00 GMT");
        request.Headers.GetValues("x-ts-auth-method").Should().ContainSingle().Which.Should().Be("HMAC-SHA256");
        request.Headers.GetValues("x-ts-nonce").Should().ContainSingle().Which.Should().Be("00000000-0000-0000-0000-000000000001");

        // python3: key=b'identity-reconciliation-test-key';
        // s='POST\napplication/json\nThu, 01 Jan 2026 00:00:00 GMT\nx-ts-auth-method:HMAC-SHA256\nx-ts-nonce:00000000-0000-0000-0000-000000000001\n'
        //   + '{"addons":{"contact_match":{"first_name":"José"}}}' + '\n/v1/phoneid/447700900123'
        // base64(hmac.new(key, s.encode('utf-8'), hashlib.sha256).digest())
        request.Headers.Authorization!.ToString().Should().Be(
            $"TSA {TelesignServer.CustomerId}:3fVRd9Ab6jxoGQwdMddy4XE33VrmZn7sBdo1WMlCG6g=");
    }

    [Fact]
    public async Task SignAsync_Basic_SendsCustomerIdAndApiKey()
    {
        var options = new TelesignContactMatchOptions
        {
            CustomerId = "customer",
            ApiKey = "key",
            AuthenticationMethod = TelesignAuthenticationMethod.Basic,
        };
        using var signer = new TelesignSigningHandler(options, TimeProvider.System);
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://rest-ww.telesign.com/v1/phoneid/15555551212");

        await signer.SignAsync(request, CancellationToken.None);

        // python3 -c "import base64;print(base64.b64encode(b'customer:key').decode())"
        request.Headers.Authorization!.ToString().Should().Be("Basic Y3VzdG9tZXI6a2V5");
        request.Headers.Contains("x-ts-nonce").Should().BeFalse();
    }
}
