namespace IdentityReconciliation;

/// <summary>
/// The contact store could not serve a request in time because the database was busy: another connection held the lock
/// the request needed for longer than the store waits (SQLite's write lock beyond
/// <see cref="Sqlite.SqliteContactStoreOptions.BusyTimeout"/>; a PostgreSQL lock beyond <c>lock_timeout</c>,
/// <c>statement_timeout</c> or the command timeout), or no database connection became free in time (a PostgreSQL
/// connection pool exhausted). The request was not applied; it is worth retrying after <see cref="RetryAfter"/>.
/// </summary>
/// <remarks>
/// <para>
/// Thrown by both stores of this library, and so by <see cref="IIdentityReconciler"/>; a custom <see cref="IContactStore"/>
/// may throw it too. A web host typically answers <c>503 Service Unavailable</c> with a <c>Retry-After</c> header. While
/// writes keep failing this way, the health check registered by <c>AddHealthChecks().AddIdentityReconciliation()</c>
/// reports <c>Degraded</c>.
/// </para>
/// <para>
/// Nothing is half-written: each request runs in one transaction, which is rolled back. In one case the outcome is not
/// known for sure: when a PostgreSQL command timeout elapses while the commit itself is in flight. Retrying is safe
/// either way, because applying the same request twice changes nothing the second time.
/// </para>
/// <para>The message names neither an identifier nor a connection string; <see cref="Exception.InnerException"/> holds the database error.</para>
/// </remarks>
public sealed class ContactStoreBusyException : Exception
{
    /// <summary>The <see cref="RetryAfter"/> hint the stores of this library give: one second.</summary>
    public static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>Creates the exception.</summary>
    public ContactStoreBusyException()
        : this("The contact store is busy; nothing was written. Try again later.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What timed out.</param>
    public ContactStoreBusyException(string message)
        : this(message, DefaultRetryAfter, null)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What timed out.</param>
    /// <param name="innerException">The database error.</param>
    public ContactStoreBusyException(string message, Exception? innerException)
        : this(message, DefaultRetryAfter, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What timed out.</param>
    /// <param name="retryAfter">How long a caller should wait before trying again; a hint, not a promise.</param>
    /// <param name="innerException">The database error, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="retryAfter"/> is negative.</exception>
    public ContactStoreBusyException(string message, TimeSpan retryAfter, Exception? innerException)
        : base(message, innerException)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retryAfter, TimeSpan.Zero);
        RetryAfter = retryAfter;
    }

    /// <summary>How long a caller should wait before trying again (a hint, not a promise). Default: <see cref="DefaultRetryAfter"/>.</summary>
    public TimeSpan RetryAfter { get; }
}
