using IdentityReconciliation.PostgreSql.Diagnostics;

namespace IdentityReconciliation.PostgreSql;

// Group commit: writes that arrive while the store's write slots are busy wait in a queue, and the next free slot commits
// all of them (up to GroupCommitMaxSize) in one transaction, with the chunk transaction of ReconcileManyAsync
// (PostgreSqlContactStore.Bulk.cs): every identifier lock of the group up front in ascending order, then the roots, so the
// locking protocol's single global order still holds between groups, single writes, erasures and other processes. The
// requests of a group are independent callers, so any order is a serial order; the queue's order is used.
//
// The queue and its slots (lanes) are PostgreSqlBatchingQueue's, shared with lookup batching: a write that finds a free
// slot and nobody waiting runs alone, as before (two round trips, no queue, no allocation here), so one caller never pays
// for grouping, and a slot that finishes hands itself to the thread pool while requests wait.
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
internal sealed class PostgreSqlGroupCommit : PostgreSqlBatchingQueue<PostgreSqlGroupCommit.Pending>, IDisposable
{
    private readonly TimeSpan _stallDelay;
    private readonly Func<ContactIdentifiers, Func<IReadOnlyList<Contact>, ContactChangeSet>, CancellationToken, Task<IReadOnlyList<Contact>>> _single;
    private readonly Func<IReadOnlyList<ContactIdentifiers>, Func<int, IReadOnlyList<Contact>, ContactChangeSet>, Task<IReadOnlyList<Contact>[]>> _group;
    private Timer? _watchdog;
    private bool _watchdogArmed;

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
        : base(maxSize, slots)
    {
        _stallDelay = stallDelay;
        _single = single;
        _group = group;
    }

    /// <summary>Queues a write for the next group; the task completes with its result.</summary>
    public Task<IReadOnlyList<Contact>> EnqueueAsync(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken) =>
        EnqueueAsync(new Pending(identifiers, plan, cancellationToken));

    public void Dispose() => _watchdog?.Dispose();

    /// <summary>A write queued behind busy slots arms the watchdog, unless it is armed already.</summary>
    protected override bool OnQueuedBehindBusyLanesLocked()
    {
        if (_watchdogArmed)
        {
            return false;
        }

        _watchdogArmed = true;
        return true;
    }

    protected override void OnQueuedBehindBusyLanes() => (_watchdog ??= CreateWatchdog()).Change(_stallDelay, Timeout.InfiniteTimeSpan);

    protected override Task<IReadOnlyList<Contact>> RunAloneAsync(Pending request) => _single(request.Identifiers, request.Plan, request.CancellationToken);

    protected override Task<IReadOnlyList<Contact>[]> RunTogetherAsync(List<Pending> batch)
    {
        PostgreSqlStoreMetrics.GroupCommitted(batch.Count);
        return _group(batch.ConvertAll(static p => p.Identifiers), (index, touched) => batch[index].PlanSafely(touched));
    }

    private Timer CreateWatchdog()
    {
        lock (Sync)
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
        bool open;
        lock (Sync)
        {
            if (!AnyQueuedLocked)
            {
                _watchdogArmed = false;
                return;
            }

            open = TryOpenExtraLaneLocked(_stallDelay);
        }

        if (open)
        {
            PostgreSqlStoreMetrics.GroupCommitStalled();
            StartDrain();
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

    /// <summary>A request waiting for a slot, then for its group's commit.</summary>
    internal sealed class Pending(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken)
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
