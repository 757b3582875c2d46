using System.Text;
using System.Text.Json;
using IdentityReconciliation.Providers.Diagnostics;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Providers.Cm;

/// <summary>
/// Mints CM.com bearer tokens: HS256 JWTs with header <c>{"alg":"HS256","typ":"JWT","kid":KeyId}</c> and claims
/// <c>iat</c> (now), <c>nbf</c> (now − <see cref="NotBeforeSkew"/>, so that a server whose clock is slightly behind
/// ours accepts it) and <c>exp</c> (now + lifetime), renewed once less than a quarter of the lifetime remains.
/// Thread-safe: concurrent renewals may mint twice, which is harmless.
/// </summary>
internal sealed class CmJwtTokenSource
{
    /// <summary>How far <c>nbf</c> is backdated.</summary>
    public static readonly TimeSpan NotBeforeSkew = TimeSpan.FromSeconds(30);

    private readonly string _keyId;
    private readonly byte[] _secret;
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private volatile CachedToken? _current;

    public CmJwtTokenSource(string keyId, string secret, TimeSpan lifetime, TimeProvider timeProvider, ILogger logger)
    {
        _keyId = keyId.Trim();
        _secret = Encoding.UTF8.GetBytes(secret);
        _lifetime = lifetime;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public string GetToken()
    {
        var now = _timeProvider.GetUtcNow();
        var current = _current;
        if (current is not null && now >= current.IssuedAt && now < current.RenewAt)
        {
            return current.Token;
        }

        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        var token = Create(_keyId, _secret, issuedAt, _lifetime, NotBeforeSkew);
        var expiresAt = issuedAt + _lifetime;
        _current = new CachedToken(token, issuedAt, expiresAt - (_lifetime / 4));
        Log.JwtMinted(_logger, expiresAt);
        return token;
    }

    /// <summary>The compact JWT for the given inputs (deterministic, for tests against fixed values).</summary>
    internal static string Create(string keyId, byte[] secret, DateTimeOffset issuedAt, TimeSpan lifetime, TimeSpan notBeforeSkew = default)
    {
        var iat = issuedAt.ToUnixTimeSeconds();
        var header = Json(writer =>
        {
            writer.WriteString("alg", "HS256");
            writer.WriteString("typ", "JWT");
            writer.WriteString("kid", keyId);
        });
        var payload = Json(writer =>
        {
            writer.WriteNumber("iat", iat);
            writer.WriteNumber("nbf", iat - (long)notBeforeSkew.TotalSeconds);
            writer.WriteNumber("exp", iat + (long)lifetime.TotalSeconds);
        });

        var signingInput = Base64Url(header) + "." + Base64Url(payload);
        var signature = System.Security.Cryptography.HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url(signature);
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed record CachedToken(string Token, DateTimeOffset IssuedAt, DateTimeOffset RenewAt);
}
