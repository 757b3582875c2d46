using IdentityReconciliation.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Sqlite;

/// <summary>
/// Copies the WAL back into the database file on a connection and a thread of its own, so that no commit pays for it.
/// </summary>
/// <remarks>
/// <para>
/// The writer's connection runs with <c>wal_autocheckpoint = 0</c>: without it, SQLite checkpoints inside the commit of
/// whichever transaction takes the WAL past 1,000 pages, and that commit (with every request batched into it) waits for
/// the copy and the database file's <c>fsync</c>. Instead the writer reports the pages each commit wrote
/// (<see cref="PagesWritten"/>), and once they add up to the threshold this thread runs a <c>PASSIVE</c> checkpoint,
/// which copies what no reader still needs without taking any lock a writer or a reader waits for.
/// </para>
/// <para>
/// A passive checkpoint cannot make the WAL start over while readers keep reading from it and the writer keeps adding to
/// it: under constant reads and writes it copies every frame it found and still sees the WAL grow. When the WAL holds
/// <see cref="EscalationFactor"/> times the threshold after a passive checkpoint, this thread first flushes the database
/// file and copies the frames written meanwhile with a few more passive passes (each shorter than the one before, each
/// flushed: see <see cref="SyncDatabaseFile"/>), then asks the writer to restart
/// it: between two batches, on its own connection, the writer runs a <c>RESTART</c> checkpoint with a short busy timeout
/// (<see cref="EscalationBusyTimeout"/>), which copies the last frames, waits for the readers of old frames to finish,
/// and lets the writer's next commit write the WAL again from its first frame (<see cref="RestartOnWriter"/> says why the
/// writer, not this thread). The file keeps its size and its disk blocks: a WAL cut to zero bytes instead
/// (<c>TRUNCATE</c>) made every commit after it extend the file, which costs the file system new blocks, zeroed pages and
/// a journal commit per <c>fsync</c> (docs/benchmarks.md, "The WAL starts over in place": 2,634–3,694 merges/s at 1M
/// contacts with the truncation against 3,392–3,933 with a restart, in alternating runs). The file's size stays bounded
/// by the writer's <c>journal_size_limit</c> (<see cref="WalSizeLimitBytes"/>): a WAL that grew past it, behind a long
/// reader, is cut back to it when it starts over. The restart holds the writer at most the busy timeout; when it cannot
/// finish (a reader, often in another process, holds an old snapshot), it gives up and tries again when the WAL has
/// grown by another four thresholds.
/// </para>
/// <para>
/// Several processes may share the file, each store with its writer and checkpointer: every checkpointer copies the
/// frames of every process, and SQLite lets one checkpoint run at a time (another one gets <c>SQLITE_BUSY</c>
/// at once, and this thread simply tries again after the next threshold's worth of pages). The checkpoint after an
/// erasure (<see cref="SqliteWriter"/>) runs under <see cref="Gate"/>, so it never collides with this process's own.
/// </para>
/// </remarks>
internal sealed class SqliteCheckpointer : IDisposable
{
    /// <summary>How many thresholds of frames the WAL may hold after a passive checkpoint before it is restarted.</summary>
    public const int EscalationFactor = 4;

    /// <summary>How many more passive passes may copy the frames written during the last one before the restart.</summary>
    public const int CatchUpPasses = 3;

    /// <summary>
    /// How many thresholds of pages the writer may add while this thread is still busy (a slow <c>fsync</c>, no processor
    /// free) before the writer stops and checkpoints itself: the one bound that holds however the thread is scheduled.
    /// </summary>
    public const int BackPressureFactor = 8;

    /// <summary>
    /// How many restarts in a row may give up before it is a warning (event 19): one that gives up now and then is routine
    /// under load (its <see cref="EscalationBusyTimeout"/> is one budget for every reader it waits for, and several short
    /// readers in a row can use it up), and is logged at <c>Debug</c> (event 16).
    /// </summary>
    public const int WarnAfterRestartsGivenUp = 3;

    /// <summary>How long a restarting checkpoint waits for the write lock and for readers of old frames.</summary>
    public static readonly TimeSpan EscalationBusyTimeout = TimeSpan.FromMilliseconds(50);

