using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.PostgreSql.Diagnostics;

// Identifiers only: emails and phone numbers are personal data and are never logged, nor is the connection string.
internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Information, "Migrated the PostgreSQL contact schema \"{Schema}\" from version {FromVersion} to {ToVersion}")]
    public static partial void SchemaMigrated(ILogger logger, string schema, int fromVersion, int toVersion);

    [LoggerMessage(101, LogLevel.Warning, "Transient PostgreSQL failure in {Operation} (attempt {Attempt} of {MaxAttempts}, SQLSTATE {SqlState}); retrying in {DelayMilliseconds} ms")]
    public static partial void RetryingTransientFailure(ILogger logger, Exception exception, string operation, int attempt, int maxAttempts, string sqlState, long delayMilliseconds);

    [LoggerMessage(102, LogLevel.Debug, "Restarting a reconcile transaction (restart {Restart}): a touched cluster was merged while its lock was being taken")]
    public static partial void ReconcileRestarted(ILogger logger, int restart);

    [LoggerMessage(103, LogLevel.Debug, "Restarting an erasure transaction (restart {Restart}): the person changed while its locks were being taken")]
    public static partial void ErasureRestarted(ILogger logger, int restart);

    [LoggerMessage(104, LogLevel.Debug, "Vacuumed the contact tables of schema \"{Schema}\" after an erasure")]
    public static partial void VacuumedAfterErasure(ILogger logger, string schema);

    [LoggerMessage(105, LogLevel.Warning, "VACUUM after an erasure failed in schema \"{Schema}\" (SQLSTATE {SqlState}); the erasure itself is committed, and dead row versions stay until the next vacuum")]
    public static partial void VacuumAfterErasureFailed(ILogger logger, Exception exception, string schema, string sqlState);

    [LoggerMessage(106, LogLevel.Debug, "A write planned from the lookup's snapshot found the touched clusters changed; loading them under the locks and planning again")]
    public static partial void SnapshotChanged(ILogger logger);
}
