namespace IdentityReconciliation.Samples.WebApi;

/// <summary>The sample's own log messages. None carries a request's identifiers, body or API key.</summary>
internal static partial class Log
{
    public const string Category = "IdentityReconciliation.Samples.WebApi";

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "The contact store is busy ({Reason}); answered 503 with Retry-After {RetryAfterSeconds} s.")]
    public static partial void StoreBusy(ILogger logger, string reason, long retryAfterSeconds);
}
