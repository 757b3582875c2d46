using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Diagnostics;

// The SQLite store's background checkpointer (SqliteCheckpointer). Counts of WAL frames only: nothing of a contact.
internal static partial class Log
{
    [LoggerMessage(14, LogLevel.Warning, "A background WAL checkpoint failed; it is tried again after the next writes")]
    public static partial void SqliteCheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(15, LogLevel.Information, "Background WAL checkpoints work again")]
    public static partial void SqliteCheckpointRecovered(ILogger logger);

    [LoggerMessage(16, LogLevel.Debug, "The WAL holds {Frames} frames and could not be restarted within 50 ms (readers of old frames kept it waiting, or another process holds the write lock); trying again when it holds {NextFrames}")]
    public static partial void SqliteWalNotRestarted(ILogger logger, int frames, long nextFrames);

    [LoggerMessage(17, LogLevel.Debug, "Restarted the WAL after it grew to {Frames} frames under constant readers and writes")]
    public static partial void SqliteWalRestarted(ILogger logger, int frames);

    [LoggerMessage(18, LogLevel.Information, "The background checkpointer cannot flush the database file itself (SQLite's native library is not e_sqlite3, or it has no sqlite3_file_control); each WAL restart flushes it instead, which holds the writer longer")]
    public static partial void SqliteDatabaseFileNotFlushed(ILogger logger);

    [LoggerMessage(19, LogLevel.Warning, "The WAL could not be restarted {Attempts} times in a row and holds {Frames} frames: a reader keeps an old snapshot open, or another process holds the write lock, and the WAL grows until they let go")]
    public static partial void SqliteWalStillNotRestarted(ILogger logger, int attempts, int frames);
}
