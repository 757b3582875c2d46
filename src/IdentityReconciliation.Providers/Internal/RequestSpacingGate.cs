using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>
/// Lets requests that share a credential start at most once per interval, process-wide. Callers queue in arrival
/// order (a <see cref="ConcurrencyLimiter"/> with one permit, oldest first) and may cancel while queued or waiting.
/// </summary>
/// <remarks>
/// The holder of a <see cref="Turn"/> keeps the queue closed until it marks the moment its request is handed to the
/// transport (<see cref="Turn.MarkStarted"/>), so the next caller measures its interval from the real send, not from
/// the moment the previous caller left the queue: work between the two (a token, signing, a stalled thread pool) can
/// no longer bring two sends closer together than the interval. Time is read from the monotonic clock
/// (<see cref="TimeProvider.GetTimestamp"/>), which a wall-clock step cannot move.
/// A token bucket is not used because its timer-driven replenishment can let two requests through closer together
/// than the interval.
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

    private long _lastStart;
    private int _hasStarted;

    /// <summary>The process-wide gate for <paramref name="partitionKey"/> (never a secret: a key ID or a hash).</summary>
    public static RequestSpacingGate For(string partitionKey) => Gates.GetOrAdd(partitionKey, static _ => new RequestSpacingGate());

    /// <summary>
    /// Waits until this caller is first in the queue and at least <paramref name="interval"/> has passed since the
    /// previous request was sent. The returned turn holds the queue until it is marked started or disposed.
    /// </summary>
    public async ValueTask<Turn> WaitTurnAsync(TimeSpan interval, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var lease = _queue.AttemptAcquire(1);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            lease = await _queue.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        }

        var turn = new Turn(this, lease, timeProvider);
        try
        {
            if (!lease.IsAcquired)
            {
                throw new InvalidOperationException("The request spacing queue rejected the request.");
            }

            // A timer may fire up to a millisecond early: wait in whole milliseconds, and again if still short.
            while (Volatile.Read(ref _hasStarted) == 1 &&
                   interval - timeProvider.GetElapsedTime(Volatile.Read(ref _lastStart)) is var wait && wait > TimeSpan.Zero)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds)), timeProvider, cancellationToken)
                    .ConfigureAwait(false);
            }

            return turn;
        }
        catch
        {
            turn.Dispose();
            throw;
        }
    }

    /// <summary>One caller's turn at the front of the queue.</summary>
    internal sealed class Turn : IDisposable
    {
        private readonly RequestSpacingGate _gate;
        private readonly TimeProvider _timeProvider;
        private RateLimitLease? _lease;

        public Turn(RequestSpacingGate gate, RateLimitLease lease, TimeProvider timeProvider)
        {
            _gate = gate;
            _lease = lease;
            _timeProvider = timeProvider;
        }

        /// <summary>Records now as the previous send and lets the next caller in. Call right before sending.</summary>
        public void MarkStarted()
        {
            if (Volatile.Read(ref _lease) is null)
            {
                return;
            }

            Volatile.Write(ref _gate._lastStart, _timeProvider.GetTimestamp());
            Volatile.Write(ref _gate._hasStarted, 1);
            Dispose();
        }

        /// <summary>Lets the next caller in without recording a send (nothing was sent).</summary>
        public void Dispose() => Interlocked.Exchange(ref _lease, null)?.Dispose();
    }
}
