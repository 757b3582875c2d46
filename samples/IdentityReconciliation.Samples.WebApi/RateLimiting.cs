using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace IdentityReconciliation.Samples.WebApi;

/// <summary>
/// The <c>RateLimiting</c> settings: a fixed window of <see cref="PermitLimit"/> requests per <see cref="Window"/> for
/// each client address on <c>POST /identify</c>. Off unless <see cref="PermitLimit"/> is set, so that a load test measures
/// the service itself.
/// </summary>
internal sealed class RateLimitingOptions
{
    /// <summary>The requests allowed per window and client address; 0 (the default) turns rate limiting off.</summary>
    public int PermitLimit { get; set; }

    /// <summary>The length of the window. Default: one second.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Requests beyond the limit that wait for the next window instead of being rejected. Default: 0.</summary>
    public int QueueLimit { get; set; }
}

internal static class SampleRateLimiting
{
    public const string Policy = "identify";

    /// <summary>
    /// Registers ASP.NET Core's rate limiter with the <see cref="Policy"/> policy when <c>RateLimiting:PermitLimit</c> is
    /// set; returns whether it did. A rejected request gets <c>429 application/problem+json</c> with <c>Retry-After</c>.
    /// Behind a reverse proxy, forward the client's address (UseForwardedHeaders) or every client shares one budget.
    /// </summary>
    public static bool AddSampleRateLimiting(this IServiceCollection services, IConfiguration section)
    {
        var options = section.Get<RateLimitingOptions>() ?? new RateLimitingOptions();
        if (options.PermitLimit <= 0)
        {
            return false;
        }

        if (options.Window <= TimeSpan.Zero || options.QueueLimit < 0)
        {
            throw new InvalidOperationException("RateLimiting:Window must be positive and RateLimiting:QueueLimit must not be negative.");
        }

        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(Policy, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = options.PermitLimit,
                    Window = options.Window,
                    QueueLimit = options.QueueLimit,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                }));
            limiter.OnRejected = (context, _) =>
            {
                var http = context.HttpContext;
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    http.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }

                return new ValueTask(TypedResults.Problem(
                    statusCode: StatusCodes.Status429TooManyRequests,
                    type: "https://tools.ietf.org/html/rfc6585#section-4",
                    title: "Too many requests.",
                    detail: "Try again after the number of seconds in the Retry-After header.").ExecuteAsync(http));
            };
        });
        return true;
    }
}
