using System.Diagnostics;
using IdentityReconciliation.PostgreSql;
using Npgsql;
using NpgsqlTypes;

namespace IdentityReconciliation.Benchmarks;

/// <summary>
/// The PostgreSQL store: a template database per size (preloaded with binary COPY), cloned with
/// <c>CREATE DATABASE … TEMPLATE</c> for each run. The server comes from IDR_POSTGRES (see .ci/postgres.sh).
/// </summary>
internal sealed class PostgresTarget(string adminConnectionString) : IBenchTarget
{
    private const string Template = "idr_bench_template";
    private static readonly DateTime Epoch = new(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public string Name => "postgres";

    public bool RecordChangeFeed { get; set; } = true;

    /// <summary>Whether the server is durable (fsync, synchronous_commit and full_page_writes on), as read by <see cref="DescribeAsync"/>.</summary>
    public bool Durable { get; private set; }

    // A backend flushes its table statistics at most once a second while busy, and within 10 s (PGSTAT_IDLE_INTERVAL)
    // once idle; a closing backend flushes at once.
    public TimeSpan StatisticsFlushDelay => TimeSpan.FromSeconds(11);

    public async Task<string> DescribeAsync()
    {
        await using var admin = await OpenAsync(adminConnectionString);
        var fsync = await ScalarAsync(admin, "SHOW fsync");
        var synchronousCommit = await ScalarAsync(admin, "SHOW synchronous_commit");
        var fullPageWrites = await ScalarAsync(admin, "SHOW full_page_writes");
        Durable = fsync == "on" && synchronousCommit == "on" && fullPageWrites == "on";
        return $"PostgreSQL {await ScalarAsync(admin, "SHOW server_version")} on {new NpgsqlConnectionStringBuilder(adminConnectionString).Host}, "
            + $"{(Durable ? "durable" : "not durable")}: fsync={fsync}, synchronous_commit={synchronousCommit}, full_page_writes={fullPageWrites}, "
            + $"shared_buffers={await ScalarAsync(admin, "SHOW shared_buffers")}, plan_cache_mode={await ScalarAsync(admin, "SHOW plan_cache_mode")}; "
            + $"store group commit: max {Environment.GetEnvironmentVariable("IDR_PG_GROUP_MAX") ?? "default"}, slots {Environment.GetEnvironmentVariable("IDR_PG_GROUP_SLOTS") ?? "default"}; "
            + $"store lookup batching: max {Environment.GetEnvironmentVariable("IDR_PG_LOOKUP_MAX") ?? "default"}, lanes {Environment.GetEnvironmentVariable("IDR_PG_LOOKUP_LANES") ?? "default"}; "
            + $"store pool: {Environment.GetEnvironmentVariable("IDR_PG_POOL") ?? "default"}";
    }

    public async Task PrepareAsync(long contacts)
    {
        await using (var admin = await OpenAsync(adminConnectionString))
        {
            await ExecuteAsync(admin, $"DROP DATABASE IF EXISTS {Template} WITH (FORCE)");
            await ExecuteAsync(admin, $"CREATE DATABASE {Template}");
        }

        var templateConnection = Database(Template);
        await using (var store = new PostgreSqlContactStore(templateConnection))
        {
            await store.FindClustersAsync(new ContactIdentifiers("nobody@example.com", null));
        }

        await using (var connection = await OpenAsync(templateConnection))
        {
            await using (var writer = await connection.BeginBinaryImportAsync(
                "COPY \"Contact\" (\"phoneNumber\", \"email\", \"linkedId\", \"linkPrecedence\", \"createdAt\", \"updatedAt\") FROM STDIN (FORMAT BINARY)"))
            {
                for (long k = 1; k <= contacts / 2; k++)
                {
                    var primaryId = (2 * k) - 1;
                    await Row(writer, Workloads.Phone(k), Workloads.Email(k), null, "primary", Epoch.AddMilliseconds(primaryId));
                    await Row(writer, Workloads.SecondPhone(k), Workloads.Email(k), primaryId, "secondary", Epoch.AddMilliseconds(primaryId + 1));
                }

                await writer.CompleteAsync();
            }

            // The identity column hands out ids in insertion order: check it, since the workloads rely on it.
            var maxId = (long)(await ScalarObjectAsync(connection, "SELECT max(id) FROM \"Contact\""))!;
            if (maxId != contacts)
            {
                throw new InvalidOperationException($"Preloading gave ids up to {maxId}, expected {contacts}.");
            }

            await ExecuteAsync(connection, "SELECT setval(pg_get_serial_sequence('\"Contact\"', 'id'), max(id)) FROM \"Contact\"");
            await ExecuteAsync(connection, "VACUUM ANALYZE \"Contact\"");
        }

        NpgsqlConnection.ClearAllPools();
    }

    public async Task<BenchRun> StartRunAsync()
    {
        var name = await CloneAsync("idr_bench_run");
        return new BenchRun(CreateStore(Database(name), RecordChangeFeed), name, async () => await DropDatabaseAsync(name));
    }

    public async Task<BenchRun> StartEmptyRunAsync()
    {
        const string name = "idr_bench_empty";
        NpgsqlConnection.ClearAllPools();
        await using (var admin = await OpenAsync(adminConnectionString))
        {
            await ExecuteAsync(admin, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            await ExecuteAsync(admin, $"CREATE DATABASE {name}");
        }

        var run = new BenchRun(CreateStore(Database(name), RecordChangeFeed), name, async () => await DropDatabaseAsync(name));

        // Let the library create its schema before the callers start.
        await run.Store.FindClustersAsync(new ContactIdentifiers("nobody@example.com", null));
        return run;
    }

    public async Task<TableScans?> ContactScansAsync(BenchRun run)
    {
        // A connection of its own, outside the pools; pg_stat_clear_snapshot so that nothing cached is read.
        var connectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = run.Location, Pooling = false }.ConnectionString;
        await using var connection = await OpenAsync(connectionString);
        await ExecuteAsync(connection, "SELECT pg_stat_clear_snapshot()");
        await using var command = new NpgsqlCommand(
            "SELECT coalesce(seq_scan, 0), coalesce(seq_tup_read, 0), coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'Contact'", connection);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new TableScans(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)) : null;
    }

