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
    private readonly ConditionalWeakTable<object, NpgsqlBatch?[]> _slots = new();
    private readonly (string Sql, NpgsqlDbType[] Parameters)[][] _shapes;
    private readonly bool _enabled;

    public PostgreSqlConnectorBatches(PostgreSqlQueries queries, NpgsqlDataSource dataSource)
    {
        _enabled = !new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).Multiplexing;
        _shapes = new (string, NpgsqlDbType[])[6][];
        _shapes[(int)Shape.Lookup] =
        [
            (PostgreSqlQueries.PlanGuard, []),
            (queries.TouchedClusters, [NpgsqlDbType.Text, NpgsqlDbType.Text]),
        ];
        _shapes[(int)Shape.LockAndLoad] =
        [
            (PostgreSqlQueries.WritePlanGuard, []),
            (queries.LockIdentifiers, [NpgsqlDbType.Array | NpgsqlDbType.Bigint]),
            (queries.LockTouchedRoots, [NpgsqlDbType.Text, NpgsqlDbType.Text]),
            (queries.TouchedClusters, [NpgsqlDbType.Text, NpgsqlDbType.Text]),
        ];
        _shapes[(int)Shape.InsertWithEntry] =
        [
            (queries.InsertWithEntry, [NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Bigint, NpgsqlDbType.Text, NpgsqlDbType.TimestampTz,
                NpgsqlDbType.Integer, NpgsqlDbType.Integer, NpgsqlDbType.TimestampTz, NpgsqlDbType.Smallint, NpgsqlDbType.Bigint]),
            ("COMMIT", []),
        ];
        (string, NpgsqlDbType[])[] snapshotHead =
        [
            (PostgreSqlQueries.WritePlanGuard, []),
            (queries.LockIdentifiers, [NpgsqlDbType.Array | NpgsqlDbType.Bigint]),
            (queries.LockRoots, [NpgsqlDbType.Array | NpgsqlDbType.Integer, NpgsqlDbType.Array | NpgsqlDbType.Integer]),
            (queries.SnapshotUnchanged, [NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Array | NpgsqlDbType.Bigint, NpgsqlDbType.Array | NpgsqlDbType.Text,
                NpgsqlDbType.Array | NpgsqlDbType.Text, NpgsqlDbType.Array | NpgsqlDbType.Bigint, NpgsqlDbType.Array | NpgsqlDbType.Boolean,
                NpgsqlDbType.Array | NpgsqlDbType.TimestampTz]),
        ];
        _shapes[(int)Shape.SnapshotHead] = snapshotHead;
        _shapes[(int)Shape.SnapshotInsert] =
        [
            .. snapshotHead,
            (queries.InsertWithEntry, [NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Bigint, NpgsqlDbType.Text, NpgsqlDbType.TimestampTz,
                NpgsqlDbType.Integer, NpgsqlDbType.Integer, NpgsqlDbType.TimestampTz, NpgsqlDbType.Smallint, NpgsqlDbType.Bigint]),
            ("COMMIT", []),
        ];
        _shapes[(int)Shape.LookupMany] =
        [
            (PostgreSqlQueries.PlanGuard, []),
            (queries.TouchedClustersMany, [NpgsqlDbType.Array | NpgsqlDbType.Text, NpgsqlDbType.Array | NpgsqlDbType.Text]),
        ];
    }

    /// <summary>The batches kept per physical connection.</summary>
    public enum Shape
    {
        /// <summary>The plan guard; the touched clusters of (email, phone).</summary>
        Lookup = 0,

        /// <summary>A write's first round trip: the write plan guard; identifier locks (keys); touched roots' locks (email, phone); touched clusters (email, phone).</summary>
        LockAndLoad = 1,

        /// <summary>The last round trip of a write that only inserts a contact: the insert with its change-feed entry, then COMMIT.</summary>
        InsertWithEntry = 2,

        /// <summary>Several lookups at once (lookup batching): the plan guard; the touched clusters of each (email, phone) pair of two arrays.</summary>
        LookupMany = 3,

        /// <summary>
        /// A new person or a new secondary written from the reconciler's snapshot in one round trip: the write plan guard;
        /// identifier locks; the snapshot's root locks; the snapshot check; the insert with its change-feed entry; COMMIT.
        /// </summary>
        SnapshotInsert = 4,

        /// <summary>
        /// The head of a merge written from the reconciler's snapshot: the write plan guard; identifier locks; the snapshot's
        /// root locks; the snapshot check. The merge adds its writes and COMMIT, and trims them off (<see cref="TrimTo"/>) before
        /// giving the batch back.
        /// </summary>
        SnapshotHead = 5,
    }

    /// <summary>A batch of <paramref name="shape"/> for <paramref name="connection"/>, kept or new; set its values with <see cref="Set"/>.</summary>
    public NpgsqlBatch Rent(Shape shape, NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        var slots = SlotsOf(connection);
        var batch = slots?[(int)shape] ?? Create(_shapes[(int)shape]);
        if (slots is not null)
        {
            slots[(int)shape] = null;
        }

        batch.Connection = connection;
        batch.Transaction = transaction;
        return batch;
    }

    /// <summary>Gives back a batch whose execution completed and whose reader is disposed (a failed one is simply not given back).</summary>
    public void Return(Shape shape, NpgsqlConnection connection, NpgsqlBatch batch)
    {
        if (SlotsOf(connection) is { } slots)
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

            slots[(int)shape] = batch;
        }
    }

    /// <summary>Removes the statements after the first <paramref name="count"/> (those a caller added to a ready-made batch).</summary>
    public static void TrimTo(NpgsqlBatch batch, int count)
    {
        for (var i = batch.BatchCommands.Count - 1; i >= count; i--)
        {
            batch.BatchCommands.RemoveAt(i);
        }
    }

    /// <summary>Sets parameter <paramref name="parameter"/> of statement <paramref name="statement"/>.</summary>
    public static void Set(NpgsqlBatch batch, int statement, int parameter, object? value) =>
        batch.BatchCommands[statement].Parameters[parameter].Value = value ?? DBNull.Value;

    private NpgsqlBatch?[]? SlotsOf(NpgsqlConnection connection) =>
        _enabled ? _slots.GetValue(connection.PostgresParameters, static _ => new NpgsqlBatch?[6]) : null;

    private static NpgsqlBatch Create((string Sql, NpgsqlDbType[] Parameters)[] shape)
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
}
