using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>
/// Lets requests that share a credential start at most once per interval, process-wide. Callers queue in arrival
/// order (a <see cref="ConcurrencyLimiter"/> with one permit, oldest first) and may cancel while queued or waiting.
/// </summary>
/// <remarks>
/// A token bucket is not used because its timer-driven replenishment can let two requests through closer together
/// than the interval when the first arrives just before a replenishment tick; the provider's limit ("at most one
/// request per second") needs strict spacing, measured from the start of the previous request.
/// </remarks>
internal sealed class RequestSpacingGate
{
    private static readonly ConcurrentDictionary<string, RequestSpacingGate> Gates = new(StringComparer.Ordinal);

    private readonly ConcurrencyLimiter _queue = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = 1,
        QueueLimit = int.MaxValue,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    private DateTimeOffset? _lastStart;

    /// <summary>The process-wide gate for <paramref name="partitionKey"/> (never a secret: a key ID or a hash).</summary>
    public static RequestSpacingGate For(string partitionKey) => Gates.GetOrAdd(partitionKey, static _ => new RequestSpacingGate());

    /// <summary>Waits for this caller's turn and returns how long it waited.</summary>
    public async ValueTask<TimeSpan> WaitAsync(TimeSpan interval, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (interval <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var started = timeProvider.GetTimestamp();
        var lease = _queue.AttemptAcquire(1);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            lease = await _queue.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        }

        using (lease)
        {
            if (!lease.IsAcquired)
            {
                throw new InvalidOperationException("The request spacing queue rejected the request.");
            }

            var now = timeProvider.GetUtcNow();
            if (_lastStart is { } last)
            {
                var wait = last + interval - now;

                // A wall clock set backwards must not stall the queue for longer than one interval.
                if (wait > interval)
                {
                    wait = interval;
                }

                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, timeProvider, cancellationToken).ConfigureAwait(false);
                }
            }

            _lastStart = timeProvider.GetUtcNow();
        }

        return timeProvider.GetElapsedTime(started);
    }
}
