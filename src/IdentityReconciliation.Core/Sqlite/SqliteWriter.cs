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
/// When the writer is idle, nothing is queued and the thread pool has no work waiting, the caller applies its request
/// itself, on its own thread, with no hand-off. Otherwise requests queue up, and a dedicated thread applies them in
/// batches.
/// Either way only one batch runs at a time, and it is the only user of the write connection.
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
/// <para>Cancellation is honoured while a request waits in the queue; once its batch starts it completes.</para>
/// <para>
/// Erasures go through the same queue (so they serialise with identify requests here, and with other processes through
/// the write lock). After a batch that holds one commits, the writer runs <c>PRAGMA wal_checkpoint(TRUNCATE)</c> before it
/// completes the batch's tasks: the WAL's old page images, which may still hold an erased value, are copied into the
/// database (where <c>secure_delete</c> has zeroed the value) and the WAL file is cut to zero bytes. If another connection
/// keeps an older snapshot open past the busy timeout, the checkpoint cannot finish; it is logged and tried again, without
/// waiting, after every later batch until it does.
/// </para>
/// </remarks>
internal sealed class SqliteWriter : IDisposable
{
    private readonly object _gate = new();
    private readonly Queue<WriteOperation> _queue = new();
    private readonly Func<SqliteConnection> _open;
    private readonly int _maxBatchSize;
    private readonly Thread _thread;
    private readonly List<WriteOperation> _batch;
    private readonly List<WriteOperation> _inline = new(1);
    private readonly ILogger _logger;
    private readonly bool _recordChangeFeed;
    private readonly SqliteCheckpointer? _checkpointer;
    private bool _busy;
    private bool _stopping;
    private bool _checkpointPending;

    private SqliteConnection? _connection;
    private SqliteCommand? _begin;
    private SqliteCommand? _commit;
    private SqliteCommand? _rollback;
    private SqliteCommand? _savepoint;
    private SqliteCommand? _release;
    private SqliteCommand? _rollbackToSavepoint;
    private SqliteTouchedQuery? _load;
    private SqliteCommand? _insert;
    private SqliteCommand? _update;
    private SqliteCommand? _insertLink;
    private SqliteCommand? _appendChange;

    public SqliteWriter(Func<SqliteConnection> open, int maxBatchSize, bool recordChangeFeed, SqliteCheckpointer? checkpointer, string name, ILogger logger)
    {
        _checkpointer = checkpointer;
        _open = open;
        _logger = logger;
        _maxBatchSize = maxBatchSize;
        _recordChangeFeed = recordChangeFeed;
        _batch = new List<WriteOperation>(maxBatchSize);
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public Task<IReadOnlyList<Contact>> EnqueueAsync(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<IReadOnlyList<Contact>>(cancellationToken);
        }

        return Enqueue(new WriteOperation(identifiers, plan, cancellationToken));
    }

    /// <summary>Queues an erasure of the identifiers, or of the person of <paramref name="personId"/> when it is set.</summary>
    public Task<IReadOnlyList<Contact>> EnqueueErasureAsync(ContactIdentifiers identifiers, long? personId, Func<ErasureScope, ErasureChangeSet> plan, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<IReadOnlyList<Contact>>(cancellationToken);
        }

