using IdentityReconciliation.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Sqlite;

/// <summary>
/// The single writer of one store: it owns the write connection and applies requests one batch at a time, in arrival
/// order, several per transaction when they queue up (group commit).
/// </summary>
/// <remarks>
/// <para>
/// Who applies a batch, and which requests it holds, is <see cref="SqliteWriteQueue"/>'s business (inline when the writer
/// is idle, else its thread); this type is the batch protocol, on one <see cref="SqliteSession"/> that it alone uses.
/// </para>
/// <para>
/// A batch is one <c>BEGIN IMMEDIATE</c> transaction: the file's write lock is held from before the first request's
/// clusters are loaded until the commit, so no other process can change them in between. Each request runs in its own
/// savepoint and sees the changes of the requests before it in the batch, exactly as if they had committed one by one.
/// A request that fails is rolled back to its savepoint alone; the others commit. A caller's task completes only after
/// the commit that contains its changes; if the commit fails, every request of the batch fails and nothing of it landed.
/// </para>
/// <para>
/// Each request appends its change-feed entries (<see cref="ContactChangeFeed"/>) after its writes, inside its savepoint:
/// a request rolled back leaves no entry. The entries' sequence numbers are rowids given under the file's write lock, so
/// they increase with commit order across processes. Pruning the feed goes through the same queue.
/// </para>
/// <para>
/// A chunk of a back-fill (<see cref="IContactStore.ReconcileManyAsync"/>) is one operation of a batch: its requests are
/// applied in order inside the operation's savepoint, each exactly as a lone request (its clusters loaded after the
/// earlier ones' writes, then its writes and change-feed entries), and its results are released only after the commit.
/// When one of them fails (a plan that throws, a database error), the whole chunk is rolled back and fails with that
/// error: nothing of it was applied, and nothing of it is yielded.
/// </para>
/// <para>Cancellation is honoured while a request waits in the queue; once its batch starts it completes.</para>
/// <para>
/// The writer's connection never checkpoints inside a commit: after each commit it reports the pages it wrote to the
/// <see cref="SqliteCheckpointer"/>, which checkpoints on its own connection (and, far behind, on this one). When the
/// checkpointer asks for the WAL to start over, the writer restarts it on this connection after the batch's callers
/// have their answers, before it takes the next batch.
/// </para>
/// <para>
/// Erasures go through the same queue (so they serialise with identify requests here, and with other processes through
/// the write lock). After a batch that holds one commits, the writer runs a <c>TRUNCATE</c> checkpoint before it
/// completes the batch's tasks: the WAL's old page images, which may still hold an erased value, are copied into the
/// database (where <c>secure_delete</c> has zeroed the value) and the WAL file is cut to zero bytes. If another connection
/// keeps an older snapshot open past the busy timeout, the checkpoint cannot finish; it is logged and tried again, without
/// waiting, after every later batch until it does.
/// </para>
/// </remarks>
internal sealed class SqliteWriter : IDisposable
{
    private readonly Func<SqliteSession> _open;
    private readonly ILogger _logger;
    private readonly bool _recordChangeFeed;
    private readonly TimeSpan _busyTimeout;
    private readonly SqliteCheckpointer? _checkpointer;
    private readonly SqliteWriteQueue _queue;
    private bool _checkpointPending;
    private SqliteSession? _session;

    public SqliteWriter(Func<SqliteSession> open, int maxBatchSize, bool recordChangeFeed, TimeSpan busyTimeout, SqliteCheckpointer? checkpointer, string name, ILogger logger)
    {
        _open = open;
        _logger = logger;
        _recordChangeFeed = recordChangeFeed;
        _busyTimeout = busyTimeout;
        _checkpointer = checkpointer;
        _queue = new SqliteWriteQueue(maxBatchSize, ExecuteBatch, DisposeSession, name);
    }

