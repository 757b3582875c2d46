using System.Text;
using IdentityReconciliation.Providers.Cm;
using Microsoft.Extensions.Logging.Abstractions;

namespace IdentityReconciliation.Providers.Tests;

public sealed class CmJwtTokenSourceTests
{
    private const string KeyId = "3b438437-04a4-40bb-8389-54bb02766fba";

    [Fact]
    public void Create_CmDocumentationExample_MatchesIndependentHs256()
    {
        // CM.com's documented example (kid 3b438437-…, iat = nbf = 1704067200, exp = iat + 60). Expected value from:
        // python3: h=b64url(b'{"alg":"HS256","typ":"JWT","kid":"3b438437-04a4-40bb-8389-54bb02766fba"}');
        //          p=b64url(b'{"iat":1704067200,"nbf":1704067200,"exp":1704067260}');
        //          s=b64url(hmac.new(b'AC4Etykn7jusGR5FwLDAtILtQbiQbTMKedP31szXg4WlSbjGEXyNMZ',(h+'.'+p).encode(),hashlib.sha256).digest())
        // with b64url = base64.urlsafe_b64encode(x).rstrip(b'=').decode()
        var token = CmJwtTokenSource.Create(
            KeyId, Encoding.UTF8.GetBytes(CmServer.Secret), DateTimeOffset.FromUnixTimeSeconds(1704067200), TimeSpan.FromSeconds(60));

        token.Should().Be(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjNiNDM4NDM3LTA0YTQtNDBiYi04Mzg5LTU0YmIwMjc2NmZiYSJ9" +
            ".eyJpYXQiOjE3MDQwNjcyMDAsIm5iZiI6MTcwNDA2NzIwMCwiZXhwIjoxNzA0MDY3MjYwfQ" +
            ".3htbVOTgyRG1ivmF10YTWe14lAj1t9pwB7k1cPN_8ks");
    }

    [Fact]
    public void GetToken_BeforeLastQuarterOfLifetime_ReusesToken()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1704067200));
        var source = new CmJwtTokenSource(KeyId, CmServer.Secret, TimeSpan.FromSeconds(60), clock, NullLogger.Instance);

        var first = source.GetToken();
        clock.Advance(TimeSpan.FromSeconds(44));
        var second = source.GetToken();

        second.Should().Be(first);
    }

    [Fact]
    public void GetToken_InLastQuarterOfLifetime_MintsNewTokenWithNewClaims()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1704067200));
        var source = new CmJwtTokenSource(KeyId, CmServer.Secret, TimeSpan.FromSeconds(60), clock, NullLogger.Instance);

        var first = source.GetToken();
        clock.Advance(TimeSpan.FromSeconds(46));
        var renewed = source.GetToken();

        renewed.Should().NotBe(first);
        renewed.Should().Be(CmJwtTokenSource.Create(
            KeyId, Encoding.UTF8.GetBytes(CmServer.Secret), DateTimeOffset.FromUnixTimeSeconds(1704067246), TimeSpan.FromSeconds(60), CmJwtTokenSource.NotBeforeSkew));
    }

    [Fact]
    public void GetToken_ClockSetBackwards_MintsNewToken()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1704067200));
        var source = new CmJwtTokenSource(KeyId, CmServer.Secret, TimeSpan.FromSeconds(60), clock, NullLogger.Instance);

        var first = source.GetToken();
        clock.Advance(TimeSpan.FromMinutes(-5));

        source.GetToken().Should().NotBe(first);
    }

    [Fact]
    public void GetToken_NotBefore_IsBackdatedBySkew()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1704067200));
        var source = new CmJwtTokenSource(KeyId, CmServer.Secret, TimeSpan.FromSeconds(60), clock, NullLogger.Instance);

        var payload = source.GetToken().Split('.')[1];

        // {"iat":1704067200,"nbf":1704067170,"exp":1704067260} in base64url
        Encoding.UTF8.GetString(Convert.FromBase64String(payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=')))
            .Should().Be("""{"iat":1704067200,"nbf":1704067170,"exp":1704067260}""");
    }
}