    private const int WalFrameHeaderBytes = 24;

    private readonly object _signal = new();
    private readonly Func<SqliteSession> _open;
    private readonly long _threshold;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private long _pages;
    private bool _stopping;
    private SqliteSession? _session;
    private long _escalateAt;
    private bool _failing;
    private bool _restartRequested;
    private int _requestedAt;
    private long _databaseFileSyncs;
    private bool _toldNotFlushed;
    private int _restartsGivenUpInARow;
    private long _restartsAskedByWriter;

    public SqliteCheckpointer(Func<SqliteSession> open, int thresholdPages, string name, ILogger logger)
    {
        _open = open;
        _threshold = thresholdPages;
        _escalateAt = _threshold * EscalationFactor;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>
    /// The WAL file size, in bytes, that the writer's connection cuts the file back to when the WAL starts over
    /// (<c>PRAGMA journal_size_limit</c>): <see cref="BackPressureFactor"/> thresholds of frames, above what the WAL holds
    /// when this thread and the writer keep up, so that in normal operation the file keeps its blocks.
    /// </summary>
    public static long WalSizeLimitBytes(int thresholdPages, int pageSize) => (long)thresholdPages * BackPressureFactor * (pageSize + WalFrameHeaderBytes);

    /// <summary>Held by every checkpoint this process runs, this thread's and the one after an erasure.</summary>
    public object Gate { get; } = new();

    /// <summary>
    /// Called by the writer after a commit with the pages it wrote to the WAL; wakes the thread at the threshold. When
    /// the thread has fallen <see cref="BackPressureFactor"/> thresholds behind, checkpoints on the writer's connection
    /// before returning (waiting first for the checkpoint in progress), as SQLite itself would inside the commit, and
    /// asks for the restart itself when that checkpoint finds the WAL long enough for one.
    /// </summary>
    public void PagesWritten(long pages, SqliteSession writer)
    {
        if (pages <= 0)
        {
            return;
        }

        var pending = Interlocked.Add(ref _pages, pages);
        if (pending < _threshold)
        {
            return;
        }

        if (pending >= _threshold * BackPressureFactor)
        {
            CatchUp(writer);
            return;
        }

        lock (_signal)
        {
            Monitor.Pulse(_signal);
        }
    }

    /// <summary>Stops the thread after the checkpoint it is running, if any, and closes its connection.</summary>
    public void Dispose()
    {
        lock (_signal)
        {
            _stopping = true;
            Monitor.Pulse(_signal);
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
            lock (_signal)
            {
                while (!_stopping && Interlocked.Read(ref _pages) < _threshold)
                {
                    Monitor.Wait(_signal);
                }

                if (_stopping)
                {
                    break;
                }
            }

            Checkpoint();
        }

        _session?.Dispose();
        _session = null;
    }

    private void Checkpoint()
    {
        var requestRestart = false;
        lock (Gate)
        {
            Interlocked.Exchange(ref _pages, 0);
            if (Volatile.Read(ref _restartRequested))
            {
                // Asked for by this thread or by the writer (CatchUp): the writer restarts the WAL after its batch in
                // flight and copies what is left as it does; a pass now would only keep the gate from it (see
                // RestartOnWriter). The next pass comes a threshold after the restart.
                return;
            }

            try
            {
                _session ??= _open();
                if (!_session.Checkpoint(SqliteCheckpointMode.Passive, out var frames, out var copied))
                {
                    return; // another connection is checkpointing right now: it copies our frames too
                }

                if (_failing)
                {
                    _failing = false;
                    Log.SqliteCheckpointRecovered(_logger);
                }

                if (frames >= _escalateAt)
                {
                    _requestedAt = CatchUpBeforeRestart(frames, copied);
                    requestRestart = true;
                }
            }
            catch (SqliteException ex)
            {
                if (!_failing)
                {
                    _failing = true;
                    Log.SqliteCheckpointFailed(_logger, ex);
                }

                _session?.Dispose();
                _session = null; // the next checkpoint opens a fresh connection
            }
        }

        if (requestRestart)
        {
            // Once the gate is free, so that the writer never finds this thread copying when it comes to restart.
            Volatile.Write(ref _restartRequested, true);
        }
    }

    private void CatchUp(SqliteSession writer)
    {
        lock (Gate)
        {
            Interlocked.Exchange(ref _pages, 0);
            bool done;
            int frames;
            try
            {
                done = writer.Checkpoint(SqliteCheckpointMode.Passive, out frames);
            }
            catch (SqliteException)
            {
                return; // the thread reports a failing checkpoint at its next run; the commit itself succeeded
            }

            if (done && frames >= _escalateAt && !Volatile.Read(ref _restartRequested))
            {
                // Readers kept the WAL from starting over, and the thread is behind (a slow flush, no processor free):
                // ask for the restart here, which this writer runs right after its batch, so that how long the WAL grows
                // does not depend on how the thread is scheduled either. The restart flushes what the thread did not.
                _requestedAt = frames;
                Interlocked.Increment(ref _restartsAskedByWriter);
                Volatile.Write(ref _restartRequested, true);
            }

            // Not done: another process is checkpointing, and copies these frames too.
        }
    }

    /// <summary>
    /// Readers and writes kept the WAL from starting over: flush the database file, copy what was written during the last
    /// pass while that shrinks (flushing after each pass), so that the writer's restart (<see cref="RestartOnWriter"/>,
    /// which the caller asks for next) is left to copy and flush only the last frames. Returns the WAL's frames.
    /// </summary>
    private int CatchUpBeforeRestart(int frames, int copied)
    {
        var session = _session!;
        SyncDatabaseFile(session);
        for (var pass = 0; pass < CatchUpPasses && frames - copied > _threshold / 4; pass++)
        {
            var behind = frames - copied;
            if (!session.Checkpoint(SqliteCheckpointMode.Passive, out var passFrames, out var passCopied))
            {
                break; // another checkpoint runs: restart now
            }

            (frames, copied) = (passFrames, passCopied);
            SyncDatabaseFile(session);
            if (frames - copied >= behind)
            {
                break; // the writes outpace the copy: restart now
            }
        }

        return frames;
    }

    /// <summary>
    /// Flushes what the passive passes copied into the database file, on this thread: a checkpoint flushes the file only
    /// when it copied every frame of the WAL, which under constant writes only the writer's restart does, and that restart
    /// then flushed every page the passes had copied since the last one (about 13 ms of each 14 ms restart at 1M contacts,
    /// docs/benchmarks.md, "The checkpointer flushes the database file"). Now the restart flushes only the last frames.
    /// </summary>
    private void SyncDatabaseFile(SqliteSession session)
    {
        if (!FlushesDatabaseFile)
        {
            if (!_toldNotFlushed)
            {
                _toldNotFlushed = true;
                Log.SqliteDatabaseFileNotFlushed(_logger);
            }

            return;
        }

        if (session.SyncDatabaseFile())
        {
            Interlocked.Increment(ref _databaseFileSyncs);
        }

        DatabaseFileSynced?.Invoke();
    }

    /// <summary>Run on this thread after each flush of the database file (tests make flushes slow with it, as a busy disk would).</summary>
    internal Action? DatabaseFileSynced { get; set; }

    /// <summary>
    /// Whether this thread flushes the database file before it asks for a restart: where SQLitePCLRaw's native library can
    /// be reached (<see cref="SqliteSession.CanSyncDatabaseFile"/>). Without it the writer's restart flushes what the passes
    /// copied, as it did before (correct, slower), and the first time it happens is logged (event 18). Tests turn it off
    /// to run that path.
    /// </summary>
    internal bool FlushesDatabaseFile { get; set; } = SqliteSession.CanSyncDatabaseFile;

    /// <summary>How many times this thread flushed the database file before asking for a restart (for tests).</summary>
    public long DatabaseFileSyncs => Interlocked.Read(ref _databaseFileSyncs);

    /// <summary>
    /// How many restarts the writer asked for itself, in its back-pressure checkpoint, because this thread was behind
    /// (for tests: the thread flushed nothing before those).
    /// </summary>
    public long RestartsAskedByWriter => Interlocked.Read(ref _restartsAskedByWriter);

    /// <summary>Whether a restart of the WAL was asked for and the writer has not run it yet (<see cref="RestartOnWriter"/>).</summary>
    public bool RestartRequested => Volatile.Read(ref _restartRequested);

    /// <summary>
    /// Called by the writer between two batches when <see cref="RestartRequested"/>, on its own connection, with the busy
    /// timeout set to <see cref="EscalationBusyTimeout"/>: a <c>RESTART</c> checkpoint copies the last frames and waits for
    /// the readers of old frames, and the writer's next commit starts the WAL over from its first frame. From the moment
    /// this thread asks until the writer has run the restart, the thread runs no pass of its own, so the writer waits
    /// here at most for the moment the thread takes to see the request (see <see cref="Checkpoint"/>).
    /// </summary>
    /// <remarks>
    /// <para>
    /// The writer restarts the WAL itself, rather than this thread, for two reasons (docs/benchmarks.md, "A change of link
    /// writes one index, and the writer restarts the WAL"): a writer that is never idle (a back-fill, whose next chunk's
    /// transaction begins a moment after the last commit) left this thread's <c>RESTART</c> polling for the write lock
    /// until its busy timeout, so the restart mostly failed and the WAL grew to 175 MB in a 1M-row back-fill; and a restart
    /// by another connection makes the writer's connection drop its whole page cache at its next transaction (SQLite sees
    /// a WAL header it did not write), which a restart on its own connection does not.
    /// </para>
    /// <para>
    /// A restart that cannot finish (a reader holds an old snapshot past the timeout, several readers in a row use the
    /// timeout up, or another process's writer holds the write lock) is logged at <c>Debug</c> and asked for again four
    /// thresholds later, and from <see cref="WarnAfterRestartsGivenUp"/> in a row on as a warning; a checkpoint that fails
    /// is logged as a failing checkpoint, and the thread asks again after its next pass.
    /// </para>
    /// <para>
    /// The thread used to go on copying after it asked, and the writer restarted only when it found the gate free: with
    /// slow flushes (a busy disk) the thread held the gate most of the time, the writer kept missing it, and the WAL grew
    /// far past the size that had asked for the restart (to 3,250 frames in one CI run, with a threshold of 32).
    /// </para>
    /// </remarks>
    public void RestartOnWriter(SqliteSession writer)
    {
        lock (Gate)
        {
            if (Volatile.Read(ref _restartRequested))
            {
                try
                {
                    Restart(writer);
                }
                finally
                {
                    // Cleared once the restart is over, on failure too (the thread asks again after its next pass), so
                    // that the thread starts no pass during it, which would find the frames the restart is about to reuse.
                    Volatile.Write(ref _restartRequested, false);
                }
            }
        }
    }

    private void Restart(SqliteSession writer)
    {
        bool restarted;
        try
        {
            restarted = writer.Checkpoint(SqliteCheckpointMode.Restart, out _);
        }
        catch (SqliteException ex)
        {
            if (!_failing)
            {
                _failing = true;
                Log.SqliteCheckpointFailed(_logger, ex);
            }

            return;
        }

        if (!restarted)
        {
            // A reader holds an old snapshot for longer than the writers should wait: try again four thresholds
            // later, so that a long reader costs the writers one short wait per four thresholds of writes.
            _escalateAt = (long)_requestedAt + (_threshold * EscalationFactor);
            Log.SqliteWalNotRestarted(_logger, _requestedAt, _escalateAt);
            if (++_restartsGivenUpInARow >= WarnAfterRestartsGivenUp)
            {
                Log.SqliteWalStillNotRestarted(_logger, _restartsGivenUpInARow, _requestedAt);
            }

            return;
        }

        _restartsGivenUpInARow = 0;
        _escalateAt = _threshold * EscalationFactor;
        Interlocked.Exchange(ref _pages, 0);
        Log.SqliteWalRestarted(_logger, _requestedAt);
    }
}
