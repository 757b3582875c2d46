using System.Buffers.Text;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Sqlite;

/// <summary>The SQL of the SQLite store and the mapping of its rows, shared by the reader sessions and the writer.</summary>
internal static class SqliteSql
{
    // Every lookup is indexed, and the first two only read their index: email and phoneNumber find the matches (the
    // partial, covering indexes give each match's root without touching the table), the primary key and linkedId the
    // rest of their clusters. The two halves are disjoint (a primary has no linkedId), so UNION ALL needs no de-duplication;
    // rows are put in id order by the caller. deletedAt is not selected: only live rows are loaded; isPrimary spares a string.
    public const string TouchedClusters = """
        WITH roots(rootId) AS (
            SELECT coalesce(linkedId, id) FROM Contact WHERE email = @Email AND deletedAt IS NULL
            UNION ALL
            SELECT coalesce(linkedId, id) FROM Contact WHERE phoneNumber = @PhoneNumber AND deletedAt IS NULL
        )
        SELECT id, phoneNumber, email, linkedId, linkPrecedence = 'primary', createdAt, updatedAt FROM Contact WHERE id IN roots AND deletedAt IS NULL
        UNION ALL
        SELECT id, phoneNumber, email, linkedId, linkPrecedence = 'primary', createdAt, updatedAt FROM Contact WHERE linkedId IN roots AND deletedAt IS NULL
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
        CREATE INDEX IF NOT EXISTS IX_Contact_email ON Contact (email, linkedId) WHERE deletedAt IS NULL;
        CREATE INDEX IF NOT EXISTS IX_Contact_phoneNumber ON Contact (phoneNumber, linkedId) WHERE deletedAt IS NULL;
        CREATE INDEX IF NOT EXISTS IX_Contact_linkedId ON Contact (linkedId) WHERE deletedAt IS NULL;
        """;

    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    /// <summary>ISO-8601 UTC with seven fractional digits: fixed width, so text order is time order.</summary>
    public static string FormatTimestamp(DateTimeOffset value) => value.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);

    public static string ToText(LinkPrecedence precedence) => precedence == LinkPrecedence.Primary ? "primary" : "secondary";

    /// <summary>Reads the rows of <see cref="TouchedClusters"/>, in ascending id order.</summary>
    /// <param name="command">The prepared command, parameters bound.</param>
    /// <param name="buffer">A scratch buffer of at least 64 bytes for the timestamps' text.</param>
    public static List<Contact> ReadContacts(SqliteCommand command, byte[] buffer)
    {
        var contacts = new List<Contact>(4);
        var sorted = true;
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var contact = new Contact(
                    reader.GetInt64(0),
                    reader.IsDBNull(1) ? null : reader.GetString(1),
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetInt64(3),
                    reader.GetBoolean(4) ? LinkPrecedence.Primary : LinkPrecedence.Secondary,
                    ReadTimestamp(reader, 5, buffer),
                    ReadTimestamp(reader, 6, buffer));
                sorted &= contacts.Count == 0 || contacts[^1].Id < contact.Id;
                contacts.Add(contact);
            }
        }

        if (!sorted)
        {
            contacts.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        }

        return contacts;
    }

    public static SqliteCommand CreateTouchedClustersCommand(SqliteConnection connection, out SqliteParameter email, out SqliteParameter phoneNumber)
    {
        var command = connection.CreateCommand();
        command.CommandText = TouchedClusters;
        email = command.Parameters.Add("@Email", SqliteType.Text);
        phoneNumber = command.Parameters.Add("@PhoneNumber", SqliteType.Text);
        email.Value = DBNull.Value;
        phoneNumber.Value = DBNull.Value;
        command.Prepare();
        return command;
    }

    public static void Bind(SqliteParameter parameter, string? value) => parameter.Value = (object?)value ?? DBNull.Value;

    public static void Bind(SqliteParameter parameter, long? value) => parameter.Value = value is { } v ? v : DBNull.Value;

    private static DateTimeOffset ReadTimestamp(SqliteDataReader reader, int ordinal, byte[] buffer)
    {
        // The library writes fixed-width ISO-8601 UTC ('O' format): parse its UTF-8 bytes without making a string.
        var length = reader.GetBytes(ordinal, 0, null, 0, 0);
        if (length <= buffer.Length)
        {
            var read = (int)reader.GetBytes(ordinal, 0, buffer, 0, (int)length);
            if (Utf8Parser.TryParse(buffer.AsSpan(0, read), out DateTimeOffset value, out var consumed, 'O') && consumed == read)
            {
                return value.ToUniversalTime();
            }
        }

        return ParseTimestamp(reader.GetString(ordinal));
    }

    public static DateTimeOffset ParseTimestamp(string value) =>
        DateTimeOffset.TryParseExact(value, TimestampFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var exact)
            ? exact
            : DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
