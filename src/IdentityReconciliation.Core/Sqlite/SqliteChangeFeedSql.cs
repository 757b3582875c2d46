using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Sqlite;

/// <summary>The SQL of the change feed, history and person loading in the SQLite store (schema version 3), and the mapping of its rows.</summary>
internal static class SqliteChangeFeedSql
{
    // Version 3: the change feed. sequence is the rowid without AUTOINCREMENT: SQLite gives a new row max(rowid) + 1, under
    // the write lock (BEGIN IMMEDIATE), so sequence numbers increase with commit order across processes as long as the
    // newest entry is never deleted (pruning keeps it). relatedContactIds is a comma-separated list, NULL when empty.
    // History looks entries up by contactId and by primaryContactId; the feed reads by rowid.
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS ContactChange (
            sequence          INTEGER PRIMARY KEY,
            occurredAt        TEXT NOT NULL,
            kind              INTEGER NOT NULL,
            contactId         INTEGER NOT NULL,
            primaryContactId  INTEGER NULL,
            relatedContactIds TEXT NULL
        );
        CREATE INDEX IF NOT EXISTS IX_ContactChange_contactId ON ContactChange (contactId);
        CREATE INDEX IF NOT EXISTS IX_ContactChange_primaryContactId ON ContactChange (primaryContactId);
        """;

    public const string Append = """
        INSERT INTO ContactChange (occurredAt, kind, contactId, primaryContactId, relatedContactIds)
        VALUES (@OccurredAt, @Kind, @ContactId, @PrimaryContactId, @RelatedContactIds)
        """;

    private const string Columns = "SELECT sequence, occurredAt, kind, contactId, primaryContactId, relatedContactIds FROM ContactChange";

    public const string Changes = Columns + " WHERE sequence > @After ORDER BY sequence LIMIT @Max";

    // The person that @ContactId belongs to now: its root (when the contact is live), then the root's live cluster, as in
    // SqliteSql.Cluster. Both lookups are indexed (primary key, IX_Contact_linkedId).
    private const string Person = """
        WITH root(id) AS (
            SELECT coalesce(linkedId, id) FROM Contact WHERE id = @ContactId AND deletedAt IS NULL
        ),
        person(id) AS (
            SELECT id FROM Contact WHERE id = (SELECT id FROM root) AND deletedAt IS NULL
            UNION ALL
            SELECT id FROM Contact WHERE linkedId = (SELECT id FROM root) AND deletedAt IS NULL
        )
        """;

    // Two indexed lookups per contact of the person, one per index; UNION drops an entry that both find.
    public const string History = Person + """

        SELECT sequence, occurredAt, kind, contactId, primaryContactId, relatedContactIds FROM ContactChange WHERE contactId IN (SELECT id FROM person)
        UNION
        SELECT sequence, occurredAt, kind, contactId, primaryContactId, relatedContactIds FROM ContactChange WHERE primaryContactId IN (SELECT id FROM person)
        ORDER BY sequence
        """;

    public const string PersonContacts = """
        WITH root(id) AS (
            SELECT coalesce(linkedId, id) FROM Contact WHERE id = @ContactId AND deletedAt IS NULL
        )
        SELECT id, phoneNumber, email, linkedId, linkPrecedence = 'primary', createdAt, updatedAt FROM Contact WHERE id = (SELECT id FROM root) AND deletedAt IS NULL
        UNION ALL
        SELECT id, phoneNumber, email, linkedId, linkPrecedence = 'primary', createdAt, updatedAt FROM Contact WHERE linkedId = (SELECT id FROM root) AND deletedAt IS NULL
        ORDER BY id
        """;

    // The links whose email and phone number both belong to the person: by the links' primary key (email, phoneNumber).
    public const string PersonLinks = Person + """

