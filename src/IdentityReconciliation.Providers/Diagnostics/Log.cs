using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Providers.Diagnostics;

/// <summary>
/// The package's log messages. None of them carries a credential, a token, a phone number or any other personal
/// detail of a query.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Calling the {Provider} identity match.")]
    public static partial void CallStarting(ILogger logger, string provider);

    [LoggerMessage(2, LogLevel.Information,
        "{Provider} identity match returned {Outcome} (provider status {ProviderStatus}) after {Attempts} attempt(s) in {ElapsedMilliseconds} ms.")]
    public static partial void CallCompleted(
        ILogger logger, string provider, IdentityMatchOutcome outcome, string? providerStatus, int attempts, long elapsedMilliseconds);

    [LoggerMessage(3, LogLevel.Warning,
        "{Provider} identity match failed with {ErrorType} (HTTP status {StatusCode}, provider status {ProviderStatus}) after {Attempts} attempt(s).")]
    public static partial void CallFailed(
        ILogger logger, string provider, string errorType, int? statusCode, string? providerStatus, int attempts);

    [LoggerMessage(4, LogLevel.Warning,
        "{Provider} attempt {Attempt} failed with {Failure}; retrying in {DelayMilliseconds} ms.")]
    public static partial void Retrying(ILogger logger, string provider, int attempt, string failure, double delayMilliseconds);

    [LoggerMessage(5, LogLevel.Error,
        "{Provider} circuit breaker opened after repeated failures; calls fail fast for {BreakMilliseconds} ms.")]
    public static partial void CircuitOpened(ILogger logger, string provider, double breakMilliseconds);

    [LoggerMessage(6, LogLevel.Information, "{Provider} circuit breaker closed; calls flow again.")]
    public static partial void CircuitClosed(ILogger logger, string provider);

    [LoggerMessage(7, LogLevel.Debug, "{Provider} attempt waited {WaitMilliseconds} ms for the rate limit.")]
    public static partial void RateLimitWaited(ILogger logger, string provider, double waitMilliseconds);

    [LoggerMessage(8, LogLevel.Debug, "Minted a CM.com JWT valid until {ExpiresAt:O}.")]
    public static partial void JwtMinted(ILogger logger, DateTimeOffset expiresAt);

    [LoggerMessage(9, LogLevel.Warning, "CM.com returned the unrecognised state {State}; treating it as no data.")]
    public static partial void UnknownCmState(ILogger logger, string state);

    [LoggerMessage(10, LogLevel.Information, "{Provider} circuit breaker half-open; letting a trial call through.")]
    public static partial void CircuitHalfOpened(ILogger logger, string provider);
}
