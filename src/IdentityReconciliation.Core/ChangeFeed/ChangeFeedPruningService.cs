using IdentityReconciliation.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation;

/// <summary>
/// Applies the change-feed retention of <see cref="IdentityReconciliationOptions"/> (<see cref="IdentityReconciliationOptions.ChangeFeedMaxAge"/>,
/// <see cref="IdentityReconciliationOptions.ChangeFeedMaxCount"/>) every <see cref="IdentityReconciliationOptions.ChangeFeedPruneInterval"/>;
/// registered by <c>AddIdentityReconciliation</c>, and idle when neither is set. Every instance of a shop may run it: pruning is idempotent.
/// </summary>
/// <remarks>The store is resolved only when retention is configured, so that a host that never prunes never opens it at start-up.</remarks>
internal sealed class ChangeFeedPruningService(
    Func<IContactStore> store,
    IOptions<IdentityReconciliationOptions> options,
    TimeProvider timeProvider,
    ILogger<ChangeFeedPruningService>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>Applies the retention settings once.</summary>
    /// <returns>The number of entries deleted.</returns>
    internal async Task<long> PruneOnceAsync(CancellationToken cancellationToken)
    {
        var value = options.Value;
        if (value.ChangeFeedMaxAge is null && value.ChangeFeedMaxCount is null)
        {
            return 0;
        }

        var olderThan = value.ChangeFeedMaxAge is { } maxAge ? timeProvider.GetUtcNow() - maxAge : (DateTimeOffset?)null;
        var pruned = await store().PruneChangesAsync(olderThan, value.ChangeFeedMaxCount, cancellationToken).ConfigureAwait(false);
        if (pruned > 0)
        {
            Log.ChangesPruned(_logger, pruned);
        }

        return pruned;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var value = options.Value;
        if (value.ChangeFeedMaxAge is null && value.ChangeFeedMaxCount is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(value.ChangeFeedPruneInterval, timeProvider);
        do
        {
            try
            {
                await PruneOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.PruneFailed(_logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
