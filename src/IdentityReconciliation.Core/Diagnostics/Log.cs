using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Diagnostics;

// Identifiers only: emails and phone numbers are personal data and are never logged.
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Created primary contact {ContactId}")]
    public static partial void PrimaryCreated(ILogger logger, long contactId);

    [LoggerMessage(2, LogLevel.Debug, "Created secondary contact {ContactId} linked to {PrimaryContactId}")]
    public static partial void SecondaryCreated(ILogger logger, long contactId, long primaryContactId);

    [LoggerMessage(3, LogLevel.Information, "Merged clusters into primary contact {PrimaryContactId}: {UpdatedCount} contact(s) re-linked")]
    public static partial void ClustersMerged(ILogger logger, long primaryContactId, int updatedCount);

    [LoggerMessage(4, LogLevel.Debug, "Rejected an identify request: {Reason}")]
    public static partial void RequestRejected(ILogger logger, string reason);

    // Erasure: counts only. The erased values are exactly what must not be written anywhere.
    [LoggerMessage(20, LogLevel.Information, "Erased {ErasedCount} contact(s) and changed {ChangedCount}; {PersonCount} person(s) remain of the affected persons")]
    public static partial void Erased(ILogger logger, int erasedCount, int changedCount, int personCount);

    [LoggerMessage(21, LogLevel.Debug, "An erasure found nothing to erase")]
    public static partial void ErasedNothing(ILogger logger);

    [LoggerMessage(22, LogLevel.Debug, "Rejected an erasure request: {Reason}")]
    public static partial void ErasureRejected(ILogger logger, string reason);

    [LoggerMessage(10, LogLevel.Information, "Created the SQLite contact schema (version {SchemaVersion}) in {DataSource}")]
    public static partial void SqliteSchemaCreated(ILogger logger, int schemaVersion, string dataSource);

    [LoggerMessage(11, LogLevel.Information, "Migrated the SQLite contact schema in {DataSource} from version {FromVersion} to {ToVersion}")]
    public static partial void SqliteSchemaMigrated(ILogger logger, string dataSource, int fromVersion, int toVersion);

    [LoggerMessage(12, LogLevel.Warning, "The WAL checkpoint after an erasure could not complete (another connection is reading an older snapshot): old page images stay in the WAL file until a later checkpoint; it is retried after every write")]
    public static partial void SqliteErasureCheckpointIncomplete(ILogger logger);

    [LoggerMessage(13, LogLevel.Warning, "The WAL checkpoint after an erasure failed; it is retried after every write")]
    public static partial void SqliteErasureCheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(40, LogLevel.Information, "Pruned {Count} change-feed entr(ies) past the retention settings")]
    public static partial void ChangesPruned(ILogger logger, long count);

    [LoggerMessage(41, LogLevel.Warning, "Pruning the change feed failed; it is tried again at the next interval")]
    public static partial void PruneFailed(ILogger logger, Exception exception);
}