    /// <summary>A fresh copy of the template for several processes to share; the caller drops it with <see cref="DropCopyAsync"/>.</summary>
    public async Task<(string Name, string ConnectionString)> CopyForProcessesAsync()
    {
        var name = await CloneAsync("idr_bench_shared");
        return (name, Database(name));
    }

    public Task DropCopyAsync(string name) => DropDatabaseAsync(name);

    /// <summary>
    /// The store as every figure runs it (also in the child processes of --processes). IDR_PG_GROUP_MAX and
    /// IDR_PG_GROUP_SLOTS override the group-commit settings (1 = group commit off; the store's defaults otherwise), and
    /// IDR_PG_POOL the connection string's Maximum Pool Size (the store's default otherwise: 2 × processors);
    /// IDR_PG_LOOKUP_MAX and IDR_PG_LOOKUP_LANES the lookup-batching settings (1 = lookup batching off).
    /// </summary>
    public static PostgreSqlContactStore CreateStore(string connectionString, bool recordChangeFeed)
    {
        var options = new PostgreSqlContactStoreOptions { ConnectionString = connectionString + (Environment.GetEnvironmentVariable("IDR_PG_POOL") is { Length: > 0 } pool ? ";Maximum Pool Size=" + pool : ""), RecordChangeFeed = recordChangeFeed };
        if (Environment.GetEnvironmentVariable("IDR_PG_GROUP_MAX") is { Length: > 0 } max)
        {
            options.GroupCommitMaxSize = int.Parse(max, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (Environment.GetEnvironmentVariable("IDR_PG_GROUP_SLOTS") is { Length: > 0 } slots)
        {
            options.GroupCommitSlots = int.Parse(slots, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (Environment.GetEnvironmentVariable("IDR_PG_LOOKUP_MAX") is { Length: > 0 } lookupMax)
        {
            options.LookupBatchMaxSize = int.Parse(lookupMax, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (Environment.GetEnvironmentVariable("IDR_PG_LOOKUP_LANES") is { Length: > 0 } lanes)
        {
            options.LookupBatchLanes = int.Parse(lanes, System.Globalization.CultureInfo.InvariantCulture);
        }

        return new(Microsoft.Extensions.Options.Options.Create(options));
    }

    public async Task<(long Operations, TimeSpan Elapsed)> WriteFloorAsync(IdentifyRequest[] requests, TimeSpan duration, int perTransaction)
    {
        var name = await CloneAsync("idr_bench_floor");
        try
        {
            await using var connection = await OpenAsync(Database(name));
            await using var lookup = new NpgsqlCommand("SELECT id FROM \"Contact\" WHERE email = $1 AND \"deletedAt\" IS NULL", connection);
            lookup.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text });
            await using var insert = new NpgsqlCommand(
                "INSERT INTO \"Contact\" (\"phoneNumber\", email, \"linkedId\", \"linkPrecedence\", \"createdAt\", \"updatedAt\") VALUES ($1, $2, NULL, 'primary', $3, $3)", connection);
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text });
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text });
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz });
            await lookup.PrepareAsync();
            await insert.PrepareAsync();

