using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Providers.Diagnostics;

/// <summary>
/// The package's log messages, event ids 200–299 (the core uses 1–99, the PostgreSQL store 100–199). None of them
/// carries a credential, a token, a phone number, any other personal detail of a query, or provider error text.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(200, LogLevel.Debug, "Calling the {Provider} identity match.")]
    public static partial void CallStarting(ILogger logger, string provider);

    [LoggerMessage(201, LogLevel.Information,
        "{Provider} identity match returned {Outcome} (provider status {ProviderStatus}, reference {ReferenceId}) after {Attempts} attempt(s) in {ElapsedMilliseconds} ms.")]
    public static partial void CallCompleted(
        ILogger logger, string provider, IdentityMatchOutcome outcome, string? providerStatus, string? referenceId, int attempts, long elapsedMilliseconds);

    [LoggerMessage(202, LogLevel.Warning,
        "{Provider} identity match failed with {ErrorType} (HTTP status {StatusCode}, provider status {ProviderStatus}, reference {ReferenceId}) after {Attempts} attempt(s).")]
    public static partial void CallFailed(
        ILogger logger, string provider, string errorType, int? statusCode, string? providerStatus, string? referenceId, int attempts);

    [LoggerMessage(203, LogLevel.Warning, "{Provider} attempt {Attempt} failed with {Failure}; retrying in {DelayMilliseconds} ms.")]
    public static partial void Retrying(ILogger logger, string provider, int attempt, string failure, double delayMilliseconds);

    [LoggerMessage(204, LogLevel.Error, "{Provider} circuit breaker opened after repeated failures; calls fail fast for {BreakMilliseconds} ms.")]
    public static partial void CircuitOpened(ILogger logger, string provider, double breakMilliseconds);

    [LoggerMessage(205, LogLevel.Information, "{Provider} circuit breaker closed; calls flow again.")]
    public static partial void CircuitClosed(ILogger logger, string provider);

    [LoggerMessage(206, LogLevel.Debug, "{Provider} attempt waited {WaitMilliseconds} ms for the rate limit.")]
    public static partial void RateLimitWaited(ILogger logger, string provider, double waitMilliseconds);

    [LoggerMessage(207, LogLevel.Debug, "Minted a CM.com JWT valid until {ExpiresAt:O}.")]
    public static partial void JwtMinted(ILogger logger, DateTimeOffset expiresAt);

    [LoggerMessage(208, LogLevel.Information, "{Provider} circuit breaker half-open; letting a trial call through.")]
    public static partial void CircuitHalfOpened(ILogger logger, string provider);
}
