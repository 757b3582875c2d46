using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;

namespace IdentityReconciliation.PostgreSql;

/// <summary>
/// Ready-made batches of the hottest round trips, kept per physical connection, so that a request does not allocate a
/// batch, its commands and their parameters each time. Npgsql ties an auto-prepared statement to the physical connection
/// a command last ran on (a batch handed to another one fails with <c>26000 prepared statement "_auto0" does not
/// exist</c>), so a batch is only ever used again on its own physical connection, which one caller at a time has open.
/// The key is the connection's <see cref="NpgsqlConnection.PostgresParameters"/> dictionary, which belongs to the
/// physical connection for its whole life (weakly held: a closed physical connection takes its batches with it). Not used
/// when the data source multiplexes (no physical connection is bound while a connection is open). After each use the
/// parameter values (personal data) are cleared; a batch whose execution failed is dropped.
/// </summary>
internal sealed class PostgreSqlConnectorBatches
{
    private readonly ConditionalWeakTable<object, Slots> _slots = new();
    private readonly PostgreSqlQueries _queries;
    private readonly bool _enabled;

    public PostgreSqlConnectorBatches(PostgreSqlQueries queries, NpgsqlDataSource dataSource)
    {
        _queries = queries;
        _enabled = !new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).Multiplexing;
    }

    /// <summary>The lookup batch (plan guard; touched clusters of email, phone) for <paramref name="connection"/>.</summary>
    public NpgsqlBatch RentLookup(NpgsqlConnection connection)
    {
        var slots = SlotsOf(connection);
        var batch = slots?.Lookup ?? Create(
            (PostgreSqlQueries.PlanGuard, []),
            (_queries.TouchedClusters, [NpgsqlDbType.Text, NpgsqlDbType.Text]));
        if (slots is not null)
        {
            slots.Lookup = null;
        }

        batch.Connection = connection;
        batch.Transaction = null;
        return batch;
    }

    /// <summary>Gives back a lookup batch whose reader is disposed.</summary>
    public void ReturnLookup(NpgsqlConnection connection, NpgsqlBatch batch)
    {
        if (SlotsOf(connection) is { } slots)
        {
            Clear(batch);
            slots.Lookup = batch;
        }
    }

    /// <summary>The first batch of a write (plan guard; identifier locks; touched roots' locks; touched clusters).</summary>
    public NpgsqlBatch RentLockAndLoad(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        var slots = SlotsOf(connection);
        var batch = slots?.LockAndLoad ?? Create(
            (PostgreSqlQueries.PlanGuard, []),
            (_queries.LockIdentifiers, [NpgsqlDbType.Array | NpgsqlDbType.Bigint]),
            (_queries.LockTouchedRoots, [NpgsqlDbType.Text, NpgsqlDbType.Text]),
            (_queries.TouchedClusters, [NpgsqlDbType.Text, NpgsqlDbType.Text]));
        if (slots is not null)
        {
            slots.LockAndLoad = null;
        }

        batch.Connection = connection;
        batch.Transaction = transaction;
        return batch;
    }

    /// <summary>Gives back a first-of-write batch whose reader is disposed.</summary>
    public void ReturnLockAndLoad(NpgsqlConnection connection, NpgsqlBatch batch)
    {
        if (SlotsOf(connection) is { } slots)
        {
            Clear(batch);
            slots.LockAndLoad = batch;
        }
    }

    /// <summary>The last batch of a write that only inserts a contact: the insert with its change-feed entry, then COMMIT.</summary>
    public NpgsqlBatch RentInsertWithEntry(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        var slots = SlotsOf(connection);
        var batch = slots?.InsertWithEntry ?? Create(
            (_queries.InsertWithEntry, [NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Bigint, NpgsqlDbType.Text, NpgsqlDbType.TimestampTz,
                NpgsqlDbType.Integer, NpgsqlDbType.Integer, NpgsqlDbType.TimestampTz, NpgsqlDbType.Smallint, NpgsqlDbType.Bigint]),
            ("COMMIT", []));
        if (slots is not null)
        {
            slots.InsertWithEntry = null;
        }

        batch.Connection = connection;
        batch.Transaction = transaction;
        return batch;
    }

    /// <summary>Gives back an insert batch whose reader is disposed.</summary>
    public void ReturnInsertWithEntry(NpgsqlConnection connection, NpgsqlBatch batch)
    {
        if (SlotsOf(connection) is { } slots)
        {
            Clear(batch);
            slots.InsertWithEntry = batch;
        }
    }

    /// <summary>Sets parameter <paramref name="parameter"/> of statement <paramref name="statement"/>.</summary>
    public static void Set(NpgsqlBatch batch, int statement, int parameter, object? value) =>
        batch.BatchCommands[statement].Parameters[parameter].Value = value ?? DBNull.Value;

    private Slots? SlotsOf(NpgsqlConnection connection) =>
        _enabled ? _slots.GetValue(connection.PostgresParameters, static _ => new Slots()) : null;

    private static NpgsqlBatch Create(params (string Sql, NpgsqlDbType[] Parameters)[] shape)
    {
        var batch = new NpgsqlBatch();
        foreach (var (sql, parameters) in shape)
        {
            var command = new NpgsqlBatchCommand(sql);
            foreach (var type in parameters)
            {
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = type, Value = DBNull.Value });
            }

            batch.BatchCommands.Add(command);
        }

        return batch;
    }

    private static void Clear(NpgsqlBatch batch)
    {
        batch.Connection = null;
        batch.Transaction = null;
        foreach (var command in batch.BatchCommands)
        {
            foreach (NpgsqlParameter parameter in command.Parameters)
            {
                parameter.Value = DBNull.Value;
            }
        }
    }

    private sealed class Slots
    {
        public NpgsqlBatch? Lookup;

        public NpgsqlBatch? LockAndLoad;

        public NpgsqlBatch? InsertWithEntry;
    }
}
