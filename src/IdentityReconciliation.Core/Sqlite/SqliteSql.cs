using System.Globalization;
using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Sqlite;

/// <summary>The SQL of the SQLite store and the mapping of its rows, shared by the reader sessions and the writer.</summary>
internal static class SqliteSql
{
    // The touched clusters are loaded in two indexed steps inside one read snapshot: the roots of the contacts that share
    // the email or the phone (through the identifier indexes, then the rows, which the cluster read needs next anyway:
    // schema version 4 took linkedId out of those indexes, see IdentifierIndexes), then each root's cluster by primary
    // key and linkedId. Two small statements are twice as fast as one statement with IN (subquery), which builds temporary
    // tables. Only live rows are read; isPrimary spares a string.
    public const string TouchedRoots = """
        SELECT coalesce(linkedId, id) FROM Contact WHERE email = @Email AND deletedAt IS NULL
        UNION ALL
        SELECT coalesce(linkedId, id) FROM Contact WHERE phoneNumber = @PhoneNumber AND deletedAt IS NULL
        """;

    public const string Cluster = """
        SELECT id, phoneNumber, email, linkedId, linkPrecedence = 'primary', createdAt, updatedAt FROM Contact WHERE id = @Root AND deletedAt IS NULL
        UNION ALL
        SELECT id, phoneNumber, email, linkedId, linkPrecedence = 'primary', createdAt, updatedAt FROM Contact WHERE linkedId = @Root AND deletedAt IS NULL
        """;

    public const string Insert = """
        INSERT INTO Contact (phoneNumber, email, linkedId, linkPrecedence, createdAt, updatedAt)
        VALUES (@PhoneNumber, @Email, @LinkedId, @LinkPrecedence, @CreatedAt, @CreatedAt)
        RETURNING id
        """;

    public const string Update = """
        UPDATE Contact SET linkedId = @LinkedId, linkPrecedence = @LinkPrecedence, updatedAt = @UpdatedAt
        WHERE id = @Id AND deletedAt IS NULL
        """;

    public const string Schema = """
        CREATE TABLE IF NOT EXISTS Contact (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            phoneNumber    TEXT NULL,
            email          TEXT NULL,
            linkedId       INTEGER NULL,
            linkPrecedence TEXT NOT NULL CHECK (linkPrecedence IN ('primary', 'secondary')),
            createdAt      TEXT NOT NULL,
            updatedAt      TEXT NOT NULL,
            deletedAt      TEXT NULL,
            CHECK ((linkPrecedence = 'primary') = (linkedId IS NULL))
        );
        CREATE INDEX IF NOT EXISTS IX_Contact_email ON Contact (email, linkedId, deletedAt) WHERE deletedAt IS NULL;
        CREATE INDEX IF NOT EXISTS IX_Contact_phoneNumber ON Contact (phoneNumber, linkedId, deletedAt) WHERE deletedAt IS NULL;
        CREATE INDEX IF NOT EXISTS IX_Contact_linkedId ON Contact (linkedId) WHERE deletedAt IS NULL;
        """;

    // Version 4: a change of link writes the table row and one index entry only. Version 1's identifier indexes carried
    // linkedId (so that the roots came from the index alone), which made every demotion and re-link rewrite an entry in
    // the email index and two in the phone index, each on a leaf page of its own; and its link index held every primary
    // under NULL, so a demotion also removed an entry from among them. A merge at 1M contacts wrote 10.7 pages, 4 of them
    // for that (docs/benchmarks.md, "A change of link writes one index, ..."). SQLite leaves an index alone in an UPDATE that
    // changes none of its columns, and uses a `linkedId IS NOT NULL` index for `linkedId = @Root`.
    public const string IdentifierIndexes = """
        DROP INDEX IF EXISTS IX_Contact_email;
        DROP INDEX IF EXISTS IX_Contact_phoneNumber;
        DROP INDEX IF EXISTS IX_Contact_linkedId;
        CREATE INDEX IX_Contact_email ON Contact (email) WHERE deletedAt IS NULL;
        CREATE INDEX IX_Contact_phoneNumber ON Contact (phoneNumber) WHERE deletedAt IS NULL;
        CREATE INDEX IX_Contact_linkedId ON Contact (linkedId) WHERE deletedAt IS NULL AND linkedId IS NOT NULL;
        """;

    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    /// <summary>ISO-8601 UTC with seven fractional digits: fixed width, so text order is time order.</summary>
    public static string FormatTimestamp(DateTimeOffset value) => value.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);

    public static string ToText(LinkPrecedence precedence) => precedence == LinkPrecedence.Primary ? "primary" : "secondary";

    public static void Bind(SqliteParameter parameter, string? value) => parameter.Value = (object?)value ?? DBNull.Value;

    public static void Bind(SqliteParameter parameter, long? value) => parameter.Value = value is { } v ? v : DBNull.Value;

    public static DateTimeOffset ParseTimestamp(string value) =>
        DateTimeOffset.TryParseExact(value, TimestampFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var exact)
            ? exact
            : DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
