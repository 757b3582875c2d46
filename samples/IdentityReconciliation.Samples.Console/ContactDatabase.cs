using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityReconciliation.Samples.Console;

/// <summary>The library wired through DI on one SQLite file, as an application would do it.</summary>
internal sealed class ContactDatabase : IAsyncDisposable
{
    /// <summary>Requests per transaction of the SQLite store during an import.</summary>
    public const int ImportChunkSize = 20_000;

    private readonly ServiceProvider _services;

    private ContactDatabase(ServiceProvider services, string filePath)
    {
        _services = services;
        FilePath = filePath;
        Reconciler = services.GetRequiredService<IIdentityReconciler>();
    }

    public string FilePath { get; }

    public IIdentityReconciler Reconciler { get; }

    /// <summary>Opens (and creates when missing) the contact database in <paramref name="file"/>, with the default guards.</summary>
    /// <param name="file">The file, relative to the current directory or absolute.</param>
    /// <param name="importChunkSize">Requests per transaction of <c>IdentifyManyAsync</c> (the library's <c>IdentifyManyChunkSize</c>).</param>
    public static ContactDatabase Open(string file, int importChunkSize = ImportChunkSize)
    {
        var filePath = Path.GetFullPath(file);
        var connectionString = new SqliteConnectionStringBuilder { DataSource = filePath }.ToString();
        var services = new ServiceCollection();
        // import is a back-fill: the SQLite store commits each chunk in one transaction, whose cost (the index pages it
        // dirties, one fsync) is shared by more rows in chunks of 20,000 than in the default 500. A chunk holds the file's
        // write lock for about a second here, well within other writers' BusyTimeout (30 s by default).
        services.AddIdentityReconciliation(options => options.IdentifyManyChunkSize = importChunkSize).UseSqlite(connectionString);
        return new ContactDatabase(services.BuildServiceProvider(), filePath);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
