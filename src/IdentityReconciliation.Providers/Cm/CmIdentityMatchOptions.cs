using System.ComponentModel.DataAnnotations;
using IdentityReconciliation.Providers.Internal;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Providers.Cm;

/// <summary>Settings of the CM.com Mobile Identity — Identity Match client.</summary>
/// <remarks>
/// Set exactly one way to authenticate: <see cref="KeyId"/> and <see cref="Secret"/> (the client mints short-lived
/// HS256 JWTs), a static <see cref="Token"/>, or a <see cref="TokenProvider"/> callback. Validated at start-up;
/// <see cref="ToString"/> never shows <see cref="Secret"/> or <see cref="Token"/>.
/// </remarks>
public sealed class CmIdentityMatchOptions : IValidatableObject
{
    /// <summary>The default <see cref="BaseAddress"/>: the Mobile Identity service root.</summary>
    public const string DefaultBaseAddress = "https://api.cm.com/mobile-identity/v1";

    /// <summary>The sandbox's service root, for <see cref="BaseAddress"/>: requests go to <c>…/mobile-identity-sandbox/v1/identity-match</c>.</summary>
    public const string SandboxBaseAddress = "https://api.cm.com/mobile-identity-sandbox/v1";

    /// <summary>
    /// The Mobile Identity service root; the client posts to <c>{BaseAddress}/identity-match</c>. An address without a
    /// path (such as <c>https://api.cm.com</c>) keeps the earlier meaning: <c>/mobile-identity/v1/identity-match</c> is
    /// appended. Must be absolute and <c>https</c>; plain <c>http</c> is accepted only for a loopback host (tests).
    /// Default <see cref="DefaultBaseAddress"/>; <see cref="SandboxBaseAddress"/> for the sandbox.
    /// </summary>
    [Required]
    public Uri BaseAddress { get; set; } = new(DefaultBaseAddress);

    /// <summary>The answer to ask for. Default <see cref="CmServiceType.Score"/>.</summary>
    public CmServiceType ServiceType { get; set; } = CmServiceType.Score;

    /// <summary>The Key ID of your CM.com Mobile Identity credentials (the JWT header's <c>kid</c>).</summary>
    public string? KeyId { get; set; }

    /// <summary>The secret of your CM.com credentials, used (as UTF-8) to sign JWTs with HS256. A secret.</summary>
    public string? Secret { get; set; }

    /// <summary>
    /// How long each minted JWT is valid (<c>exp</c> − <c>iat</c>). A token is renewed once less than a quarter of
    /// its lifetime remains. Default 60 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A bearer token that the host obtained itself, sent as is. A secret.</summary>
    public string? Token { get; set; }

    /// <summary>
    /// A callback that returns the bearer token, called before every attempt (cache inside it as suits you). Cannot
    /// be bound from configuration.
    /// </summary>
    public Func<CancellationToken, ValueTask<string>>? TokenProvider { get; set; }

    /// <summary>
    /// The shortest time between the sends of two requests with the same credentials, process-wide, measured on the
    /// monotonic clock from the moment the previous request was handed to the transport. CM.com allows at most one
    /// request per second per credentials across all Mobile Identity services, counted where requests arrive: network
    /// delays can still bring two arrivals closer, so raise it a little if CM.com answers 429. Callers queue in arrival
    /// order; the wait counts against <see cref="IdentityMatchResilienceOptions.TotalTimeout"/>. Zero turns the limit
    /// off. Default 1 second.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MinimumRequestInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A rate limiter the host supplies, for example one that several instances share through a distributed lock or
    /// a cache the host already runs. Each attempt, retries included, takes one permit right before it is sent; a
    /// refused permit fails the call with <see cref="IdentityMatchProviderUnavailableException"/> (nothing is sent).
    /// When set, <see cref="MinimumRequestInterval"/> is not used. Code only, not bindable. Default: none (the
    /// in-process spacing of <see cref="MinimumRequestInterval"/>, which holds only inside one process).
    /// </summary>
    public System.Threading.RateLimiting.RateLimiter? RateLimiter { get; set; }

