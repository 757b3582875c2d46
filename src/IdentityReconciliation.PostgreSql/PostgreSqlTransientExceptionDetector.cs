using Npgsql;

namespace IdentityReconciliation.PostgreSql;

/// <summary>
/// Sorts database errors into the three ways the store handles them (the shape of efcore.pg's
/// <c>NpgsqlTransientExceptionDetector</c>): busy (the configured wait elapsed: not retried), transient (the whole unit of
/// work runs again) and the rest (reported as they are).
/// </summary>
internal static class PostgreSqlTransientExceptionDetector
{
    /// <summary>
    /// The database was busy rather than broken: a lock wait beyond <c>lock_timeout</c> (<c>55P03</c>), a statement
    /// cancelled by <c>statement_timeout</c> (<c>57014</c>; the caller's own cancellation is ruled out before), or a
    /// client-side timeout: no pooled connection free within <c>Timeout</c>, or a command beyond <c>Command Timeout</c>.
    /// </summary>
    public static bool IsBusy(NpgsqlException exception) => exception is PostgresException postgres
        ? postgres.SqlState is PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.QueryCanceled
        : exception.InnerException is TimeoutException;

    /// <summary>
    /// Worth running the whole unit again: a dropped connection, a serialization failure (<c>40001</c>), a deadlock
    /// (<c>40P01</c>), a server shutting down or not accepting connections yet, too many connections, any connection
    /// exception (class <c>08</c>), or whatever Npgsql itself reports as transient.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected
            or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.TooManyConnections
            || postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.IsTransient,
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => false,
    };

    /// <summary>
    /// The connection, and maybe the server, went away (no SQLSTATE: the socket broke; or the server is shutting down or
    /// starting): the pool's idle connections to it are not worth handing out.
    /// </summary>
    public static bool ConnectionLost(string? sqlState) =>
        sqlState is null or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow;
}
