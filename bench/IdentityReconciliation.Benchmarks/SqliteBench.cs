using System.Diagnostics;
using IdentityReconciliation.Sqlite;
using Microsoft.Extensions.Options;
using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Benchmarks;

/// <summary>The SQLite store: a template file per size, copied for each run.</summary>
internal sealed class SqliteTarget(string folder, SqliteSynchronousMode synchronous) : IBenchTarget
{
    private string? _template;

    public string Name => "sqlite";

    public bool RecordChangeFeed { get; set; } = true;

    public TimeSpan StatisticsFlushDelay => TimeSpan.Zero;

    public Task<string> DescribeAsync() => Task.FromResult($"SQLite {SqliteVersion()} file in {folder}, WAL, synchronous={synchronous.ToString().ToUpperInvariant()} (library and floor alike)");

    public async Task PrepareAsync(long contacts) => _template = await SqliteBench.TemplateAsync(folder, contacts);

    public Task<BenchRun> StartRunAsync() => Task.FromResult(Run(SqliteBench.CopyOf(_template!, folder, "run")));

    public async Task<BenchRun> StartEmptyRunAsync()
    {
        var database = Path.Combine(folder, "empty.db");
        SqliteBench.Delete(database);
        var run = Run(database);

        // Let the library create its schema before the callers start.
        await run.Store.FindClustersAsync(new ContactIdentifiers("nobody@example.com", null));
        return run;
    }

    // SQLite keeps no scan counters; the from-empty figure shows the throughput only.
    public Task<TableScans?> ContactScansAsync(BenchRun run) => Task.FromResult<TableScans?>(null);

    public Task<(long Operations, TimeSpan Elapsed)> WriteFloorAsync(IdentifyRequest[] requests, TimeSpan duration, int perTransaction)
    {
        var database = SqliteBench.CopyOf(_template!, folder, "floor");
        try
        {
            return Task.FromResult(SqliteBench.WriteFloor(database, requests, duration, perTransaction, SynchronousPragma));
        }
        finally
        {
            SqliteBench.Delete(database);
        }
    }

    public Task<(long Operations, TimeSpan Elapsed)> ReadFloorAsync(IdentifyRequest[] requests, TimeSpan duration, BenchRun? on = null) =>
        Task.FromResult(SqliteBench.ReadFloor(on?.Location ?? _template!, requests, duration, SynchronousPragma));

    public Task DropAsync()
    {
        SqliteBench.Delete(_template!);
        _template = null;
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private BenchRun Run(string database)
    {
        var store = new SqliteContactStore(Microsoft.Extensions.Options.Options.Create(new SqliteContactStoreOptions
        {
            ConnectionString = $"Data Source={database}",
            Synchronous = synchronous,
            RecordChangeFeed = RecordChangeFeed,
        }));
        return new BenchRun(store, database, () =>
        {
            SqliteBench.Delete(database);
            return ValueTask.CompletedTask;
        });
    }

    private string SynchronousPragma => synchronous == SqliteSynchronousMode.Normal ? "NORMAL" : "FULL";

    private static string SqliteVersion()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sqlite_version()";
        return (string)command.ExecuteScalar()!;
    }
}

/// <summary>Preloading and the bare-SQL floor for the SQLite store.</summary>
internal static class SqliteBench
{
    private static readonly DateTimeOffset Epoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Creates (once per size) a database file with the library's schema and N preloaded contacts, checkpointed and closed.</summary>
    public static async Task<string> TemplateAsync(string folder, long contacts)
    {
        var path = Path.Combine(folder, $"template-{contacts}.db");
        Delete(path);

        var building = path + ".building";
        File.Delete(building);
        await using (var store = new SqliteContactStore($"Data Source={building}"))
        {
            // Let the library create its schema.
            await store.FindClustersAsync(new ContactIdentifiers("nobody@example.com", null));
        }

        using (var connection = Open(building))
        {
            using var transaction = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO Contact (id, phoneNumber, email, linkedId, linkPrecedence, createdAt, updatedAt) VALUES ($id, $phone, $email, $linked, $precedence, $at, $at)";
            var id = insert.Parameters.Add("$id", SqliteType.Integer);
            var phone = insert.Parameters.Add("$phone", SqliteType.Text);
            var email = insert.Parameters.Add("$email", SqliteType.Text);
            var linked = insert.Parameters.Add("$linked", SqliteType.Integer);
            var precedence = insert.Parameters.Add("$precedence", SqliteType.Text);
            var at = insert.Parameters.Add("$at", SqliteType.Text);
            insert.Prepare();
            for (long k = 1; k <= contacts / 2; k++)
            {
                var primaryId = (2 * k) - 1;
                id.Value = primaryId;
                phone.Value = Workloads.Phone(k);
                email.Value = Workloads.Email(k);
                linked.Value = DBNull.Value;
                precedence.Value = "primary";
                at.Value = Timestamp(primaryId);
                insert.ExecuteNonQuery();

                id.Value = primaryId + 1;
                phone.Value = Workloads.SecondPhone(k);
                linked.Value = primaryId;
                precedence.Value = "secondary";
                at.Value = Timestamp(primaryId + 1);
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
            using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;";
            checkpoint.ExecuteNonQuery();
        }

        SqliteConnection.ClearAllPools();
        File.Move(building, path);
        return path;
    }

    /// <summary>A private copy of the template for one run.</summary>
    public static string CopyOf(string template, string folder, string name)
    {
        var path = Path.Combine(folder, name + ".db");
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(path + suffix);
        }

        File.Copy(template, path);
        return path;
    }

