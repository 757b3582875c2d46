using Dapper;
using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Sqlite;

/// <summary>
/// The SQLite schema's versions (kept in <c>PRAGMA user_version</c>) and the steps between them. Every step is idempotent
/// (<c>IF NOT EXISTS</c>), so a database at version <c>n</c> runs the steps after <c>n</c>, and an adopted table (version 0)
/// runs them all.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>The version this package creates and understands.</summary>
    public const int Version = 4;

    private static readonly (int Version, string Sql)[] Steps =
    [
        (1, SqliteSql.Schema),          // Contact and its indexes on live rows
        (2, SqliteErasureSql.Schema),   // ContactLink (merge evidence) and the indexes on soft-deleted rows that erasure uses
        (3, SqliteChangeFeedSql.Schema), // ContactChange (the change feed) and its indexes; an upgraded database's feed starts empty
        (4, SqliteSql.IdentifierIndexes), // the identifier indexes without linkedId, the link index without primaries
    ];

    /// <summary>Runs the steps after <paramref name="fromVersion"/> inside the caller's transaction and records the new version.</summary>
    public static async Task MigrateAsync(SqliteConnection connection, SqliteTransaction transaction, int fromVersion, CancellationToken cancellationToken)
    {
        foreach (var (version, sql) in Steps)
        {
            if (version > fromVersion)
            {
                await connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
        }

        await connection.ExecuteAsync(new CommandDefinition($"PRAGMA user_version = {Version};", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }
}
