using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityReconciliation.Samples.Console;

/// <summary>The library wired through DI on one SQLite file, as an application would do it.</summary>
internal sealed class ContactDatabase : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private ContactDatabase(ServiceProvider services, string filePath)
    {
        _services = services;
        FilePath = filePath;
        Reconciler = services.GetRequiredService<IIdentityReconciler>();
    }

    public string FilePath { get; }

    public IIdentityReconciler Reconciler { get; }

    /// <summary>Opens (and creates when missing) the contact database in <paramref name="file"/>.</summary>
    /// <param name="file">The file, relative to the current directory or absolute.</param>
    /// <param name="decorate">Wraps the SQLite store, e.g. to observe what each request changed.</param>
    public static ContactDatabase Open(string file, Func<IContactStore, IContactStore>? decorate = null)
    {
        var filePath = Path.GetFullPath(file);
        var connectionString = new SqliteConnectionStringBuilder { DataSource = filePath }.ToString();
        var services = new ServiceCollection();
        var builder = services.AddIdentityReconciliation().UseSqlite(connectionString);
        if (decorate is not null)
        {
            builder.UseContactStore(_ => decorate(new Sqlite.SqliteContactStore(connectionString)));
        }

        return new ContactDatabase(services.BuildServiceProvider(), filePath);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
