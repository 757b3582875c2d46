namespace IdentityReconciliation.Benchmarks;

/// <summary>A store under test: how to preload it, copy it for a run, and measure its bare-SQL floor.</summary>
internal interface IBenchTarget : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Whether the next runs record the change feed (the store's internal switch; off only for the baseline).</summary>
    bool RecordChangeFeed { get; set; }

    /// <summary>How long to wait after load for the server's table statistics to be complete (zero when there are none).</summary>
    TimeSpan StatisticsFlushDelay { get; }

    /// <summary>Facts about the setup that a reader of the figures needs (durability settings and so on).</summary>
    Task<string> DescribeAsync();

    /// <summary>Builds (once per size) a template holding the library's schema and the preloaded contacts.</summary>
    Task PrepareAsync(long contacts);

    /// <summary>A fresh copy of the template, with a store over it; disposing the run deletes the copy.</summary>
    Task<BenchRun> StartRunAsync();

    /// <summary>A brand-new database holding the library's schema and no contacts, with a store over it.</summary>
    Task<BenchRun> StartEmptyRunAsync();

    /// <summary>The server's cumulative scan counters of the <c>Contact</c> table in the run's database, or null where there are none.</summary>
    Task<TableScans?> ContactScansAsync(BenchRun run);

    /// <summary>Per new person: one indexed lookup and one insert, <paramref name="perTransaction"/> persons per transaction, on a fresh copy.</summary>
    Task<(long Operations, TimeSpan Elapsed)> WriteFloorAsync(IdentifyRequest[] requests, TimeSpan duration, int perTransaction);

    /// <summary>One indexed lookup per request, single-threaded, on a fresh copy of the template or, when given, on the run's database.</summary>
    Task<(long Operations, TimeSpan Elapsed)> ReadFloorAsync(IdentifyRequest[] requests, TimeSpan duration, BenchRun? on = null);

    /// <summary>Removes the template of the current size.</summary>
    Task DropAsync();
}

/// <summary>Cumulative counters of one table: sequential scans, rows those scans read, index scans.</summary>
internal sealed record TableScans(long SequentialScans, long RowsReadBySequentialScans, long IndexScans)
{
    public static TableScans operator -(TableScans after, TableScans before) => new(
        after.SequentialScans - before.SequentialScans,
        after.RowsReadBySequentialScans - before.RowsReadBySequentialScans,
        after.IndexScans - before.IndexScans);
}

/// <summary>A store over one database of the benchmark; <see cref="Location"/> names that database (a file, or a PostgreSQL database).</summary>
internal sealed class BenchRun(IContactStore store, string location, Func<ValueTask> cleanup) : IAsyncDisposable
{
    private bool _storeClosed;

    public IContactStore Store { get; } = store;

    public string Location { get; } = location;

    /// <summary>Disposes the store (closing its connections) and keeps the database until the run is disposed.</summary>
    public async ValueTask CloseStoreAsync()
    {
        if (_storeClosed)
        {
            return;
        }

        _storeClosed = true;
        switch (Store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseStoreAsync();
        await cleanup();
    }
}