    public static void Delete(string path)
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(path + suffix);
        }
    }

    /// <summary>
    /// The write floor: for each new person, in one transaction, one indexed lookup and one insert, through prepared
    /// Microsoft.Data.Sqlite commands on one connection, with the library's journal mode and durability.
    /// </summary>
    public static (long Operations, TimeSpan Elapsed) WriteFloor(string database, IdentifyRequest[] requests, TimeSpan duration, int perTransaction, string synchronous)
    {
        using var connection = Open(database, synchronous);
        using var lookup = connection.CreateCommand();
        lookup.CommandText = "SELECT id FROM Contact WHERE email = $email AND deletedAt IS NULL";
        var lookupEmail = lookup.Parameters.Add("$email", SqliteType.Text);
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO Contact (phoneNumber, email, linkedId, linkPrecedence, createdAt, updatedAt) VALUES ($phone, $email, NULL, 'primary', $at, $at)";
        var insertEmail = insert.Parameters.Add("$email", SqliteType.Text);
        var insertPhone = insert.Parameters.Add("$phone", SqliteType.Text);
        var insertAt = insert.Parameters.Add("$at", SqliteType.Text);
        using var begin = connection.CreateCommand();
        begin.CommandText = "BEGIN IMMEDIATE";
        using var commit = connection.CreateCommand();
        commit.CommandText = "COMMIT";
        lookup.Prepare();
        insert.Prepare();

        var stopwatch = Stopwatch.StartNew();
        long done = 0;
        while (done < requests.Length && stopwatch.Elapsed < duration)
        {
            begin.ExecuteNonQuery();
            for (var i = 0; i < perTransaction && done < requests.Length; i++, done++)
            {
                var request = requests[done];
                lookupEmail.Value = (object?)request.Email ?? DBNull.Value; // the back-fill's rows may lack one (no match: insert)
                if (lookup.ExecuteScalar() is null)
                {
                    insertEmail.Value = (object?)request.Email ?? DBNull.Value;
                    insertPhone.Value = (object?)request.PhoneNumber ?? DBNull.Value;
                    insertAt.Value = SqliteContactStoreFormat(DateTimeOffset.UtcNow);
                    insert.ExecuteNonQuery();
                }
            }

            commit.ExecuteNonQuery();
        }

        return (done, stopwatch.Elapsed);
    }

    /// <summary>
    /// The read floor: one prepared indexed lookup per request (by email when the request has one, else by phone),
    /// single-threaded, no transaction.
    /// </summary>
    public static (long Operations, TimeSpan Elapsed) ReadFloor(string database, IdentifyRequest[] requests, TimeSpan duration, string synchronous)
    {
        using var connection = Open(database, synchronous);
        using var byEmail = connection.CreateCommand();
        byEmail.CommandText = "SELECT id, linkedId FROM Contact WHERE email = $value AND deletedAt IS NULL";
        var email = byEmail.Parameters.Add("$value", SqliteType.Text);
        byEmail.Prepare();
        using var byPhone = connection.CreateCommand();
        byPhone.CommandText = "SELECT id, linkedId FROM Contact WHERE phoneNumber = $value AND deletedAt IS NULL";
        var phone = byPhone.Parameters.Add("$value", SqliteType.Text);
        byPhone.Prepare();
        var stopwatch = Stopwatch.StartNew();
        long done = 0;
        long found = 0;
        while (stopwatch.Elapsed < duration)
        {
            var request = requests[done % requests.Length];
            SqliteCommand lookup;
            if (request.Email is not null)
            {
                email.Value = request.Email;
                lookup = byEmail;
            }
            else
            {
                phone.Value = request.PhoneNumber;
                lookup = byPhone;
            }

            using (var reader = lookup.ExecuteReader())
            {
                while (reader.Read())
                {
                    found += reader.GetInt64(0);
                }
            }

            done++;
        }

        GC.KeepAlive(found);
        return (done, stopwatch.Elapsed);
    }

    private static SqliteConnection Open(string path, string synchronous = "FULL")
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = 30000;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    private static string Timestamp(long id) => SqliteContactStoreFormat(Epoch.AddMilliseconds(id));

    private static string SqliteContactStoreFormat(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
