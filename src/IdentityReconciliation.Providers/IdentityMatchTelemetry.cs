namespace IdentityReconciliation.Providers;

/// <summary>The names under which the provider clients publish traces and metrics.</summary>
/// <remarks>
/// Subscribe with <c>AddSource(IdentityMatchTelemetry.Name)</c> and <c>AddMeter(IdentityMatchTelemetry.Name)</c> in
/// OpenTelemetry. Tags never carry personal details: only <c>provider</c>, <c>outcome</c> and <c>error.type</c>.
/// </remarks>
public static class IdentityMatchTelemetry
{
    /// <summary>The name of the package's <c>ActivitySource</c>, <c>Meter</c> and logging category prefix.</summary>
    public const string Name = "IdentityReconciliation.Providers";

    /// <summary>Counter of calls, tagged <c>provider</c> and <c>outcome</c> (an outcome, or <c>error</c>).</summary>
    public const string CallsCounter = "identity_match.provider.calls";

    /// <summary>Counter of calls that threw, tagged <c>provider</c> and <c>error.type</c>.</summary>
    public const string FailuresCounter = "identity_match.provider.failures";

    /// <summary>Counter of HTTP attempts that were retried, tagged <c>provider</c>.</summary>
    public const string RetriesCounter = "identity_match.provider.retries";

    /// <summary>Counter of HTTP attempts that had to wait for the provider's rate limit, tagged <c>provider</c>.</summary>
    public const string RateLimitWaitsCounter = "identity_match.provider.rate_limit_waits";
}
