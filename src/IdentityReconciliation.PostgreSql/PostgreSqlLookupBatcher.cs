using IdentityReconciliation.PostgreSql.Diagnostics;

namespace IdentityReconciliation.PostgreSql;

// Lookup batching: read-only lookups (FindClustersAsync, the reconciler's fast path before every request) that arrive
// while the store's lookup lanes are busy wait in a queue, and the next free lane sends all of them (up to
// LookupBatchMaxSize) as one statement in one round trip (PostgreSqlQueries.TouchedClustersMany). On a busy server most
// of a lookup's cost is the work around its statement (protocol messages, executor start-up, the round trip, waking both
// sides), not its index scans, so one statement for several lookups serves many more of them per second.
//
// A lookup that finds a free lane and nobody waiting runs alone, as before (no queue, no allocation here): one caller never
// waits for another. A lane that finishes hands itself to the thread pool while lookups wait, and gives itself back once
// the queue is empty. Lookups take no locks, so a lane never waits for another transaction and needs no stall watchdog.
//
// Each lookup keeps its own result and cancellation: a lookup cancelled while it waits leaves the queue at once; one taken
// into a batch completes. A batch that fails (after the executor's retries; a lookup is read-only, so a retry is safe)
// fails each of its lookups.
internal sealed class PostgreSqlLookupBatcher
{
    private readonly Queue<Pending> _queue = new();
    private readonly int _maxSize;
    private readonly int _lanes;
    private readonly Func<ContactIdentifiers, CancellationToken, Task<IReadOnlyList<Contact>>> _single;
    private readonly Func<IReadOnlyList<ContactIdentifiers>, Task<IReadOnlyList<Contact>[]>> _many;
    private int _busyLanes;

    /// <param name="maxSize">The most lookups in one statement.</param>
    /// <param name="lanes">How many lookups, or batches of lookups, one store runs at once (each on its own pooled connection).</param>
    /// <param name="single">Runs one lookup.</param>
    /// <param name="many">Runs several lookups in one statement, returning each one's contacts in order (not cancellable).</param>
    public PostgreSqlLookupBatcher(
        int maxSize,
        int lanes,
        Func<ContactIdentifiers, CancellationToken, Task<IReadOnlyList<Contact>>> single,
        Func<IReadOnlyList<ContactIdentifiers>, Task<IReadOnlyList<Contact>[]>> many)
    {
        _maxSize = maxSize;
        _lanes = lanes;
        _single = single;
        _many = many;
    }

    /// <summary>The touched clusters of <paramref name="identifiers"/>, alone or in the next batch.</summary>
    public async Task<IReadOnlyList<Contact>> FindAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken)
    {
        bool alone;
        lock (_queue)
        {
            alone = _busyLanes < _lanes && _queue.Count == 0;
            if (alone)
            {
                _busyLanes++;
            }
        }

        if (alone)
        {
            try
            {
                return await _single(identifiers, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                HandOver();
            }
        }

        var pending = new Pending(identifiers, cancellationToken);
        pending.ListenForCancellation(); // before it is queued (and could be taken), so that taking it can end the listening
        bool lead;
        lock (_queue)
        {
            _queue.Enqueue(pending);
            lead = _busyLanes < _lanes;
            if (lead)
            {
                _busyLanes++;
            }
        }

        if (lead)
        {
            try
            {
                await RunNextBatchAsync().ConfigureAwait(false);
            }
            finally
            {
                HandOver();
            }
        }

        return await pending.Completion.ConfigureAwait(false);
    }

    /// <summary>Called by a lane that finished: serve the queue from the thread pool, or give the lane back if it is empty.</summary>
    private void HandOver()
    {
        lock (_queue)
        {
            if (_queue.Count == 0)
            {
                _busyLanes--;
                return;
            }
        }

        _ = Task.Run(DrainAsync);
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            lock (_queue)
            {
                if (_queue.Count == 0)
                {
                    _busyLanes--;
                    return;
                }
            }

            await RunNextBatchAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Takes the waiting lookups (up to the batch size, skipping cancelled ones) and runs them. Never throws.</summary>
    private async Task RunNextBatchAsync()
    {
        var batch = new List<Pending>(Math.Min(_maxSize, 16));
        lock (_queue)
        {
            while (batch.Count < _maxSize && _queue.TryDequeue(out var next))
            {
                if (next.TryTake())
                {
                    batch.Add(next);
                }
            }
        }

        if (batch.Count == 0)
        {
            return;
        }

        if (batch.Count == 1)
        {
            // Alone after all: the single lookup, still cancellable by its caller.
            var only = batch[0];
            try
            {
                only.Complete(await _single(only.Identifiers, only.CancellationToken).ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                only.Fail(ex);
            }

            return;
        }

        PostgreSqlStoreMetrics.LookupsBatched(batch.Count);
        IReadOnlyList<Contact>[] results;
        try
        {
            results = await _many(batch.ConvertAll(static p => p.Identifiers)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            foreach (var failed in batch)
            {
                failed.Fail(ex);
            }

            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Complete(results[i]);
        }
    }

    /// <summary>A lookup waiting for a lane, then for its batch.</summary>
    private sealed class Pending(ContactIdentifiers identifiers, CancellationToken cancellationToken)
        : PostgreSqlQueuedRequest<IReadOnlyList<Contact>>(cancellationToken)
    {
        public ContactIdentifiers Identifiers { get; } = identifiers;
    }
}