            var stopwatch = Stopwatch.StartNew();
            long done = 0;
            while (done < requests.Length && stopwatch.Elapsed < duration)
            {
                await using var transaction = await connection.BeginTransactionAsync();
                lookup.Transaction = transaction;
                insert.Transaction = transaction;
                for (var i = 0; i < perTransaction && done < requests.Length; i++, done++)
                {
                    var request = requests[done];
                    lookup.Parameters[0].Value = (object?)request.Email ?? DBNull.Value; // the back-fill's rows may lack one
                    if (await lookup.ExecuteScalarAsync() is null)
                    {
                        insert.Parameters[0].Value = (object?)request.PhoneNumber ?? DBNull.Value;
                        insert.Parameters[1].Value = (object?)request.Email ?? DBNull.Value;
                        insert.Parameters[2].Value = DateTime.UtcNow;
                        await insert.ExecuteNonQueryAsync();
                    }
                }

                await transaction.CommitAsync();
            }

            return (done, stopwatch.Elapsed);
        }
        finally
        {
            await DropDatabaseAsync(name);
        }
    }

    public async Task<(long Operations, TimeSpan Elapsed)> ReadFloorAsync(IdentifyRequest[] requests, TimeSpan duration, BenchRun? on = null)
    {
        var name = on?.Location ?? await CloneAsync("idr_bench_floor");
        try
        {
            await using var connection = await OpenAsync(Database(name));
            await using var byEmail = new NpgsqlCommand("SELECT id, \"linkedId\" FROM \"Contact\" WHERE email = $1 AND \"deletedAt\" IS NULL", connection);
            byEmail.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text });
            await using var byPhone = new NpgsqlCommand("SELECT id, \"linkedId\" FROM \"Contact\" WHERE \"phoneNumber\" = $1 AND \"deletedAt\" IS NULL", connection);
            byPhone.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text });
            await byEmail.PrepareAsync();
            await byPhone.PrepareAsync();
            var stopwatch = Stopwatch.StartNew();
            long done = 0;
            long found = 0;
            while (stopwatch.Elapsed < duration)
            {
                var request = requests[done % requests.Length];
                var command = request.Email is not null ? byEmail : byPhone;
                command.Parameters[0].Value = request.Email ?? request.PhoneNumber;
                await using (var reader = await command.ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                    {
                        found += reader.GetInt64(0);
                    }
                }

                done++;
            }

            GC.KeepAlive(found);
            return (done, stopwatch.Elapsed);
        }
        finally
        {
            if (on is null)
            {
                await DropDatabaseAsync(name);
            }
        }
    }

    public async Task DropAsync() => await DropDatabaseAsync(Template);

    public ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }

    private static async Task Row(NpgsqlBinaryImporter writer, string phone, string email, long? linkedId, string precedence, DateTime at)
    {
        await writer.StartRowAsync();
        await writer.WriteAsync(phone, NpgsqlDbType.Text);
        await writer.WriteAsync(email, NpgsqlDbType.Text);
        if (linkedId is { } id)
        {
            await writer.WriteAsync(id, NpgsqlDbType.Bigint);
        }
        else
        {
            await writer.WriteNullAsync();
        }

        await writer.WriteAsync(precedence, NpgsqlDbType.Text);
        await writer.WriteAsync(at, NpgsqlDbType.TimestampTz);
        await writer.WriteAsync(at, NpgsqlDbType.TimestampTz);
    }

    private async Task<string> CloneAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = await OpenAsync(adminConnectionString);
        await ExecuteAsync(admin, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await ExecuteAsync(admin, $"CREATE DATABASE {name} TEMPLATE {Template}");
        return name;
    }

    private async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = await OpenAsync(adminConnectionString);
        await ExecuteAsync(admin, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    private string Database(string name) => new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name, MaxPoolSize = 64 }.ConnectionString;

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string> ScalarAsync(NpgsqlConnection connection, string sql) => (await ScalarObjectAsync(connection, sql))?.ToString() ?? "";

    private static async Task<object?> ScalarObjectAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
