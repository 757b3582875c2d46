using System.Diagnostics;
using IdentityReconciliation.PostgreSql.Diagnostics;

namespace IdentityReconciliation.PostgreSql;

// Group commit: writes that arrive while the store's write slots are busy wait in a queue, and the next free slot commits
// all of them (up to GroupCommitMaxSize) in one transaction, with the chunk transaction of ReconcileManyAsync
// (PostgreSqlContactStore.Bulk.cs): every identifier lock of the group up front in ascending order, then the roots, so the
// locking protocol's single global order still holds between groups, single writes, erasures and other processes. The
// requests of a group are independent callers, so any order is a serial order; the queue's order is used.
//
// A write that finds a free slot and nobody waiting runs alone, as before (two round trips, no queue, no allocation here):
// one caller never pays for grouping. A slot that finishes hands itself to the thread pool while requests wait, so a
// caller's own latency never includes other callers' groups, and gives itself back once the queue is empty.
//
// A write can hold its slot for long: it may wait for a lock another instance holds (a slow transaction elsewhere). The
// writes queued behind it must not wait for that lock too when they do not need it (unrelated writes never waited for
// each other without group commit), so a watchdog opens one more slot whenever the queue has not moved for the stall
// delay; extra slots close again as they find the queue empty.
//
// Per request, the store's promises are unchanged: a plan that throws fails only its own request (its changes are left
// out of the group), a group that fails (after the executor's retries) fails each of its requests with nothing applied,
// and a request cancelled while it waits is removed from the queue. A request already taken into a group is no longer
// cancellable: like the single transaction past its first write, it completes.
internal sealed class PostgreSqlGroupCommit : IDisposable
{
    private readonly Queue<Pending> _queue = new();
    private readonly int _maxSize;
    private readonly int _slots;
    private readonly TimeSpan _stallDelay;
    private Timer? _watchdog;
    private bool _watchdogArmed;
    private long _lastProgress;
    private readonly Func<ContactIdentifiers, Func<IReadOnlyList<Contact>, ContactChangeSet>, CancellationToken, Task<IReadOnlyList<Contact>>> _single;
    private readonly Func<IReadOnlyList<ContactIdentifiers>, Func<int, IReadOnlyList<Contact>, ContactChangeSet>, Task<IReadOnlyList<Contact>[]>> _group;
    private int _busySlots;

    /// <param name="maxSize">The most requests in one group.</param>
    /// <param name="slots">How many writes or groups may run at once (each on its own connection).</param>
    /// <param name="stallDelay">How long the queue may wait without any slot finishing or starting before one more slot opens.</param>
    /// <param name="single">Runs one request in its own transaction.</param>
    /// <param name="group">Runs requests in one transaction, in order, returning each one's applied view (not cancellable).</param>
    public PostgreSqlGroupCommit(
        int maxSize,
        int slots,
        TimeSpan stallDelay,
        Func<ContactIdentifiers, Func<IReadOnlyList<Contact>, ContactChangeSet>, CancellationToken, Task<IReadOnlyList<Contact>>> single,
        Func<IReadOnlyList<ContactIdentifiers>, Func<int, IReadOnlyList<Contact>, ContactChangeSet>, Task<IReadOnlyList<Contact>[]>> group)
    {
        _maxSize = maxSize;
        _slots = slots;
        _stallDelay = stallDelay;
        _single = single;
        _group = group;
    }

    /// <summary>
    /// Takes a write slot when one is free and nobody waits: the caller then runs its write alone and must call
    /// <see cref="HandOver"/> when it finished. Otherwise the caller queues with <see cref="EnqueueAsync"/>.
    /// </summary>
    public bool TryRunAlone()
    {
        lock (_queue)
        {
            if (_busySlots < _slots && _queue.Count == 0)
            {
                _busySlots++;
                _lastProgress = Stopwatch.GetTimestamp();
                return true;
            }

            return false;
        }
    }

    /// <summary>Queues a write for the next group; the task completes with its result.</summary>
    public Task<IReadOnlyList<Contact>> EnqueueAsync(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken)
    {
        var pending = new Pending(identifiers, plan, cancellationToken);
        pending.ListenForCancellation(); // before it is queued (and could be taken), so that taking it can end the listening
        bool lead;
        var arm = false;
        lock (_queue)
        {
            _queue.Enqueue(pending);
            lead = _busySlots < _slots;
            if (lead)
            {
                _busySlots++;
            }
            else if (!_watchdogArmed)
            {
                _watchdogArmed = arm = true;
            }
        }

        if (arm)
        {
            (_watchdog ??= CreateWatchdog()).Change(_stallDelay, Timeout.InfiniteTimeSpan);
        }

        return lead ? LeadThenWaitAsync(pending) : pending.Completion;
    }

