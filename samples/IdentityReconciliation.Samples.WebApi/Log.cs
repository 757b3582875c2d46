namespace IdentityReconciliation.Samples.WebApi;

/// <summary>The sample's own log messages. None carries a request's identifiers, body or API key.</summary>
internal static partial class Log
{
    public const string Category = "IdentityReconciliation.Samples.WebApi";

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "The contact store is busy ({Reason}); answered 503 with Retry-After {RetryAfterSeconds} s.")]
    public static partial void StoreBusy(ILogger logger, string reason, long retryAfterSeconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "No API key is configured (Authentication:ApiKeys): POST /identify and the change-feed endpoints (GET /changes, /contacts/...) are open to anyone who can reach them. Configure at least one key to require the {HeaderName} header.")]
    public static partial void NoApiKey(ILogger logger, string headerName);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Rejected a request without a valid API key (header present: {HeaderPresent}).")]
    public static partial void ApiKeyRejected(ILogger logger, bool headerPresent);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "The client sent a {Method} request that could not be read: answered {StatusCode}.")]
    public static partial void ClientError(ILogger logger, string method, int statusCode);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "The client went away while its {Method} request was being read: connection aborted.")]
    public static partial void ClientGone(ILogger logger, string method);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Relayed {Count} change-feed entries, up to sequence {LastSequence}.")]
    public static partial void Relayed(ILogger logger, int count, long lastSequence);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Relaying the change feed failed ({Reason}); retrying after sequence {AfterSequence}.")]
    public static partial void RelayFailed(ILogger logger, string reason, long afterSequence);
}
