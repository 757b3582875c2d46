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

    [LoggerMessage(10, LogLevel.Information, "Created the SQLite contact schema (version {SchemaVersion}) in {DataSource}")]
    public static partial void SqliteSchemaCreated(ILogger logger, int schemaVersion, string dataSource);
}
