using System.Globalization;
using Dapper;

namespace IdentityReconciliation.Testing;

/// <summary>Reads an SQLite contact file with raw SQL, checking the stored format on the way.</summary>
public static class SqliteRows
{
    private sealed record Row(long Id, string? PhoneNumber, string? Email, long? LinkedId, string LinkPrecedence, string CreatedAt, string UpdatedAt, string? DeletedAt);

    public static IReadOnlyList<Contact> ReadAll(TempDatabase database)
    {
        using var connection = database.OpenRaw();
        if (connection.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'Contact'") == 0)
        {
            return [];
        }

        var rows = connection.Query<Row>(
            "SELECT id AS Id, phoneNumber AS PhoneNumber, email AS Email, linkedId AS LinkedId, linkPrecedence AS LinkPrecedence, createdAt AS CreatedAt, updatedAt AS UpdatedAt, deletedAt AS DeletedAt FROM Contact ORDER BY id");
        return rows.Select(r => new Contact(
            r.Id,
            r.PhoneNumber,
            r.Email,
            r.LinkedId,
            r.LinkPrecedence switch
            {
                "primary" => LinkPrecedence.Primary,
                "secondary" => LinkPrecedence.Secondary,
                _ => throw new InvalidDataException($"linkPrecedence '{r.LinkPrecedence}'"),
            },
            ParseUtc(r.CreatedAt),
            ParseUtc(r.UpdatedAt),
            r.DeletedAt is null ? null : ParseUtc(r.DeletedAt))).ToList();
    }

    /// <summary>Every row of the links table (merge evidence); empty when the table does not exist yet.</summary>
    public static IReadOnlyList<ContactLink> ReadLinks(TempDatabase database)
    {
        using var connection = database.OpenRaw();
        if (connection.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ContactLink'") == 0)
        {
            return [];
        }

        return connection.Query<(string Email, string PhoneNumber, string CreatedAt)>("SELECT email, phoneNumber, createdAt FROM ContactLink ORDER BY email, phoneNumber")
            .Select(r => new ContactLink(r.Email, r.PhoneNumber, ParseUtc(r.CreatedAt)))
            .ToList();
    }

    /// <summary>Timestamps are stored as ISO-8601 UTC text ending in Z.</summary>
    public static DateTimeOffset ParseUtc(string text)
    {
        text.Should().EndWith("Z", "timestamps are stored as ISO-8601 UTC text");
        return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
    }
}
