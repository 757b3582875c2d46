using System.ComponentModel.DataAnnotations;
using IdentityReconciliation.Providers.Internal;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Providers.Telesign;

/// <summary>Settings of the Telesign Phone ID Contact Match client.</summary>
/// <remarks>
/// Validated at start-up: a missing or malformed setting fails the host with a message naming it.
/// <see cref="ToString"/> never shows <see cref="ApiKey"/>.
/// </remarks>
public sealed class TelesignContactMatchOptions : IValidatableObject
{
    /// <summary>The default <see cref="BaseAddress"/>: Telesign's worldwide REST endpoint.</summary>
    public const string DefaultBaseAddress = "https://rest-ww.telesign.com";

    /// <summary>
    /// The REST endpoint. Must be absolute and <c>https</c>; plain <c>http</c> is accepted only for a loopback host
    /// (tests). Default <see cref="DefaultBaseAddress"/>.
    /// </summary>
    [Required]
    public Uri BaseAddress { get; set; } = new(DefaultBaseAddress);

    /// <summary>Your Telesign customer ID. Required.</summary>
    [Required]
    public string CustomerId { get; set; } = string.Empty;

    /// <summary>
    /// Your Telesign API key, exactly as Telesign issued it (base64; it is decoded for HMAC signing). Required.
    /// A secret: keep it in a secret store, not in <c>appsettings.json</c>.
    /// </summary>
    [Required]
    public string ApiKey { get; set; } = string.Empty;

    /// <summary>How requests are authenticated. Default <see cref="TelesignAuthenticationMethod.Hmac"/>.</summary>
    public TelesignAuthenticationMethod AuthenticationMethod { get; set; } = TelesignAuthenticationMethod.Hmac;

    /// <summary>
    /// The score (0–100) at or above which a field passes. Default 80, as Telesign recommends for its Contact Match
    /// scores.
    /// </summary>
    [Range(0, 100)]
    public int MatchThreshold { get; set; } = 80;

    /// <summary>Timeouts, retries (see <see cref="IdentityMatchResilienceOptions.RetryWhenPossiblyBilled"/>) and circuit breaker.</summary>
    [Required]
    [ValidateObjectMembers]
    public IdentityMatchResilienceOptions Resilience { get; set; } = new();

    /// <summary>Describes the options without the API key.</summary>
    /// <returns>The options, with <see cref="ApiKey"/> redacted.</returns>
    public override string ToString() =>
        $"TelesignContactMatchOptions {{ BaseAddress = {BaseAddress}, CustomerId = {CustomerId}, ApiKey = {(string.IsNullOrEmpty(ApiKey) ? "(not set)" : "(redacted)")}, AuthenticationMethod = {AuthenticationMethod}, MatchThreshold = {MatchThreshold} }}";

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ProviderRegistration.CheckBaseAddress(BaseAddress, nameof(BaseAddress)) is { } baseAddressError)
        {
            yield return baseAddressError;
        }

        if (!Enum.IsDefined(AuthenticationMethod))
        {
            yield return new ValidationResult(
                $"{nameof(AuthenticationMethod)} must be {nameof(TelesignAuthenticationMethod.Hmac)} or {nameof(TelesignAuthenticationMethod.Basic)}.",
                [nameof(AuthenticationMethod)]);
        }

        if (AuthenticationMethod == TelesignAuthenticationMethod.Hmac && !string.IsNullOrEmpty(ApiKey) && !IsBase64(ApiKey))
        {
            yield return new ValidationResult(
                $"{nameof(ApiKey)} is not valid base64. HMAC signing decodes the API key: paste it exactly as Telesign issued it.",
                [nameof(ApiKey)]);
        }
    }

    private static bool IsBase64(string value)
    {
        var buffer = new byte[((value.Length * 3) + 3) / 4];
        return Convert.TryFromBase64String(value.Trim(), buffer, out var written) && written > 0;
    }
}