    public void Dispose() => _watchdog?.Dispose();

    private Timer CreateWatchdog()
    {
        lock (_queue)
        {
            // Without capturing the caller's execution context (its activity, its culture) into the timer.
            using (ExecutionContext.SuppressFlow())
            {
                return _watchdog ??= new Timer(static state => ((PostgreSqlGroupCommit)state!).CheckForStall(), this, Timeout.Infinite, Timeout.Infinite);
            }
        }
    }

    /// <summary>The watchdog: while writes wait, opens one more slot each time no slot finished or started for the stall delay.</summary>
    private void CheckForStall()
    {
        var open = false;
        lock (_queue)
        {
            if (_queue.Count == 0)
            {
                _watchdogArmed = false;
                return;
            }

            if (Stopwatch.GetElapsedTime(_lastProgress) >= _stallDelay)
            {
                _busySlots++;
                _lastProgress = Stopwatch.GetTimestamp();
                open = true;
            }
        }

        if (open)
        {
            PostgreSqlStoreMetrics.GroupCommitStalled();
            _ = Task.Run(DrainAsync);
        }

        try
        {
            _watchdog?.Change(_stallDelay, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The store was disposed.
        }
    }

    /// <summary>A free slot but others waiting (their slot is about to hand over): commit the next group now, this one with it.</summary>
    private async Task<IReadOnlyList<Contact>> LeadThenWaitAsync(Pending pending)
    {
        try
        {
            await RunNextGroupAsync().ConfigureAwait(false);
        }
        finally
        {
            HandOver();
        }

        return await pending.Completion.ConfigureAwait(false);
    }

    /// <summary>Called by a slot that finished: serve the queue from the thread pool, or give the slot back if it is empty.</summary>
    public void HandOver()
    {
        lock (_queue)
        {
            _lastProgress = Stopwatch.GetTimestamp();
            if (_queue.Count == 0)
            {
                _busySlots--;
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
                    _busySlots--;
                    return;
                }
            }

            await RunNextGroupAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Takes the waiting requests (up to the group size, skipping cancelled ones) and commits them. Never throws.</summary>
    private async Task RunNextGroupAsync()
    {
        var group = new List<Pending>(Math.Min(_maxSize, 16));
        lock (_queue)
        {
            _lastProgress = Stopwatch.GetTimestamp();
            while (group.Count < _maxSize && _queue.TryDequeue(out var next))
            {
                if (next.TryTake())
                {
                    group.Add(next);
                }
            }
        }

        if (group.Count == 0)
        {
            return;
        }

        if (group.Count == 1)
        {
            // Alone after all: the single transaction, still cancellable by its caller until it writes.
            var only = group[0];
            try
            {
                only.Complete(await _single(only.Identifiers, only.Plan, only.CancellationToken).ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                only.Fail(ex);
            }

            return;
        }

        PostgreSqlStoreMetrics.GroupCommitted(group.Count);
        IReadOnlyList<Contact>[] results;
        try
        {
            results = await _group(group.ConvertAll(static p => p.Identifiers), (index, touched) => group[index].PlanSafely(touched)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            foreach (var failed in group)
            {
                failed.Fail(ex);
            }

            return;
        }

        for (var i = 0; i < group.Count; i++)
        {
            group[i].Complete(results[i]);
        }
    }

    /// <summary>A request waiting for a slot, then for its group's commit.</summary>
    private sealed class Pending(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken)
        : PostgreSqlQueuedRequest<IReadOnlyList<Contact>>(cancellationToken)
    {
        private Exception? _planFailure;

        public ContactIdentifiers Identifiers { get; } = identifiers;

        public Func<IReadOnlyList<Contact>, ContactChangeSet> Plan { get; } = plan;

        /// <summary>
        /// The request's plan, called by the group's transaction (perhaps more than once: the last call is the one applied).
        /// A plan that throws fails this request only: its changes are left out of the group.
        /// </summary>
        public ContactChangeSet PlanSafely(IReadOnlyList<Contact> touched)
        {
            try
            {
                var changes = Plan(touched);
                _planFailure = null;
                return changes;
            }
            catch (Exception ex)
            {
                _planFailure = ex;
                return ContactChangeSet.Empty;
            }
        }

        /// <summary>Completes with the applied view, or with the plan's failure.</summary>
        public override void Complete(IReadOnlyList<Contact> applied)
        {
            if (_planFailure is { } failure)
            {
                Fail(failure);
            }
            else
            {
                base.Complete(applied);
            }
        }
    }
}
