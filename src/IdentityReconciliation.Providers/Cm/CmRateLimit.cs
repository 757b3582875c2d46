using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using IdentityReconciliation.Providers.Diagnostics;
using Microsoft.Extensions.Logging;
using Polly;

using IdentityReconciliation.Providers.Internal;

namespace IdentityReconciliation.Providers.Cm;

/// <summary>
/// The CM.com rate limit, a pipeline step inside the retry and circuit breaker (each retry is a request CM.com counts;
/// an open circuit does not queue) and outside the attempt timeout (time queued is not an attempt). With a
/// host-supplied <see cref="RateLimiter"/> each attempt takes one permit from it; otherwise the process-wide
/// <see cref="Gate"/> of the credential spaces the sends.
/// </summary>
internal sealed class CmRateLimit(
    string provider, RateLimiter? limiter, CmRateLimit.Gate? gate, TimeSpan interval, TimeProvider timeProvider, ILogger logger, ProvidersTelemetry telemetry)
    : ResilienceStrategy
{
    /// <summary>Where the signing handler finds the turn to mark started, right before the attempt is sent.</summary>
    public static readonly ResiliencePropertyKey<Gate.Turn?> TurnKey = new("IdentityReconciliation.Providers.SpacingTurn");

    protected override async ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback, ResilienceContext context, TState state)
    {
        var started = timeProvider.GetTimestamp();
        IDisposable permit;
        bool waited;
        try
        {
            if (limiter is null)
            {
                var turn = await gate!.WaitTurnAsync(interval, timeProvider, context.CancellationToken).ConfigureAwait(false);
                (permit, waited) = (turn, turn.Waited);
            }
            else
            {
                (permit, waited) = await AcquireAsync(limiter, context.CancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IdentityMatchException)
        {
            return Outcome.FromException<TResult>(exception);
        }

        using (permit)
        {
            // A wait is one the limit imposed (queued behind another caller, or delayed for the interval), never time the
            // thread merely lost to a busy machine between two clock reads.
            if (waited)
            {
                telemetry.RecordRateLimitWait(provider);
                Log.RateLimitWaited(logger, provider, timeProvider.GetElapsedTime(started).TotalMilliseconds);
            }

            context.Properties.Set(TurnKey, permit as Gate.Turn);
            try
            {
                return await callback(context, state).ConfigureAwait(false);
            }
            finally
            {
                context.Properties.Set(TurnKey, null);
            }
        }
    }

    private async ValueTask<(IDisposable Lease, bool Waited)> AcquireAsync(RateLimiter rateLimiter, CancellationToken cancellationToken)
    {
        var lease = rateLimiter.AttemptAcquire(1);
        if (lease.IsAcquired)
        {
            return (lease, false);
        }

        lease.Dispose();
        lease = await rateLimiter.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        if (lease.IsAcquired)
        {
            return (lease, true);
        }

        lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter);
        lease.Dispose();
        throw new IdentityMatchProviderUnavailableException(
            provider, $"The host's rate limiter for {provider} refused the request; nothing was sent.", null, null, retryAfter == default ? null : retryAfter);
    }

    /// <summary>
    /// Lets requests that share a credential be sent at most once per interval, process-wide. Callers queue in arrival
    /// order (a <see cref="ConcurrencyLimiter"/> with one permit, oldest first). The caller at the head keeps the queue
    /// closed until its request is handed to the transport (<see cref="Turn.MarkStarted"/>), and the next interval runs
    /// from that moment on the monotonic clock, so work after the queue (a token, signing, a stalled thread pool) can
    /// never send two requests together (issue 16). A token bucket's timer-driven refill could.
    /// </summary>
    internal sealed class Gate
    {
        private static readonly ConcurrentDictionary<string, Gate> Gates = new(StringComparer.Ordinal);

        private readonly ConcurrencyLimiter _queue = new(new ConcurrencyLimiterOptions
        {
            PermitLimit = 1,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });

        private long _lastStart;
        private int _hasStarted;

        /// <summary>The process-wide gate for <paramref name="partitionKey"/> (never a secret: a key ID or a hash).</summary>
        public static Gate For(string partitionKey) => Gates.GetOrAdd(partitionKey, static _ => new Gate());

        /// <summary>Waits to be first in the queue and for <paramref name="interval"/> since the previous send.</summary>
        public async ValueTask<Turn> WaitTurnAsync(TimeSpan interval, TimeProvider timeProvider, CancellationToken cancellationToken)
        {
            var lease = _queue.AttemptAcquire(1);
            var waited = !lease.IsAcquired;
            if (waited)
            {
                lease.Dispose();
                lease = await _queue.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
            }

            var turn = new Turn(this, lease, timeProvider);
            try
            {
                // A timer may fire up to a millisecond early: wait in whole milliseconds, and again if still short.
                while (Volatile.Read(ref _hasStarted) == 1 &&
                       interval - timeProvider.GetElapsedTime(Volatile.Read(ref _lastStart)) is var wait && wait > TimeSpan.Zero)
                {
                    waited = true;
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds)), timeProvider, cancellationToken)
                        .ConfigureAwait(false);
                }

                turn.Waited = waited;
                return turn;
            }
            catch
            {
                turn.Dispose();
                throw;
            }
        }

        /// <summary>One caller's turn at the head of the queue.</summary>
        internal sealed class Turn(Gate gate, RateLimitLease lease, TimeProvider timeProvider) : IDisposable
        {
            private RateLimitLease? _lease = lease;

            /// <summary>Whether the caller had to wait: queued behind another caller, or delayed for the interval.</summary>
            public bool Waited { get; set; }

            /// <summary>Records now as the previous send and lets the next caller in. Call right before sending.</summary>
            public void MarkStarted()
            {
                if (Volatile.Read(ref _lease) is not null)
                {
                    Volatile.Write(ref gate._lastStart, timeProvider.GetTimestamp());
                    Volatile.Write(ref gate._hasStarted, 1);
                    Dispose();
                }
            }

            /// <summary>Lets the next caller in without recording a send (nothing was sent).</summary>
            public void Dispose() => Interlocked.Exchange(ref _lease, null)?.Dispose();
        }
    }
}