        SELECT email, phoneNumber, createdAt FROM ContactLink
        WHERE email IN (SELECT email FROM Contact WHERE id IN (SELECT id FROM person) AND email IS NOT NULL)
          AND phoneNumber IN (SELECT phoneNumber FROM Contact WHERE id IN (SELECT id FROM person) AND phoneNumber IS NOT NULL)
        ORDER BY email, phoneNumber
        """;

    // Never the newest entry: SQLite would then give the next entry a sequence number that was already read. By age: the
    // writer deletes the old entries one window of sequence numbers per write transaction (PruneOlderThanBetween, a rowid
    // range scanned whole: there is no index on occurredAt, which every write would pay for), so that other writes go
    // through between windows and no transaction reads the whole feed. By count: the entries older than the (@Skip + 1)th
    // newest when the pruning begins (NewestKept) are deleted window by window too (PruneBetween), then what writes added
    // meanwhile in one last statement (PruneBeyondNewest), by rowid.
    public const string SequenceBounds = """
        SELECT (SELECT min(sequence) FROM ContactChange), (SELECT max(sequence) FROM ContactChange)
        """;

    public const string PruneOlderThanBetween = """
        DELETE FROM ContactChange
        WHERE sequence >= @From AND sequence < @Until AND occurredAt < @OlderThan
          AND sequence < (SELECT max(sequence) FROM ContactChange)
        """;

    public const string NextSequence = """
        SELECT min(sequence) FROM ContactChange WHERE sequence >= @From
        """;

    public const string NewestKept = """
        SELECT sequence FROM ContactChange ORDER BY sequence DESC LIMIT 1 OFFSET @Skip
        """;

    public const string PruneBetween = """
        DELETE FROM ContactChange
        WHERE sequence >= @From AND sequence < @Until AND sequence < (SELECT max(sequence) FROM ContactChange)
        """;

    public const string PruneBeyondNewest = """
        DELETE FROM ContactChange
        WHERE sequence < (SELECT sequence FROM ContactChange ORDER BY sequence DESC LIMIT 1 OFFSET @Skip)
        """;

    /// <summary>The related contacts as stored: comma-separated decimal identifiers, or <see langword="null"/> when there are none.</summary>
    public static string? FormatRelated(IReadOnlyList<long> ids)
    {
        if (ids.Count == 0)
        {
            return null;
        }

        if (ids.Count == 1)
        {
            return ids[0].ToString(CultureInfo.InvariantCulture);
        }

        var text = new StringBuilder(ids.Count * 8);
        for (var i = 0; i < ids.Count; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }

            text.Append(ids[i].ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    public static IReadOnlyList<long> ParseRelated(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return [];
        }

        var ids = new List<long>();
        foreach (var range in text.AsSpan().Split(','))
        {
            ids.Add(long.Parse(text.AsSpan(range), NumberStyles.None, CultureInfo.InvariantCulture));
        }

        return ids;
    }

    /// <summary>Maps a row of <see cref="Changes"/> or <see cref="History"/>.</summary>
    public static ContactChange ReadChange(SqliteDataReader reader) => new(
        reader.GetInt64(0),
        SqliteSql.ParseTimestamp(reader.GetString(1)),
        (ContactChangeKind)reader.GetInt32(2),
        reader.GetInt64(3),
        reader.IsDBNull(4) ? null : reader.GetInt64(4),
        ParseRelated(reader.IsDBNull(5) ? null : reader.GetString(5)));

    /// <summary>Maps a row of <see cref="PersonContacts"/>.</summary>
    public static Contact ReadContact(SqliteDataReader reader) => new(
        reader.GetInt64(0),
        reader.IsDBNull(1) ? null : reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetString(2),
        reader.IsDBNull(3) ? null : reader.GetInt64(3),
        reader.GetInt64(4) != 0 ? LinkPrecedence.Primary : LinkPrecedence.Secondary,
        SqliteSql.ParseTimestamp(reader.GetString(5)),
        SqliteSql.ParseTimestamp(reader.GetString(6)));
}
