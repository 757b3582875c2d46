using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace IdentityReconciliation.Testing;

/// <summary>What a fake CM.com checks: an HS256 JWT signed with the secret, with the right kid and a valid lifetime.</summary>
public static class CmServer
{
    public const string Secret = "AC4Etykn7jusGR5FwLDAtILtQbiQbTMKedP31szXg4WlSbjGEXyNMZ";

    public const string ScoreJson = """
        {"state":"success","firstNameScore":100,"lastNameScore":"70","nameScore":85,"addressScore":-1,"postalCodeScore":null,"dateOfBirthScore":90}
        """;

    public const string MatchJson = """
        {"state":"success","firstNameMatch":true,"lastNameMatch":"false","nameMatch":"true","addressMatch":null,"postalCodeMatch":true}
        """;

    public static Func<HttpContext, Task> Score => context => Respond.Json(context, 200, ScoreJson);

    /// <summary>A fresh Key ID per test, so that the process-wide rate limit of one test does not slow another.</summary>
    public static string NewKeyId() => Guid.NewGuid().ToString();

    public static Func<RecordedRequest, string?> Jwt(string keyId, string secret = Secret) => request =>
    {
        var authorization = request.Header("Authorization") ?? string.Empty;
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return "missing bearer token";
        }

        var parts = authorization["Bearer ".Length..].Split('.');
        if (parts.Length != 3)
        {
            return "not a compact JWT";
        }

        var expected = Base64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(parts[0] + "." + parts[1])));
        if (parts[2] != expected)
        {
            return "bad JWT signature";
        }

        using var header = JsonDocument.Parse(FromBase64Url(parts[0]));
        using var payload = JsonDocument.Parse(FromBase64Url(parts[1]));
        if (header.RootElement.GetProperty("alg").GetString() != "HS256" ||
            header.RootElement.GetProperty("typ").GetString() != "JWT" ||
            header.RootElement.GetProperty("kid").GetString() != keyId)
        {
            return "bad JWT header";
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var iat = payload.RootElement.GetProperty("iat").GetInt64();
        var nbf = payload.RootElement.GetProperty("nbf").GetInt64();
        var exp = payload.RootElement.GetProperty("exp").GetInt64();
        if (nbf > now + 5 || exp <= now || iat > now + 5 || exp - iat > 3600)
        {
            return "JWT not valid now";
        }

        return null;
    };

    public static Func<RecordedRequest, string?> Bearer(string token) =>
        request => request.Header("Authorization") == "Bearer " + token ? null : "wrong bearer token";

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var base64 = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '='));
    }
}
