namespace IdentityReconciliation.Sqlite;

/// <summary>The SQL of merge evidence and erasure in the SQLite store (schema version 2).</summary>
internal static class SqliteErasureSql
{
    // Version 2: the links table (merge evidence) and indexes that find soft-deleted rows by value or by link, so that an
    // erasure reaches them without scanning the table. The partial indexes of version 1 cover live rows only.
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS ContactLink (
            email       TEXT NOT NULL,
            phoneNumber TEXT NOT NULL,
            createdAt   TEXT NOT NULL,
            PRIMARY KEY (email, phoneNumber)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS IX_ContactLink_phoneNumber ON ContactLink (phoneNumber);
        CREATE INDEX IF NOT EXISTS IX_Contact_deleted_email ON Contact (email) WHERE deletedAt IS NOT NULL;
        CREATE INDEX IF NOT EXISTS IX_Contact_deleted_phoneNumber ON Contact (phoneNumber) WHERE deletedAt IS NOT NULL;
        CREATE INDEX IF NOT EXISTS IX_Contact_deleted_linkedId ON Contact (linkedId) WHERE deletedAt IS NOT NULL;
        """;

    public const string InsertLink = """
        INSERT INTO ContactLink (email, phoneNumber, createdAt) VALUES (@Email, @PhoneNumber, @CreatedAt)
        ON CONFLICT (email, phoneNumber) DO NOTHING
        """;

    public const string PersonRoot = "SELECT coalesce(linkedId, id) FROM Contact WHERE id = @Value AND deletedAt IS NULL";

    public const string RootsByEmail = "SELECT coalesce(linkedId, id) FROM Contact WHERE email = @Value AND deletedAt IS NULL";

    public const string RootsByPhoneNumber = "SELECT coalesce(linkedId, id) FROM Contact WHERE phoneNumber = @Value AND deletedAt IS NULL";

    private const string DeletedColumns = "SELECT id, phoneNumber, email, linkedId, linkPrecedence = 'primary', createdAt, updatedAt, deletedAt FROM Contact";

    public const string DeletedByEmail = DeletedColumns + " WHERE email = @Value AND deletedAt IS NOT NULL";

    public const string DeletedByPhoneNumber = DeletedColumns + " WHERE phoneNumber = @Value AND deletedAt IS NOT NULL";

    public const string DeletedById = DeletedColumns + " WHERE id = @Value AND deletedAt IS NOT NULL";

    public const string DeletedByLinkedId = DeletedColumns + " WHERE linkedId = @Value AND deletedAt IS NOT NULL";

    public const string LinksByEmail = "SELECT email, phoneNumber, createdAt FROM ContactLink WHERE email = @Value";

    public const string LinksByPhoneNumber = "SELECT email, phoneNumber, createdAt FROM ContactLink WHERE phoneNumber = @Value";

    public const string DeleteLink = "DELETE FROM ContactLink WHERE email = @Email AND phoneNumber = @PhoneNumber";

    public const string DeleteContact = "DELETE FROM Contact WHERE id = @Id";

    public const string RemoveValues = """
        UPDATE Contact
        SET email = CASE WHEN @Email THEN NULL ELSE email END,
            phoneNumber = CASE WHEN @PhoneNumber THEN NULL ELSE phoneNumber END,
            updatedAt = @UpdatedAt
        WHERE id = @Id
        """;
}
