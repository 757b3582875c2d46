namespace IdentityReconciliation;

/// <summary>
/// The database's contact schema cannot be used by this version of the package: it is newer than the package understands,
/// it is missing or older while automatic migration is off, or an existing table lacks a column the store needs.
/// Thrown by both stores of this library when they first open the database (and by their <c>EnsureSchemaAsync</c>);
/// nothing was written.
/// </summary>
/// <remarks>
/// The message names the database's version, the version the package needs and what to do (upgrade the package, apply the
/// schema script, or turn migration on); it never names a connection string's secret.
/// </remarks>
public sealed class ContactStoreSchemaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ContactStoreSchemaException()
        : this("The database's contact schema cannot be used by this version of the package.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong with the schema and what to do.</param>
    public ContactStoreSchemaException(string message)
        : this(message, null)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What is wrong with the schema and what to do.</param>
    /// <param name="innerException">The cause, or <see langword="null"/>.</param>
    public ContactStoreSchemaException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a version mismatch.</summary>
    /// <param name="message">What is wrong with the schema and what to do.</param>
    /// <param name="databaseVersion">The contact schema version recorded in the database (0 when it has none).</param>
    /// <param name="supportedVersion">The contact schema version this package creates and understands.</param>
    public ContactStoreSchemaException(string message, int databaseVersion, int supportedVersion)
        : base(message)
    {
        DatabaseVersion = databaseVersion;
        SupportedVersion = supportedVersion;
    }

    /// <summary>The contact schema version recorded in the database (0 when it has none), or <see langword="null"/> when the version is not the problem (for example a missing column).</summary>
    public int? DatabaseVersion { get; }

    /// <summary>The contact schema version this package creates and understands, or <see langword="null"/> when not given.</summary>
    public int? SupportedVersion { get; }
}
