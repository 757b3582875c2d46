namespace IdentityReconciliation.PostgreSql;

/// <summary>
/// The base of the exceptions thrown by <see cref="PostgreSqlContactStore"/> when the database fails a request. The request
/// was not applied: every unit of work runs in one transaction, which rolls back on failure.
/// </summary>
/// <remarks>
/// Invalid requests never get this far (<see cref="InvalidIdentifyRequestException"/>), cancellation surfaces as
/// <see cref="OperationCanceledException"/>, and an exception thrown by the plan delegate propagates unchanged.
/// </remarks>
public class PostgreSqlContactStoreException : Exception
{
    /// <summary>Creates an exception.</summary>
    public PostgreSqlContactStoreException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">The message.</param>
    public PostgreSqlContactStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the database error that caused it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause, usually an <c>NpgsqlException</c> or <c>PostgresException</c>.</param>
    public PostgreSqlContactStoreException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with a message, the database error that caused it, and its SQLSTATE code.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    /// <param name="sqlState">The PostgreSQL error code (for example <c>42501</c>), or <see langword="null"/> when the server sent none.</param>
    public PostgreSqlContactStoreException(string message, Exception? innerException, string? sqlState)
        : base(message, innerException)
    {
        SqlState = sqlState;
    }

    /// <summary>The PostgreSQL error code (SQLSTATE) of the failure, or <see langword="null"/> when the server sent none (for example a dropped connection).</summary>
    public string? SqlState { get; }
}

/// <summary>
/// A transient failure (dropped connection, serialization failure, deadlock, server restarting) outlasted
/// <see cref="PostgreSqlContactStoreOptions.MaxRetryAttempts"/>. Nothing was applied; the caller may try again later.
/// </summary>
public sealed class PostgreSqlTransientFailureException : PostgreSqlContactStoreException
{
    /// <summary>Creates an exception.</summary>
    public PostgreSqlTransientFailureException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">The message.</param>
    public PostgreSqlTransientFailureException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the last failure.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The last transient failure.</param>
    public PostgreSqlTransientFailureException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for a unit of work that failed transiently on every attempt.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The last transient failure.</param>
    /// <param name="sqlState">Its SQLSTATE code, or <see langword="null"/>.</param>
    /// <param name="attempts">How many times the unit of work ran.</param>
    public PostgreSqlTransientFailureException(string message, Exception? innerException, string? sqlState, int attempts)
        : base(message, innerException, sqlState)
    {
        Attempts = attempts;
    }

    /// <summary>How many times the unit of work ran before the store gave up.</summary>
    public int Attempts { get; }
}
