using System.Diagnostics;

namespace IdentityReconciliation.PostgreSql;

// The queue shared by group commit (PostgreSqlGroupCommit) and lookup batching (PostgreSqlLookupBatcher): a request that
// finds one of the lanes free and nobody waiting runs alone (no queue, no allocation here); otherwise it waits in the
// queue, and the next lane to free takes every waiting request (up to the batch size, skipping cancelled ones) and runs
// them together. A lane that finishes hands itself to the thread pool while requests wait, so that a caller's own latency
// never includes other callers' batches, and gives itself back once the queue is empty. No SQL here.
internal abstract class PostgreSqlBatchingQueue<TRequest>
    where TRequest : PostgreSqlQueuedRequest<IReadOnlyList<Contact>>
{
    private readonly Queue<TRequest> _queue = new();
    private readonly int _maxSize;
    private readonly int _lanes;
    private int _busyLanes;
    private long _lastProgress;

    /// <param name="maxSize">The most requests run together.</param>
    /// <param name="lanes">How many requests, or batches of requests, run at once (each on its own pooled connection).</param>
    protected PostgreSqlBatchingQueue(int maxSize, int lanes)
    {
        _maxSize = maxSize;
        _lanes = lanes;
    }

    /// <summary>The lock that guards the queue and the lanes; a subclass may guard its own state with it too.</summary>
    protected object Sync => _queue;

    /// <summary>
    /// Takes a lane when one is free and nobody waits: the caller then runs its request alone and must call
    /// <see cref="HandOver"/> when it finished. Otherwise the caller queues with <see cref="EnqueueAsync"/>.
    /// </summary>
    public bool TryRunAlone()
    {
        lock (_queue)
        {
            if (_busyLanes < _lanes && _queue.Count == 0)
            {
                _busyLanes++;
                _lastProgress = Stopwatch.GetTimestamp();
                return true;
            }

            return false;
        }
    }

    /// <summary>Called by a lane that finished: serve the queue from the thread pool, or give the lane back if it is empty.</summary>
    public void HandOver()
    {
        lock (_queue)
        {
            _lastProgress = Stopwatch.GetTimestamp();
            if (_queue.Count == 0)
            {
                _busyLanes--;
                return;
            }
        }

        StartDrain();
    }

    /// <summary>Queues a request for the next batch; the task completes with its result.</summary>
    protected Task<IReadOnlyList<Contact>> EnqueueAsync(TRequest request)
    {
        request.ListenForCancellation(); // before it is queued (and could be taken), so that taking it can end the listening
        bool lead;
        var queuedBehind = false;
        lock (_queue)
        {
            _queue.Enqueue(request);
            lead = _busyLanes < _lanes;
            if (lead)
            {
                _busyLanes++;
            }
            else
            {
                queuedBehind = OnQueuedBehindBusyLanesLocked();
            }
        }

        if (queuedBehind)
        {
            OnQueuedBehindBusyLanes();
        }

        return lead ? LeadThenWaitAsync(request) : request.Completion;
    }

    /// <summary>Called under <see cref="Sync"/> when a request queued behind busy lanes; <see langword="true"/> to have <see cref="OnQueuedBehindBusyLanes"/> called after the lock.</summary>
    protected virtual bool OnQueuedBehindBusyLanesLocked() => false;

    /// <summary>Called outside the lock when <see cref="OnQueuedBehindBusyLanesLocked"/> asked for it.</summary>
    protected virtual void OnQueuedBehindBusyLanes()
    {
    }

    /// <summary>Whether requests wait; call it under <see cref="Sync"/>.</summary>
    protected bool AnyQueuedLocked => _queue.Count > 0;

    /// <summary>
    /// Under <see cref="Sync"/>: when neither a lane finished nor a batch started for <paramref name="stallDelay"/>, takes one
    /// more lane (beyond the configured ones) and returns <see langword="true"/>; the caller then calls <see cref="StartDrain"/>.
    /// </summary>
    protected bool TryOpenExtraLaneLocked(TimeSpan stallDelay)
    {
        if (Stopwatch.GetElapsedTime(_lastProgress) < stallDelay)
        {
            return false;
        }

        _busyLanes++;
        _lastProgress = Stopwatch.GetTimestamp();
        return true;
    }

    /// <summary>Serves the queue from the thread pool on a lane the caller took.</summary>
    protected void StartDrain() => _ = Task.Run(DrainAsync);

    /// <summary>Runs one request alone (it stays cancellable by its caller).</summary>
    protected abstract Task<IReadOnlyList<Contact>> RunAloneAsync(TRequest request);

    /// <summary>Runs two or more requests together, returning each one's result in order (not cancellable).</summary>
    protected abstract Task<IReadOnlyList<Contact>[]> RunTogetherAsync(List<TRequest> batch);

    /// <summary>A free lane but others waiting (their lane is about to hand over): run the next batch now, this one in it.</summary>
    private async Task<IReadOnlyList<Contact>> LeadThenWaitAsync(TRequest request)
    {
        try
        {
            await RunNextBatchAsync().ConfigureAwait(false);
        }
        finally
        {
            HandOver();
        }

        return await request.Completion.ConfigureAwait(false);
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

    /// <summary>Takes the waiting requests (up to the batch size, skipping cancelled ones) and runs them. Never throws.</summary>
    private async Task RunNextBatchAsync()
    {
        var batch = new List<TRequest>(Math.Min(_maxSize, 16));
        lock (_queue)
        {
            _lastProgress = Stopwatch.GetTimestamp();
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
            // Alone after all: the single request, still cancellable by its caller.
            var only = batch[0];
            try
            {
                only.Complete(await RunAloneAsync(only).ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                only.Fail(ex);
            }

            return;
        }

        IReadOnlyList<Contact>[] results;
        try
        {
            results = await RunTogetherAsync(batch).ConfigureAwait(false);
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
}
