using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace IdentityReconciliation.PostgreSql;

/// <summary>
/// The advisory-lock keys of the locking protocol (see <see cref="PostgreSqlContactStore"/>). Every instance sharing a
/// database must compute the same keys: they are part of schema version <see cref="PostgreSqlContactStore.SchemaVersion"/>.
/// </summary>
/// <remarks>
/// Identifiers and the migration use the one-<c>bigint</c> key space of <c>pg_advisory_xact_lock(bigint)</c>: the first
/// 8 bytes of a SHA-256 digest of the schema, the kind and the value. A collision only makes two unrelated requests wait
/// for each other. Primaries use the separate two-<c>int4</c> key space of <c>pg_advisory_xact_lock(int4, int4)</c>
/// (PostgreSQL keeps the two spaces apart): the high and low halves of the contact id, exactly, with no collisions.
/// The change feed's lock (<see cref="Feed"/>) is in the two-<c>int4</c> space too, with a negative high half that no
/// contact id (positive) maps to: it cannot collide with a primary's key, nor with any key of the one-<c>bigint</c> space.
/// </remarks>
internal static class PostgreSqlLockKeys
{
    private const string Protocol = "IdentityReconciliation.PostgreSql/1";

    public static long Email(string schema, string email) => Hash(schema, "email", email);

    public static long PhoneNumber(string schema, string phoneNumber) => Hash(schema, "phoneNumber", phoneNumber);

    public static long Migration(string schema) => Hash(schema, "migration", "");

    /// <summary>The sorted, distinct identifier keys of a request.</summary>
    public static long[] Identifiers(string schema, ContactIdentifiers identifiers)
    {
        var keys = new List<long>(2);
        if (identifiers.Email is { } email)
        {
            keys.Add(Email(schema, email));
        }

        if (identifiers.PhoneNumber is { } phone)
        {
            keys.Add(PhoneNumber(schema, phone));
        }

        keys.Sort();
        return keys.Distinct().ToArray();
    }

    /// <summary>The sorted, distinct identifier keys of every value an erasure removes.</summary>
    public static long[] Values(string schema, IEnumerable<string> emails, IEnumerable<string> phoneNumbers) =>
        emails.Select(email => Email(schema, email))
            .Concat(phoneNumbers.Select(phone => PhoneNumber(schema, phone)))
            .Distinct()
            .Order()
            .ToArray();

    /// <summary>The two-int4 key of a primary (root) contact id: a bijection, ordered like the id for positive ids.</summary>
    public static (int High, int Low) Root(long contactId) => ((int)(contactId >> 32), unchecked((int)(uint)contactId));

    /// <summary>
    /// The two-int4 key of the schema's change-feed lock: high half <see cref="int.MinValue"/> (never a primary's, whose
    /// high half is that of a positive id), low half from the schema's hash. Two schemas of one database may share it; they
    /// would only wait for each other's appends.
    /// </summary>
    /// <summary>The key halves of several roots, in their order (for <c>unnest($1::int[], $2::int[])</c>).</summary>
    public static (int[] Highs, int[] Lows) Roots(IReadOnlyList<long> contactIds)
    {
        var highs = new int[contactIds.Count];
        var lows = new int[contactIds.Count];
        for (var i = 0; i < contactIds.Count; i++)
        {
            (highs[i], lows[i]) = Root(contactIds[i]);
        }

        return (highs, lows);
    }

    public static (int High, int Low) Feed(string schema) => (int.MinValue, unchecked((int)Hash(schema, "feed", "")));

    private static long Hash(string schema, string kind, string value)
    {
        var text = string.Concat(Protocol, "\0", schema, "\0", kind, "\0", value);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), digest);
        return BinaryPrimitives.ReadInt64BigEndian(digest);
    }
}