    public Task<IReadOnlyList<Contact>> EnqueueAsync(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<IReadOnlyList<Contact>>(cancellationToken)
            : _queue.Enqueue(new SqliteWriteOperation(identifiers, plan, cancellationToken));

    /// <summary>Queues a chunk of requests to apply in order, in one transaction; returns their results once it committed.</summary>
    public async Task<IReadOnlyList<Contact>[]> EnqueueChunkAsync(IReadOnlyList<ContactIdentifiers> identifiers, Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var operation = new SqliteWriteOperation(identifiers, plan, cancellationToken);
        await _queue.Enqueue(operation).ConfigureAwait(false);
        return operation.ChunkResults!;
    }

    /// <summary>Queues an erasure of the identifiers, or of the person of <paramref name="personId"/> when it is set.</summary>
    public Task<IReadOnlyList<Contact>> EnqueueErasureAsync(ContactIdentifiers identifiers, long? personId, Func<ErasureScope, ErasureChangeSet> plan, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<IReadOnlyList<Contact>>(cancellationToken)
            : _queue.Enqueue(new SqliteWriteOperation(identifiers, personId, plan, cancellationToken));

    /// <summary>Queues a pruning of the change feed (see <see cref="SqliteWriteOperation.ChangeFeedPruning"/>); returns the number of entries deleted.</summary>
    public async Task<long> EnqueuePruneAsync(SqliteWriteOperation.ChangeFeedPruning pruning, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var operation = new SqliteWriteOperation(pruning, cancellationToken);
        await _queue.Enqueue(operation).ConfigureAwait(false);
        return operation.Pruned;
    }

    /// <summary>Stops after the requests already queued, and closes the connection.</summary>
    public void Dispose() => _queue.Dispose();

    private void ExecuteBatch(List<SqliteWriteOperation> batch)
    {
        SqliteSession session;
        try
        {
            session = _session ??= _open();
            session.BeginImmediate();
        }
        catch (Exception ex)
        {
            // Could not even take the write lock (busy timeout, I/O error): nothing was written.
            DisposeSession();
            foreach (var operation in batch)
            {
                operation.Fail(ex);
            }

            return;
        }

        var useSavepoints = batch.Count > 1;
        Exception? fatal = null;
        foreach (var operation in batch)
        {
            try
            {
                if (useSavepoints)
                {
                    session.Savepoint();
                }

                operation.Result = Apply(session, operation);
                if (useSavepoints)
                {
                    session.Release();
                }
            }
            catch (Exception ex)
            {
                operation.Error = ex;
                if (!TryRollBackToSavepoint(session, useSavepoints))
                {
                    // The transaction itself is gone (SQLite rolls back on some errors, such as a full disk): what the
                    // earlier requests of the batch did is lost with it, so none of them may be acknowledged.
                    fatal = ex;
                    break;
                }
            }
        }

        if (fatal is null)
        {
            try
            {
                session.Commit();
            }
            catch (Exception ex)
            {
                fatal = ex;
            }

            _checkpointer?.PagesWritten(session.TakePagesWritten(), session);
        }

        if (fatal is not null)
        {
            TryRollBack(session);
            foreach (var operation in batch)
            {
                operation.Fail(operation.Error ?? fatal);
            }

            return;
        }

        if (batch.Exists(static o => o.ErasurePlan is not null && o.Error is null))
        {
            CheckpointAfterErasure(session, retry: false);
        }
        else if (_checkpointPending)
        {
            CheckpointAfterErasure(session, retry: true);
        }

        foreach (var operation in batch)
        {
            operation.Complete();
        }

        if (_checkpointer is { RestartRequested: true } checkpointer)
        {
            RestartWal(session, checkpointer);
        }
    }

    /// <summary>
    /// The checkpointer's thread asked for the WAL to start over: after the batch's callers have their answers and before
    /// the next batch, restart it on this connection, waiting for readers of old frames at most the checkpointer's short
    /// busy timeout (see <see cref="SqliteCheckpointer.RestartOnWriter"/>).
    /// </summary>
    private void RestartWal(SqliteSession session, SqliteCheckpointer checkpointer)
    {
        try
        {
            session.SetBusyTimeout(SqliteCheckpointer.EscalationBusyTimeout);
            checkpointer.RestartOnWriter(session);
        }
        catch (SqliteException)
        {
            // Setting the timeout failed: the connection is in an unknown state, and RestoreBusyTimeout replaces it.
        }
        finally
        {
            RestoreBusyTimeout(session);
        }
    }

    /// <summary>
    /// Copies the WAL into the database and truncates it, so that no old page image of an erased value survives in it.
    /// Right after an erasure it waits for readers up to the busy timeout (the erasure's caller waits with it); a retry
    /// after an ordinary batch does not wait at all, so that a long reader elsewhere never slows down ordinary writes.
    /// Under the checkpointer's gate, this process's own checkpointer is not checkpointing (SQLite would refuse this one).
    /// </summary>
    private void CheckpointAfterErasure(SqliteSession session, bool retry)
    {
        try
        {
            if (retry)
            {
                session.SetBusyTimeout(TimeSpan.Zero);
            }

            lock (_checkpointer?.Gate ?? session)
            {
                _checkpointPending = !session.Checkpoint(SqliteCheckpointMode.Truncate, out _);
            }

            if (_checkpointPending && !retry)
            {
                Log.SqliteErasureCheckpointIncomplete(_logger);
            }
        }
        catch (SqliteException ex)
        {
            if (!_checkpointPending || !retry)
            {
                Log.SqliteErasureCheckpointFailed(_logger, ex);
            }

            _checkpointPending = true;
        }
        finally
        {
            if (retry)
            {
                RestoreBusyTimeout(session);
            }
        }
    }

    private void RestoreBusyTimeout(SqliteSession session)
    {
        try
        {
            session.SetBusyTimeout(_busyTimeout);
        }
        catch (SqliteException)
        {
            DisposeSession(); // the next batch opens a connection with the configured timeout
        }
    }

    private IReadOnlyList<Contact> Apply(SqliteSession session, SqliteWriteOperation operation)
    {
        if (operation.ErasurePlan is { } erasurePlan)
        {
            var (scope, erasure) = SqliteErasure.Execute(session.Connection, operation.Identifiers, operation.PersonId, erasurePlan);
            if (_recordChangeFeed && !erasure.IsEmpty)
            {
                AppendChanges(session, ContactChangeFeed.Describe(scope, erasure, ErasureTime(erasure)));
            }

            return erasure.ApplyTo(scope);
        }

        if (operation.Pruning is { } pruning)
        {
            operation.Pruned = pruning.KeepNewest is { } keepNewest
                ? session.PruneBeyondNewest(keepNewest)
                : session.PruneWindow(pruning.From, pruning.Until, pruning.OlderThan);
            return [];
        }

        if (operation.Chunk is { } chunk)
        {
            var plan = operation.ChunkPlan!;
            var results = new IReadOnlyList<Contact>[chunk.Count];
            for (var i = 0; i < chunk.Count; i++)
            {
                results[i] = Reconcile(session, chunk[i], i, static (i, touched, plan) => plan(i, touched), plan);
            }

            operation.ChunkResults = results;
            return [];
        }

        return Reconcile(session, operation.Identifiers, 0, static (_, touched, plan) => plan(touched), operation.Plan!);
    }

    /// <summary>
    /// One identify request, in the batch's transaction: loads its touched clusters (seeing every earlier write of the
    /// transaction), plans, and writes the insert, the updates, the merge evidence and the change-feed entries.
    /// </summary>
    private IReadOnlyList<Contact> Reconcile<TState>(SqliteSession session, ContactIdentifiers identifiers, int index, Func<int, IReadOnlyList<Contact>, TState, ContactChangeSet> plan, TState state)
    {
        var touched = session.LoadTouched(identifiers, inTransaction: true);
        var changes = plan(index, touched, state);
        if (changes.IsEmpty)
        {
            return touched;
        }

        long? insertedId = changes.Insert is { } insert ? session.Insert(insert) : null;
        foreach (var update in changes.Updates)
        {
            if (!session.Update(update))
            {
                throw new InvalidOperationException($"Contact {update.Id} was not found for update under the store's own write lock.");
            }
        }

        if (changes.Link is { } link)
        {
            session.InsertLink(link);
        }

        if (_recordChangeFeed)
        {
            AppendChanges(session, ContactChangeFeed.Describe(touched, changes, insertedId));
        }

        return changes.ApplyTo(touched, insertedId);
    }

    /// <summary>
    /// The time of an erasure for its entries: the one the planner was given (<see cref="ErasureChangeSet.ErasedAt"/>). A
    /// change set built without it gets the latest time it wrote, or the current time when it only deletes rows.
    /// </summary>
    private static DateTimeOffset ErasureTime(ErasureChangeSet changes)
    {
        DateTimeOffset? time = changes.ErasedAt;
        if (time is { } erasedAt)
        {
            return erasedAt;
        }

        foreach (var removal in changes.RemovedValues)
        {
            time = time is { } t && t >= removal.UpdatedAt ? t : removal.UpdatedAt;
        }

        foreach (var update in changes.Updates)
        {
            time = time is { } t && t >= update.UpdatedAt ? t : update.UpdatedAt;
        }

        return time ?? DateTimeOffset.UtcNow;
    }

    /// <summary>One prepared insert per entry, in the caller's transaction (and savepoint); SQLite gives each its rowid.</summary>
    private static void AppendChanges(SqliteSession session, IReadOnlyList<ContactChange> entries)
    {
        foreach (var entry in entries)
        {
            session.AppendChange(entry);
        }
    }

    private static bool TryRollBackToSavepoint(SqliteSession session, bool useSavepoints)
    {
        try
        {
            if (!session.InTransaction || !useSavepoints)
            {
                return false; // no transaction any more, or a lone request: roll back the whole transaction
            }

            session.RollbackToSavepoint();
            session.Release();
            return true;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    private void TryRollBack(SqliteSession session)
    {
        try
        {
            if (session.InTransaction)
            {
                session.Rollback();
            }
        }
        catch (SqliteException)
        {
            // The connection is in an unknown state: start afresh with the next batch.
            DisposeSession();
        }
    }

    private void DisposeSession()
    {
        _session?.Dispose();
        _session = null;
    }
}