        return Enqueue(new WriteOperation(identifiers, personId, plan, cancellationToken));
    }

    /// <summary>Queues a pruning of the change feed (see <see cref="IContactStore.PruneChangesAsync"/>); returns the number of entries deleted.</summary>
    public async Task<long> EnqueuePruneAsync(DateTimeOffset? olderThan, long? keepNewest, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var operation = new WriteOperation(new ChangeFeedPruning(olderThan, keepNewest), cancellationToken);
        await Enqueue(operation).ConfigureAwait(false);
        return operation.Pruned;
    }

    private Task<IReadOnlyList<Contact>> Enqueue(WriteOperation operation)
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return Task.FromException<IReadOnlyList<Contact>>(new ObjectDisposedException(nameof(SqliteContactStore)));
            }

            // Inline only when that costs nobody: the writer is idle, nothing is queued, and no other work waits for a
            // thread-pool thread (a write blocks its thread through the commit's fsync; under load, blocking pool
            // threads would starve the lookups, so requests go to the writer thread and are batched there).
            if (_busy || _queue.Count > 0 || ThreadPool.PendingWorkItemCount > 0)
            {
                _queue.Enqueue(operation);
                Monitor.Pulse(_gate);
                return operation.Task;
            }

            _busy = true;
        }

        // Idle writer, empty queue: apply it here, without waking another thread.
        try
        {
            _inline.Add(operation);
            ExecuteBatch(_inline);
        }
        finally
        {
            _inline.Clear();
            lock (_gate)
            {
                _busy = false;
                Monitor.Pulse(_gate); // requests that queued meanwhile go to the writer thread
            }
        }

        return operation.Task;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.Pulse(_gate);
        }

        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                while (_busy || (_queue.Count == 0 && !_stopping))
                {
                    Monitor.Wait(_gate);
                }

                if (_queue.Count == 0)
                {
                    break; // stopping, nothing queued and nobody writing: the connection can go
                }

                _busy = true;
                while (_batch.Count < _maxBatchSize && _queue.TryDequeue(out var operation))
                {
                    if (operation.CancellationToken.IsCancellationRequested)
                    {
                        operation.Cancel();
                    }
                    else
                    {
                        _batch.Add(operation);
                    }
                }
            }

            try
            {
                if (_batch.Count > 0)
                {
                    ExecuteBatch(_batch);
                }
            }
            finally
            {
                _batch.Clear();
                lock (_gate)
                {
                    _busy = false;
                }
            }
        }

        DisposeConnection();
    }

    private void ExecuteBatch(List<WriteOperation> batch)
    {
        try
        {
            EnsureConnection();
            _begin!.ExecuteNonQuery();
        }
        catch (Exception ex)
        {
            // Could not even take the write lock (busy timeout, I/O error): nothing was written.
            DisposeConnection();
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
                    _savepoint!.ExecuteNonQuery();
                }

                operation.Result = Apply(operation);
                if (useSavepoints)
                {
                    _release!.ExecuteNonQuery();
                }
            }
            catch (Exception ex)
            {
                operation.Error = ex;
                if (!TryRollBackToSavepoint(useSavepoints))
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
                _commit!.ExecuteNonQuery();
            }
            catch (Exception ex)
            {
                fatal = ex;
            }

            ReportPagesWritten();
        }

        if (fatal is not null)
        {
            TryRollBack();
            foreach (var operation in batch)
            {
                operation.Fail(operation.Error ?? fatal);
            }

            return;
        }

        if (batch.Exists(static o => o.ErasurePlan is not null && o.Error is null))
        {
            CheckpointAfterErasure(retry: false);
        }
        else if (_checkpointPending)
        {
            CheckpointAfterErasure(retry: true);
        }

        foreach (var operation in batch)
        {
            operation.Complete();
        }
    }

    /// <summary>Tells the checkpointer how many pages this connection wrote to the WAL since the last report.</summary>
    private void ReportPagesWritten()
    {
        if (_checkpointer is not null && _connection is not null)
        {
            // SQLITE_DBSTATUS_CACHE_WRITE: in WAL mode, the pages written to the WAL; the last argument resets the count.
            if (SQLitePCL.raw.sqlite3_db_status(_connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_WRITE, out var pages, out _, 1) == SQLitePCL.raw.SQLITE_OK)
            {
                _checkpointer.PagesWritten(pages, _connection);
            }
        }
    }

    /// <summary>
    /// Copies the WAL into the database and truncates it, so that no old page image of an erased value survives in it.
    /// Right after an erasure it waits for readers up to the busy timeout (the erasure's caller waits with it); a retry
    /// after an ordinary batch does not wait at all, so that a long reader elsewhere never slows down ordinary writes.
    /// </summary>
    private void CheckpointAfterErasure(bool retry)
    {
        long? busyTimeout = null;
        try
        {
            using var command = _connection!.CreateCommand();
            if (retry)
            {
                command.CommandText = "PRAGMA busy_timeout";
                busyTimeout = (long)command.ExecuteScalar()!;
                command.CommandText = "PRAGMA busy_timeout = 0";
                command.ExecuteNonQuery();
            }

            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            lock (_checkpointer?.Gate ?? command)
            {
                // Under the gate, this process's checkpointer is not checkpointing: SQLite would refuse this one at once.
                using var reader = command.ExecuteReader();
                _checkpointPending = !reader.Read() || reader.GetInt64(0) != 0;
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
            if (busyTimeout is { } milliseconds)
            {
                RestoreBusyTimeout(milliseconds);
            }
        }
    }

    private void RestoreBusyTimeout(long milliseconds)
    {
        try
        {
            using var command = _connection!.CreateCommand();
            command.CommandText = $"PRAGMA busy_timeout = {milliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            command.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            DisposeConnection(); // the next batch opens a connection with the configured timeout
        }
    }

    private IReadOnlyList<Contact> Apply(WriteOperation operation)
    {
        if (operation.ErasurePlan is { } erasurePlan)
        {
            var (scope, erasure) = SqliteErasure.Execute(_connection!, operation.Identifiers, operation.PersonId, erasurePlan);
            if (_recordChangeFeed && !erasure.IsEmpty)
            {
                AppendChanges(ContactChangeFeed.Describe(scope, erasure, ErasureTime(erasure)));
            }

            return erasure.ApplyTo(scope);
        }

        if (operation.Pruning is { } pruning)
        {
            operation.Pruned = Prune(pruning);
            return [];
        }

        var touched = _load!.Execute(operation.Identifiers, inTransaction: true);
        var changes = operation.Plan!(touched);
        if (changes.IsEmpty)
        {
            return touched;
        }

        long? insertedId = null;
        if (changes.Insert is { } insert)
        {
            var parameters = _insert!.Parameters;
            SqliteSql.Bind(parameters[0], insert.PhoneNumber);
            SqliteSql.Bind(parameters[1], insert.Email);
            SqliteSql.Bind(parameters[2], insert.LinkedId);
            parameters[3].Value = SqliteSql.ToText(insert.LinkPrecedence);
            parameters[4].Value = SqliteSql.FormatTimestamp(insert.CreatedAt);
            insertedId = (long)_insert.ExecuteScalar()!;
        }

        foreach (var update in changes.Updates)
        {
            var parameters = _update!.Parameters;
            SqliteSql.Bind(parameters[0], update.LinkedId);
            parameters[1].Value = SqliteSql.ToText(update.LinkPrecedence);
            parameters[2].Value = SqliteSql.FormatTimestamp(update.UpdatedAt);
            parameters[3].Value = update.Id;
            if (_update.ExecuteNonQuery() != 1)
            {
                throw new InvalidOperationException($"Contact {update.Id} was not found for update under the store's own write lock.");
            }
        }

        if (changes.Link is { } link)
        {
            var parameters = _insertLink!.Parameters;
            parameters[0].Value = link.Email;
            parameters[1].Value = link.PhoneNumber;
            parameters[2].Value = SqliteSql.FormatTimestamp(link.CreatedAt);
            _insertLink.ExecuteNonQuery();
        }

        if (_recordChangeFeed)
        {
            AppendChanges(ContactChangeFeed.Describe(touched, changes, insertedId));
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
    private void AppendChanges(IReadOnlyList<ContactChange> entries)
    {
        var parameters = _appendChange!.Parameters;
        foreach (var entry in entries)
        {
            parameters[0].Value = SqliteSql.FormatTimestamp(entry.OccurredAt);
            parameters[1].Value = (long)entry.Kind;
            parameters[2].Value = entry.ContactId;
            SqliteSql.Bind(parameters[3], entry.PrimaryContactId);
            SqliteSql.Bind(parameters[4], SqliteChangeFeedSql.FormatRelated(entry.RelatedContactIds));
            _appendChange.ExecuteNonQuery();
        }
    }

    /// <summary>Deletes by age, then beyond the newest entries to keep; never the newest entry.</summary>
    private long Prune(ChangeFeedPruning pruning)
    {
        long deleted = 0;
        using var command = _connection!.CreateCommand();
        if (pruning.OlderThan is { } olderThan)
        {
            command.CommandText = SqliteChangeFeedSql.PruneOlderThan;
            command.Parameters.AddWithValue("@OlderThan", SqliteSql.FormatTimestamp(olderThan));
            deleted += command.ExecuteNonQuery();
            command.Parameters.Clear();
        }

        if (pruning.KeepNewest is { } keepNewest)
        {
            command.CommandText = SqliteChangeFeedSql.PruneBeyondNewest;
            command.Parameters.AddWithValue("@Skip", Math.Max(keepNewest, 1) - 1);
            deleted += command.ExecuteNonQuery();
        }

        return deleted;
    }

    private bool TryRollBackToSavepoint(bool useSavepoints)
    {
        try
        {
            if (SQLitePCL.raw.sqlite3_get_autocommit(_connection!.Handle) != 0)
            {
                return false; // no transaction any more
            }

            if (!useSavepoints)
            {
                return false; // a lone request: roll back the whole transaction
            }

            _rollbackToSavepoint!.ExecuteNonQuery();
            _release!.ExecuteNonQuery();
            return true;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    private void TryRollBack()
    {
        try
        {
            if (_connection is not null && SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) == 0)
            {
                _rollback!.ExecuteNonQuery();
            }
        }
        catch (SqliteException)
        {
            // The connection is in an unknown state: start afresh with the next batch.
            DisposeConnection();
        }
    }

    private void EnsureConnection()
    {
        if (_connection is not null)
        {
            return;
        }

        var connection = _open();
        try
        {
            _begin = Prepare(connection, "BEGIN IMMEDIATE");
            _commit = Prepare(connection, "COMMIT");
            _rollback = Prepare(connection, "ROLLBACK");
            _savepoint = Prepare(connection, "SAVEPOINT identify");
            _release = Prepare(connection, "RELEASE identify");
            _rollbackToSavepoint = Prepare(connection, "ROLLBACK TO identify");
            _load = new SqliteTouchedQuery(connection);

            _insert = connection.CreateCommand();
            _insert.CommandText = SqliteSql.Insert;
            _insert.Parameters.Add("@PhoneNumber", SqliteType.Text);
            _insert.Parameters.Add("@Email", SqliteType.Text);
            _insert.Parameters.Add("@LinkedId", SqliteType.Integer);
            _insert.Parameters.Add("@LinkPrecedence", SqliteType.Text);
            _insert.Parameters.Add("@CreatedAt", SqliteType.Text);

            _update = connection.CreateCommand();
            _update.CommandText = SqliteSql.Update;
            _update.Parameters.Add("@LinkedId", SqliteType.Integer);
            _update.Parameters.Add("@LinkPrecedence", SqliteType.Text);
            _update.Parameters.Add("@UpdatedAt", SqliteType.Text);
            _update.Parameters.Add("@Id", SqliteType.Integer);

            _insertLink = connection.CreateCommand();
            _insertLink.CommandText = SqliteErasureSql.InsertLink;
            _insertLink.Parameters.Add("@Email", SqliteType.Text);
            _insertLink.Parameters.Add("@PhoneNumber", SqliteType.Text);
            _insertLink.Parameters.Add("@CreatedAt", SqliteType.Text);

            _appendChange = connection.CreateCommand();
            _appendChange.CommandText = SqliteChangeFeedSql.Append;
            _appendChange.Parameters.Add("@OccurredAt", SqliteType.Text);
            _appendChange.Parameters.Add("@Kind", SqliteType.Integer);
            _appendChange.Parameters.Add("@ContactId", SqliteType.Integer);
            _appendChange.Parameters.Add("@PrimaryContactId", SqliteType.Integer);
            _appendChange.Parameters.Add("@RelatedContactIds", SqliteType.Text);
            _connection = connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Prepare();
        return command;
    }

    private void DisposeConnection()
    {
        foreach (var command in new[] { _begin, _commit, _rollback, _savepoint, _release, _rollbackToSavepoint, _insert, _update, _insertLink, _appendChange })
        {
            command?.Dispose();
        }

        _load?.Dispose();
        _load = null;

        _connection?.Dispose();
        _connection = null;
    }

    private sealed class WriteOperation : TaskCompletionSource<IReadOnlyList<Contact>>
    {
        public WriteOperation(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken)
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            Identifiers = identifiers;
            Plan = plan;
            CancellationToken = cancellationToken;
        }

        public WriteOperation(ContactIdentifiers identifiers, long? personId, Func<ErasureScope, ErasureChangeSet> erasurePlan, CancellationToken cancellationToken)
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            Identifiers = identifiers;
            PersonId = personId;
            ErasurePlan = erasurePlan;
            CancellationToken = cancellationToken;
        }

        public WriteOperation(ChangeFeedPruning pruning, CancellationToken cancellationToken)
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            Pruning = pruning;
            CancellationToken = cancellationToken;
        }

        public ContactIdentifiers Identifiers { get; }

        public Func<IReadOnlyList<Contact>, ContactChangeSet>? Plan { get; }

        /// <summary>Set for an erasure: of <see cref="Identifiers"/>, or of the person of <see cref="PersonId"/>.</summary>
        public Func<ErasureScope, ErasureChangeSet>? ErasurePlan { get; }

        public long? PersonId { get; }

        /// <summary>Set for a pruning of the change feed; its result is <see cref="Pruned"/>.</summary>
        public ChangeFeedPruning? Pruning { get; }

        public long Pruned { get; set; }

        public CancellationToken CancellationToken { get; }

        public IReadOnlyList<Contact>? Result { get; set; }

        public Exception? Error { get; set; }

        public void Complete()
        {
            if (Error is not null)
            {
                TrySetException(Error);
            }
            else
            {
                TrySetResult(Result!);
            }
        }

        public void Fail(Exception exception) => TrySetException(exception);

        public void Cancel() => TrySetCanceled(CancellationToken);
    }

    private sealed record ChangeFeedPruning(DateTimeOffset? OlderThan, long? KeepNewest);
}
