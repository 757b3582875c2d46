using System.Diagnostics;
using IdentityReconciliation.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Tests;

/// <summary>
/// The background checkpointer on a real file: commits never checkpoint, the WAL stays bounded while readers never stop,
/// and a threshold of 0 hands checkpoints back to SQLite. (Several processes and a killed process: <see cref="MultiProcessTests"/>.)
/// </summary>
public sealed class SqliteCheckpointerTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private const int FrameSize = 4096 + 24;

    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private long WalLength
    {
        get
        {
            var file = new FileInfo(_database.FilePath + "-wal");
            return file.Exists ? file.Length : 0;
        }
    }

    private readonly CollectingLogger<SqliteContactStore> _logger = new();

    private int _snapshotsHeldPastRestartTimeout;

    private SqliteContactStore Store(int checkpointThreshold, int maxBatchSize = 128) => new(
        Options.Create(new SqliteContactStoreOptions
        {
            ConnectionString = _database.ConnectionString,
            CheckpointThreshold = checkpointThreshold,
            MaxBatchSize = maxBatchSize,
            Synchronous = SqliteSynchronousMode.Normal, // the checkpoints are under test, not the flushes
        }),
        _logger);

    private static Task WriteNewPersonsAsync(IdentityReconciler reconciler, string prefix, int count, Action? afterEach = null) =>
        Parallel.ForEachAsync(Enumerable.Range(0, count).Chunk(count / 4), async (chunk, ct) =>
        {
            foreach (var i in chunk)
            {
                await reconciler.IdentifyAsync(new IdentifyRequest($"{prefix}{i}@checkpoint.test", $"+1555{i:0000000}"), ct);
                afterEach?.Invoke();
            }
        });

    /// <summary>
    /// Writes <paramref name="count"/> new persons while <paramref name="readers"/> read, then stops the readers; returns the
    /// largest size the WAL file had after a write.
    /// </summary>
    private async Task<long> WriteWhileReadingAsync(IdentityReconciler reconciler, string prefix, int count, CancellationTokenSource stop, Task[] readers)
    {
        long largest = 0;
        var gate = new object();
        try
        {
            await WriteNewPersonsAsync(reconciler, prefix, count, () =>
            {
                var length = WalLength;
                lock (gate)
                {
                    largest = Math.Max(largest, length);
                }
            });
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(readers);
        }

        return largest;
    }

    /// <summary>Writes the contact that <see cref="HoldSnapshots"/> reads; returns a reconciler over the store.</summary>
    private static async Task<IdentityReconciler> WithFirstContactAsync(SqliteContactStore store)
    {
        var reconciler = new IdentityReconciler(store);
        await reconciler.IdentifyAsync(new IdentifyRequest("first@checkpoint.test", null));
        return reconciler;
    }

    /// <summary>
    /// Reads in a loop on a connection of its own (as another process would), each read transaction holding its snapshot
    /// for a millisecond across the writer's commits, until <paramref name="stop"/>; returns the reads. Counts in
    /// <see cref="_snapshotsHeldPastRestartTimeout"/> the snapshots that were held, in fact, for as long as a restart waits
    /// for readers (a thread descheduled or a garbage collection while it held one), the one way such a reader can make a
    /// restart give up.
    /// </summary>
    private long HoldSnapshots(CancellationToken stop)
    {
        using var connection = _database.OpenRaw();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM Contact WHERE email = 'first@checkpoint.test'";
        long reads = 0;
        while (!stop.IsCancellationRequested)
        {
            using var transaction = connection.BeginTransaction(deferred: true);
            command.Transaction = transaction;
            var started = Stopwatch.GetTimestamp();
            command.ExecuteScalar(); // the snapshot is taken here, and released by the commit
            Thread.Sleep(1);
            transaction.Commit();
            if (Stopwatch.GetElapsedTime(started) >= SqliteCheckpointer.EscalationBusyTimeout)
            {
                Interlocked.Increment(ref _snapshotsHeldPastRestartTimeout);
            }

            reads++;
        }

        return reads;
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1_000_001)]
    public void Constructor_CheckpointThresholdOutOfRange_FailsNamingTheSetting(int threshold)
    {
        var create = () => new SqliteContactStore(Options.Create(new SqliteContactStoreOptions { ConnectionString = _database.ConnectionString, CheckpointThreshold = threshold }));

        create.Should().Throw<OptionsValidationException>().WithMessage("*CheckpointThreshold*");
    }

    [Fact]
    public async Task IdentifyAsync_ThresholdNeverReached_CommitsNeverCheckpointAndDisposeLeavesEverythingInTheFile()
    {
        const int Count = 2000;
        await using (var store = Store(checkpointThreshold: 1_000_000))
        {
            await WriteNewPersonsAsync(new IdentityReconciler(store), "kept", Count);

            // SQLite's automatic checkpoint would have restarted the WAL every 1,000 pages, keeping it near 4 MiB.
            WalLength.Should().BeGreaterThan(2_500L * FrameSize, "no commit checkpointed: the writer runs with wal_autocheckpoint = 0");
        }

        SqliteConnection.ClearAllPools();
        WalLength.Should().Be(0, "the last connection to close checkpointed the WAL and removed it");
        SqliteRows.ReadAll(_database).Should().HaveCount(Count);
    }

    [Fact]
    public async Task IdentifyAsync_ThresholdZero_LeavesCheckpointsToSqlite()
    {
        await using var store = Store(checkpointThreshold: 0);
        await WriteNewPersonsAsync(new IdentityReconciler(store), "auto", 2000);

        // Restarted every 1,000 pages (plus the last batch that crossed it).
        WalLength.Should().BeLessThan(1_600L * FrameSize, "SQLite's automatic checkpoint runs inside the commits");
        SqliteRows.ReadAll(_database).Should().HaveCount(2000);
    }

    [Fact]
    public async Task IdentifyAsync_ConstantReaders_TheWalStaysBounded()
    {
        const int Threshold = 32;
        const int Count = 6000;
        await using var store = Store(Threshold);
        var reconciler = await WithFirstContactAsync(store);

        // Readers that never stop, in this store and on connections of their own (as another process would read): at
        // almost every moment some read transaction holds a snapshot of the WAL.
        using var stop = new CancellationTokenSource();
        long reads = 0;
        var readers = Enumerable.Range(0, 2).Select(i => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await store.FindClustersAsync(new ContactIdentifiers($"read{i}@checkpoint.test", "+15550000001"));
                Interlocked.Increment(ref reads);
            }
        })).Concat(Enumerable.Range(0, 2).Select(_ => Task.Run(() => Interlocked.Add(ref reads, HoldSnapshots(stop.Token))))).ToArray();

        var largest = await WriteWhileReadingAsync(reconciler, "bounded", Count, stop, readers);

        var restarts = _logger.Entries.Count(e => e.EventId.Id == 17);
        var givenUp = _logger.Entries.Count(e => e.EventId.Id == 16);
        output.WriteLine($"largest WAL: {largest / FrameSize} frames; restarted {restarts} times, {givenUp} restarts given up");
        _logger.Entries.Should().NotContain(e => e.Message.Contains("@checkpoint.test", StringComparison.Ordinal) || e.Message.Contains("+1555", StringComparison.Ordinal));
        reads.Should().BeGreaterThan(Count, "the readers kept reading while the writes ran");
        SqliteRows.ReadAll(_database).Should().HaveCount(Count + 1);

        // Without the checkpointer the WAL would hold every page of 6,000 writes (the first test: over 2,500 frames for
        // 2,000, so over 7,500 here). With it, the WAL stays at a fraction of that: a WAL that readers keep from starting
        // over is restarted once it holds 4 thresholds, asked for by the thread or, when the thread is 8 thresholds
        // behind, by the writer itself (its file cut back to 8 thresholds if it grew past them). A restart waits 50 ms in
        // all for the readers of old frames; on a loaded machine several short readers in a row can use that up (seen: 0-14
        // give-ups in ~100-200 restarts, with no reader holding a snapshot for 50 ms), and it is tried again 4 thresholds
        // later, so each one lets the WAL grow by at most the 4 + 8 thresholds before the next request, and a batch.
        restarts.Should().BePositive("the readers kept the WAL from starting over by itself");
        largest.Should().BeGreaterThan(0);
        largest.Should().BeLessThan((2048 + (givenUp * 16 * Threshold)) * (long)FrameSize, "the checkpointer copied the WAL back, and restarted it when readers kept it from starting over");
    }

    [Fact]
    public async Task IdentifyAsync_ConstantReadersAndSlowFlushes_TheCheckpointerLeavesTheWriterFreeToRestartTheWalItAskedFor()
    {
        // A busy disk (CI, with other test processes writing) makes each of the thread's flushes slow, and writes go on
        // meanwhile. Once the thread has asked for a restart, it must not start another pass (passive copy, flush) before
        // the writer has run it: the writer restarts only when the thread is not copying, so a thread that went on copying
        // kept it from ever restarting while the WAL grew (one CI run: 3,250 frames against a bound of 2,048).
        const int Threshold = 32;
        await using var store = Store(Threshold);
        var reconciler = await WithFirstContactAsync(store);
        var checkpointer = store.Checkpointer!;
        var flushes = 0;
        var flushesWithARestartPending = 0;
        checkpointer.DatabaseFileSynced = () =>
        {
            flushes++;
            if (checkpointer.RestartRequested)
            {
                flushesWithARestartPending++;
            }

            Thread.Sleep(20);
        };

        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() => HoldSnapshots(stop.Token))).ToArray();
        var largest = await WriteWhileReadingAsync(reconciler, "slowflush", 3000, stop, readers);

        var restarts = _logger.Entries.Count(e => e.EventId.Id == 17);
        output.WriteLine($"largest WAL: {largest / FrameSize} frames; restarted {restarts} times, {_logger.Entries.Count(e => e.EventId.Id == 16)} restarts given up; {flushes} slow flushes, {flushesWithARestartPending} of them with a restart pending");
        restarts.Should().BeGreaterOrEqualTo(5, "the readers kept the WAL from starting over by itself");
        flushesWithARestartPending.Should().Be(0, "the thread leaves the gate to the writer from the moment it asks for a restart until the writer has run it");
        largest.Should().BeLessThan(2048 * FrameSize);
        SqliteRows.ReadAll(_database).Should().HaveCount(3001);
    }

    [Fact]
    public async Task IdentifyAsync_TheCheckpointerCannotFlushTheDatabaseFile_SaysSoOnceAndTheWriterStillRestartsTheWal()
    {
        // The path of a SQLite provider other than e_sqlite3: the thread cannot reach the file, so each restart flushes it.
        const int Threshold = 32;
        await using var store = Store(Threshold);
        var reconciler = await WithFirstContactAsync(store);
        store.Checkpointer!.FlushesDatabaseFile = false;
        var written = 1;

        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() => HoldSnapshots(stop.Token))).ToArray();
        try
        {
            for (var i = 0; i < 3000 && _logger.Entries.Count(e => e.EventId.Id == 17) < 2; i++)
            {
                await reconciler.IdentifyAsync(new IdentifyRequest($"noflush{i}@checkpoint.test", $"+1559{i:0000000}"));
                written++;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(readers);
        }

        var restarts = _logger.Entries.Count(e => e.EventId.Id == 17);
        output.WriteLine($"{written} writes; restarted {restarts} times; largest WAL {WalLength / FrameSize} frames now");
        restarts.Should().BeGreaterOrEqualTo(2, "the writer restarts the WAL whether or not the thread flushed the file");
        store.Checkpointer.DatabaseFileSyncs.Should().Be(0, "the thread was told it cannot reach the file");
        _logger.Entries.Where(e => e.EventId.Id == 18).Should().ContainSingle("the fallback is said once, not at every restart")
            .Which.Level.Should().Be(LogLevel.Information);
        SqliteRows.ReadAll(_database).Should().HaveCount(written, "every acknowledged write is in the file");
    }

    [Fact]
    public async Task IdentifyAsync_ReadersKeepTheWalFromStartingOver_ItIsRestartedInPlaceNeverCut()
    {
        const int Threshold = 32;
        await using var store = Store(Threshold);
        var reconciler = await WithFirstContactAsync(store);

        // Readers on connections of their own that always hold a snapshot somewhere in the WAL: it cannot start over by
        // itself, so the checkpointer has to make it.
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() => HoldSnapshots(stop.Token))).ToArray();

        // One writer, the WAL's size read after each commit.
        var lengths = new List<long>();
        try
        {
            for (var i = 0; i < 3000 && !_logger.Entries.Any(e => e.EventId.Id == 17 && lengths.Count > 0); i++)
            {
                await reconciler.IdentifyAsync(new IdentifyRequest($"inplace{i}@checkpoint.test", $"+1555{i:0000000}"));
                lengths.Add(WalLength);
            }

            for (var i = 0; i < 500; i++)
            {
                await reconciler.IdentifyAsync(new IdentifyRequest($"after{i}@checkpoint.test", $"+1556{i:0000000}"));
                lengths.Add(WalLength);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(readers);
        }

        var restarts = _logger.Entries.Count(e => e.EventId.Id == 17);
        output.WriteLine($"{lengths.Count} writes; largest WAL {lengths.Max() / FrameSize} frames; restarted {restarts} times");
        restarts.Should().BePositive("constant readers kept the WAL from starting over by itself");

        // A WAL that starts over keeps its file and blocks: its size never falls while it stays under the size limit
        // (a WAL cut to zero bytes makes every commit after it extend the file again).
        var limit = SqliteCheckpointer.WalSizeLimitBytes(Threshold, 4096);
        for (var i = 1; i < lengths.Count; i++)
        {
            lengths[i].Should().BeGreaterOrEqualTo(Math.Min(lengths[i - 1], limit), $"the WAL file was not cut after write {i}");
        }

        SqliteRows.ReadAll(_database).Should().HaveCount(lengths.Count + 1);
    }

    [Fact]
    public void SyncDatabaseFile_OnAnOpenDatabase_FlushesThroughSqlitesOwnFileAndLeavesItsTransactionAlone()
    {
        SqliteSession.CanSyncDatabaseFile.Should().BeTrue("the package's SQLite is e_sqlite3, whose sqlite3_file_control can be reached");
        using (var seed = _database.OpenRaw())
        {
            using var create = seed.CreateCommand();
            create.CommandText = "PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS t (x INTEGER); INSERT INTO t VALUES (1);";
            create.ExecuteNonQuery();
        }

        using var session = new SqliteSession(_database.OpenRaw());
        var connection = session.Connection;
        using var begin = connection.CreateCommand();
        begin.CommandText = "BEGIN IMMEDIATE";
        begin.ExecuteNonQuery();

        session.SyncDatabaseFile().Should().BeTrue("the connection has the database file open");

        // The flush went through the connection's own file object and left its transaction open.
        session.InTransaction.Should().BeTrue("the connection is still in its transaction");
    }

    [Fact]
    public async Task ReconcileAsync_TheWriterIsNeverIdle_TheWalIsRestartedBetweenItsBatches()
    {
        // Three callers keep the writer's queue full of requests whose plan takes 10 ms, one per batch: each transaction
        // holds the write lock for that long and the next one begins as soon as it commits, so the lock is free only for
        // an instant. Readers keep the WAL from starting over by itself. A restart that had to take the write lock from
        // another connection waited out its busy timeout and gave up (event 16); the writer restarts it between batches.
        const int Threshold = 8;
        const int Callers = 3;
        await using var store = Store(Threshold, maxBatchSize: 1);
        await WithFirstContactAsync(store);

        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() => HoldSnapshots(stop.Token))).ToArray();
        var written = 0;
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, Callers), new ParallelOptions { MaxDegreeOfParallelism = Callers }, async (caller, ct) =>
            {
                for (var i = 0; i < 400 && _logger.Entries.Count(e => e.EventId.Id == 17) < 3; i++)
                {
                    var identifiers = new ContactIdentifiers($"busy{caller}-{i}@checkpoint.test", $"+1557{caller}{i:000000}");
                    await store.ReconcileAsync(identifiers, touched =>
                    {
                        Thread.Sleep(10);
                        return ContactPlanner.Plan(identifiers, touched, DateTimeOffset.UtcNow);
                    }, ct);
                    Interlocked.Increment(ref written);
                }
            });
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(readers);
        }

        var restarts = _logger.Entries.Count(e => e.EventId.Id == 17);
        var givenUp = _logger.Entries.Count(e => e.EventId.Id == 16);
        var syncs = store.Checkpointer!.DatabaseFileSyncs;
        var askedByWriter = store.Checkpointer.RestartsAskedByWriter;
        var heldTooLong = Volatile.Read(ref _snapshotsHeldPastRestartTimeout);
        output.WriteLine($"{written} writes; restarted {restarts} times, {givenUp} restarts given up; {askedByWriter} asked for by the writer; database file flushed {syncs} times by the checkpointer; {heldTooLong} snapshots held for {SqliteCheckpointer.EscalationBusyTimeout.TotalMilliseconds} ms or more");

        // A restart by another connection than the writer's waited for the write lock, which a never-idle writer holds
        // almost always: it gave up 7-129 times before 3 restarts. The writer's own restart waits only for readers of old
        // frames; they hold their snapshots for a millisecond, but the restart's 50 ms is one budget for all the readers it
        // waits for, so on a loaded machine it can give up now and then (docs/benchmarks.md, "The writer restarts the WAL
        // as soon as it is asked"): most restarts succeed.
        givenUp.Should().BeLessThan(restarts, "the writer restarts between its batches and never waits for its own write lock");
        restarts.Should().BeGreaterOrEqualTo(3, "the readers kept the WAL from starting over by itself");
        syncs.Should().BeGreaterOrEqualTo(restarts - askedByWriter, "the checkpointer flushes what its passes copied before each restart it asks for, so that the writer's restart flushes only the last frames");
        SqliteRows.ReadAll(_database).Should().HaveCount(written + 1);
    }

    [Fact]
    public async Task IdentifyAsync_AReaderHoldsAnOldSnapshotPastTheBusyTimeout_TheRestartGivesUpWritesGoOnAndItRestartsOnceTheReaderIsDone()
    {
        const int Threshold = 32;
        await using var store = Store(Threshold);
        var reconciler = await WithFirstContactAsync(store);
        var written = 1;

        // A reader in a transaction of its own holds its snapshot (and the WAL frames it needs) while the writes go on.
        using (var reader = _database.OpenRaw())
        {
            using var transaction = reader.BeginTransaction(deferred: true);
            using var command = reader.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT count(*) FROM Contact";
            command.ExecuteScalar();

            for (var i = 0; i < 2000 && !_logger.Entries.Any(e => e.EventId.Id == 16); i++)
            {
                await reconciler.IdentifyAsync(new IdentifyRequest($"held{i}@checkpoint.test", $"+1557{i:0000000}"));
                written++;
            }

            _logger.Entries.Should().Contain(e => e.EventId.Id == 16, "the restart could not wait out the reader, and said so");
            _logger.Entries.Should().NotContain(e => e.EventId.Id == 17, "the WAL cannot start over while the reader needs its frames");
            transaction.Commit();
        }

        for (var i = 0; i < 2000 && !_logger.Entries.Any(e => e.EventId.Id == 17); i++)
        {
            await reconciler.IdentifyAsync(new IdentifyRequest($"free{i}@checkpoint.test", $"+1558{i:0000000}"));
            written++;
        }

        _logger.Entries.Should().Contain(e => e.EventId.Id == 17, "with the reader gone, the next escalation restarts the WAL");
        _logger.Entries.Should().NotContain(e => e.Message.Contains("@checkpoint.test", StringComparison.Ordinal) || e.Message.Contains("+155", StringComparison.Ordinal));
        SqliteRows.ReadAll(_database).Should().HaveCount(written, "every acknowledged write is in the file");
    }

    [Fact]
    public async Task IdentifyAsync_AReaderHoldsAnOldSnapshotThroughSeveralRestarts_GiveUpsInARowBecomeAWarningAndARestartResetsTheCount()
    {
        const int Threshold = 32;
        await using var store = Store(Threshold);
        var reconciler = await WithFirstContactAsync(store);
        var written = 1;
        int Count(int eventId) => _logger.Entries.Count(e => e.EventId.Id == eventId);

        async Task WriteUntilAsync(string prefix, Func<bool> done)
        {
            for (var i = 0; i < 3000 && !done(); i++)
            {
                await reconciler.IdentifyAsync(new IdentifyRequest($"{prefix}{i}@checkpoint.test", $"+1559{prefix.Length}{i:000000}"));
                written++;
            }
        }

        SqliteTransaction HoldSnapshot(SqliteConnection reader)
        {
            var transaction = reader.BeginTransaction(deferred: true);
            using var command = reader.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT count(*) FROM Contact";
            command.ExecuteScalar();
            return transaction;
        }

        using (var reader = _database.OpenRaw())
        using (var transaction = HoldSnapshot(reader))
        {
            await WriteUntilAsync("a", () => Count(16) >= SqliteCheckpointer.WarnAfterRestartsGivenUp + 1);
            transaction.Commit();
        }

        var givenUp = _logger.Entries.Where(e => e.EventId.Id == 16).ToList();
        var warnings = _logger.Entries.Where(e => e.EventId.Id == 19).ToList();
        givenUp.Should().HaveCount(SqliteCheckpointer.WarnAfterRestartsGivenUp + 1).And.OnlyContain(e => e.Level == LogLevel.Debug, "one restart that gives up is routine under load");
        warnings.Should().HaveCount(2, "from the third restart in a row that gave up on, each one is a warning").And.OnlyContain(e => e.Level == LogLevel.Warning);
        warnings[0].Values.Should().Contain("Attempts=3");
        warnings[1].Values.Should().Contain("Attempts=4");

        // The reader is gone: the next restart succeeds, and a later reader's first give-up starts the count again.
        await WriteUntilAsync("bb", () => Count(17) > 0);
        Count(17).Should().BePositive("with the reader gone, the next escalation restarts the WAL");
        using (var reader = _database.OpenRaw())
        using (var transaction = HoldSnapshot(reader))
        {
            await WriteUntilAsync("ccc", () => Count(16) > givenUp.Count);
            transaction.Commit();
        }

        Count(16).Should().Be(givenUp.Count + 1);
        Count(19).Should().Be(2, "a restart that succeeded reset the count of give-ups in a row");
        string.Join("\n", _logger.Entries.Select(e => e.FullText)).Should().NotContain("@checkpoint.test").And.NotContain("+1559");
        SqliteRows.ReadAll(_database).Should().HaveCount(written, "every acknowledged write is in the file");
    }
}
