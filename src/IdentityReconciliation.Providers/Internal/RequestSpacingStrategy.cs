using IdentityReconciliation.Providers.Diagnostics;
using Microsoft.Extensions.Logging;
using Polly;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>
/// A pipeline step that waits for a <see cref="RequestSpacingGate"/> before each attempt. It sits inside the retry
/// and circuit breaker (each retry is a request the provider counts; an open circuit does not queue) and outside the
/// attempt timeout (time spent queued is not an attempt). The turn travels in <see cref="ResilienceContext.Properties"/>
/// to the resilience handler, which marks it started right before the attempt is handed to the transport.
/// </summary>
internal sealed class RequestSpacingStrategy : ResilienceStrategy
{
    /// <summary>Where the resilience handler finds the turn to mark started.</summary>
    public static readonly ResiliencePropertyKey<RequestSpacingGate.Turn?> TurnKey = new("IdentityReconciliation.Providers.SpacingTurn");

    /// <summary>Waits shorter than this are scheduling noise, not rate limiting.</summary>
    private static readonly TimeSpan NoticeableWait = TimeSpan.FromMilliseconds(1);

    private readonly RequestSpacingGate _gate;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _timeProvider;
    private readonly string _provider;
    private readonly ILogger _logger;
    private readonly ProvidersTelemetry _telemetry;

    public RequestSpacingStrategy(
        RequestSpacingGate gate, TimeSpan interval, TimeProvider timeProvider, string provider, ILogger logger, ProvidersTelemetry telemetry)
    {
        _gate = gate;
        _interval = interval;
        _timeProvider = timeProvider;
        _provider = provider;
        _logger = logger;
        _telemetry = telemetry;
    }

    protected override async ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback, ResilienceContext context, TState state)
    {
        var started = _timeProvider.GetTimestamp();
        RequestSpacingGate.Turn turn;
        try
        {
            turn = await _gate.WaitTurnAsync(_interval, _timeProvider, context.CancellationToken).ConfigureAwait(context.ContinueOnCapturedContext);
        }
        catch (OperationCanceledException exception)
        {
            return Outcome.FromException<TResult>(exception);
        }

        using (turn)
        {
            var waited = _timeProvider.GetElapsedTime(started);
            if (waited >= NoticeableWait)
            {
                _telemetry.RecordRateLimitWait(_provider);
                Log.RateLimitWaited(_logger, _provider, waited.TotalMilliseconds);
            }

            context.Properties.Set(TurnKey, turn);
            try
            {
                return await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
            }
            finally
            {
                context.Properties.Set(TurnKey, null);
            }
        }
    }
}
