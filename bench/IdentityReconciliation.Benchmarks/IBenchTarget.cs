namespace IdentityReconciliation.Benchmarks;

/// <summary>A store under test: how to preload it, copy it for a run, and measure its bare-SQL floor.</summary>
internal interface IBenchTarget : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Whether the next runs record the change feed (the store's internal switch; off only for the baseline).</summary>
    bool RecordChangeFeed { get; set; }

    /// <summary>Facts about the setup that a reader of the figures needs (durability settings and so on).</summary>
    string Describe();

    /// <summary>Builds (once per size) a template holding the library's schema and the preloaded contacts.</summary>
    Task PrepareAsync(long contacts);

    /// <summary>A fresh copy of the template, with a store over it; disposing the run deletes the copy.</summary>
    Task<BenchRun> StartRunAsync();

    /// <summary>Per new person: one indexed lookup and one insert, <paramref name="perTransaction"/> persons per transaction, on a fresh copy.</summary>
    Task<(long Operations, TimeSpan Elapsed)> WriteFloorAsync(IdentifyRequest[] requests, TimeSpan duration, int perTransaction);

    /// <summary>One indexed lookup per request, single-threaded.</summary>
    Task<(long Operations, TimeSpan Elapsed)> ReadFloorAsync(IdentifyRequest[] requests, TimeSpan duration);

    /// <summary>Removes the template of the current size.</summary>
    Task DropAsync();
}

internal sealed class BenchRun(IContactStore store, Func<ValueTask> cleanup) : IAsyncDisposable
{
    public IContactStore Store { get; } = store;

    public async ValueTask DisposeAsync()
    {
        switch (Store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }

        await cleanup();
    }
}