    /// <summary>
    /// Names the credentials that share a rate limit when <see cref="TokenProvider"/> is used (the client cannot see
    /// them). With <see cref="KeyId"/> the Key ID is used; with <see cref="Token"/> a hash of it. Default
    /// <c>token-provider</c>.
    /// </summary>
    public string? RateLimitPartitionKey { get; set; }

    /// <summary>
    /// The score (0–100) at or above which a field passes. CM.com recommends no threshold; the default 80 matches
    /// Telesign's recommendation, so that both providers pass the same way unless you choose otherwise.
    /// </summary>
    [Range(0, 100)]
    public int MatchThreshold { get; set; } = 80;

    /// <summary>Timeouts, retries (see <see cref="IdentityMatchResilienceOptions.RetryWhenPossiblyBilled"/>) and circuit breaker.</summary>
    [Required]
    [ValidateObjectMembers]
    public IdentityMatchResilienceOptions Resilience { get; set; } = new();

    /// <summary>Describes the options without the secret or token.</summary>
    /// <returns>The options, with <see cref="Secret"/> and <see cref="Token"/> redacted.</returns>
    public override string ToString() =>
        $"CmIdentityMatchOptions {{ BaseAddress = {BaseAddress}, ServiceType = {ServiceType}, KeyId = {KeyId ?? "(not set)"}, " +
        $"Secret = {Redact(Secret)}, Token = {Redact(Token)}, TokenProvider = {(TokenProvider is null ? "(not set)" : "(set)")}, RateLimiter = {(RateLimiter is null ? "(in-process)" : "(host)")}, " +
        $"TokenLifetime = {TokenLifetime}, MinimumRequestInterval = {MinimumRequestInterval}, MatchThreshold = {MatchThreshold} }}";

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ProviderRegistration.CheckBaseAddress(BaseAddress, nameof(BaseAddress)) is { } baseAddressError)
        {
            yield return baseAddressError;
        }

        if (!Enum.IsDefined(ServiceType))
        {
            yield return new ValidationResult(
                $"{nameof(ServiceType)} must be {nameof(CmServiceType.Score)} or {nameof(CmServiceType.Match)}.", [nameof(ServiceType)]);
        }

        var hasKeyId = !string.IsNullOrWhiteSpace(KeyId);
        var hasSecret = !string.IsNullOrEmpty(Secret);
        var hasToken = !string.IsNullOrWhiteSpace(Token);
        var hasProvider = TokenProvider is not null;
        var ways = (hasKeyId || hasSecret ? 1 : 0) + (hasToken ? 1 : 0) + (hasProvider ? 1 : 0);

        if (ways == 0)
        {
            yield return new ValidationResult(
                $"No CM.com credentials: set {nameof(KeyId)} and {nameof(Secret)} (to mint JWTs), or {nameof(Token)}, or {nameof(TokenProvider)}.",
                [nameof(KeyId), nameof(Secret), nameof(Token), nameof(TokenProvider)]);
        }
        else if (ways > 1)
        {
            yield return new ValidationResult(
                $"Set only one way to authenticate: {nameof(KeyId)} and {nameof(Secret)}, or {nameof(Token)}, or {nameof(TokenProvider)}.",
                [nameof(KeyId), nameof(Token), nameof(TokenProvider)]);
        }
        else if (hasKeyId != hasSecret)
        {
            var missing = hasKeyId ? nameof(Secret) : nameof(KeyId);
            yield return new ValidationResult(
                $"{missing} is required with {(hasKeyId ? nameof(KeyId) : nameof(Secret))}: the JWT needs both the Key ID and the secret.",
                [missing]);
        }
    }

    internal string RateLimitPartition()
    {
        if (!string.IsNullOrWhiteSpace(KeyId))
        {
            return "kid:" + KeyId.Trim();
        }

        if (!string.IsNullOrWhiteSpace(Token))
        {
            var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Token.Trim()));
            return "token:" + Convert.ToHexString(hash);
        }

        return "provider:" + (string.IsNullOrWhiteSpace(RateLimitPartitionKey) ? "token-provider" : RateLimitPartitionKey);
    }

    private static string Redact(string? secret) => string.IsNullOrEmpty(secret) ? "(not set)" : "(redacted)";
}
