using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace IdentityReconciliation.Providers.Tests.Support;

/// <summary>
/// Records when each attempt is handed to the transport, as the client sees it: a handler added after the client's
/// own (so it runs inside each attempt, right after the library marks the attempt started, with no await between).
/// </summary>
/// <remarks>
/// The stand-in server's own arrival times are not a measure of the client's spacing: it shares the test process's
/// thread pool, and on a loaded 2-core machine that pool stalls for 0.5–1 s (work queued, CPU idle), so a request
/// sent on time can be recorded late, next to the one after it (issue 16).
/// </remarks>
public sealed class SendLog
{
    private readonly ConcurrentQueue<(long Timestamp, string? FirstName)> _sends = new();

    /// <summary>The first names of the sent bodies, in the order they were sent.</summary>
    public IReadOnlyList<string?> FirstNames => _sends.OrderBy(send => send.Timestamp).Select(send => send.FirstName).ToList();

    /// <summary>The gaps between consecutive sends, skipping the first <paramref name="skip"/> sends.</summary>
    public IReadOnlyList<TimeSpan> Gaps(int skip = 0)
    {
        var times = _sends.Select(send => send.Timestamp).Order().Skip(skip).ToList();
        return times.Zip(times.Skip(1), (earlier, later) => Stopwatch.GetElapsedTime(earlier, later)).ToList();
    }

    public int Count => _sends.Count;

    public DelegatingHandler CreateHandler() => new Recorder(this);

    private sealed class Recorder(SendLog log) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // The stamp comes first, before any await: the same synchronous run as the library's MarkStarted.
            var timestamp = Stopwatch.GetTimestamp();
            string? firstName = null;
            if (request.Content is { } content)
            {
                using var body = JsonDocument.Parse(await content.ReadAsByteArrayAsync(cancellationToken));
                firstName = body.RootElement.TryGetProperty("firstName", out var name) ? name.GetString() : null;
            }

            log._sends.Enqueue((timestamp, firstName));
            return await base.SendAsync(request, cancellationToken);
        }
    }
}
