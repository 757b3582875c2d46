namespace IdentityReconciliation.Sqlite;

/// <summary>
/// The queue in front of the store's one writer, and the thread that drains it: it decides who applies a request and
/// with which others, never how (no SQL here; the batch goes to the delegate given at construction).
/// </summary>
/// <remarks>
/// <para>
/// When the writer is idle, nothing is queued, the thread pool has no work waiting and the request is short (not a
/// chunk of a back-fill), the caller applies its request itself, on its own thread, with no hand-off. Otherwise requests
/// queue up, and a dedicated thread takes them in arrival order, up to the batch size at a time, dropping those cancelled
/// while they waited. Either way only one batch
/// runs at a time, so the batch delegate is the only user of the write connection.
/// </para>
/// <para>
/// <see cref="Dispose"/> lets the queued requests run, then stops the thread, which calls the delegate given for it on
/// its way out (the writer closes its connection there, on the thread that used it last).
/// </para>
/// </remarks>
internal sealed class SqliteWriteQueue : IDisposable
{
    private readonly object _gate = new();
    private readonly Queue<SqliteWriteOperation> _queue = new();
    private readonly List<SqliteWriteOperation> _batch;
    private readonly List<SqliteWriteOperation> _inline = new(1);
    private readonly Action<List<SqliteWriteOperation>> _execute;
    private readonly Action _stopped;
    private readonly int _maxBatchSize;
    private readonly Thread _thread;
    private bool _busy;
    private bool _stopping;

    public SqliteWriteQueue(int maxBatchSize, Action<List<SqliteWriteOperation>> execute, Action stopped, string name)
    {
        _maxBatchSize = maxBatchSize;
        _execute = execute;
        _stopped = stopped;
        _batch = new List<SqliteWriteOperation>(maxBatchSize);
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Applies the operation inline when that costs nobody, else queues it; the task completes after its commit.</summary>
    public Task<IReadOnlyList<Contact>> Enqueue(SqliteWriteOperation operation)
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
            // A long operation (a chunk of a back-fill) always goes to the writer thread: it would block a pool thread
            // for the whole chunk.
            if (_busy || _queue.Count > 0 || operation.IsLong || ThreadPool.PendingWorkItemCount > 0)
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
            _execute(_inline);
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

    /// <summary>Stops the thread after the requests already queued.</summary>
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
                    break; // stopping, nothing queued and nobody writing
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
                    _execute(_batch);
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

        _stopped();
    }
}
