using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Sqlite;

/// <summary>
/// One erasure on the writer's connection, inside the writer's <c>BEGIN IMMEDIATE</c> transaction (and savepoint): loads
/// the <see cref="ErasureScope"/> as <see cref="IContactStore"/> defines it, calls the plan, applies the change set. Every
/// lookup is one indexed statement per value or per root; erasures are rare, so the statements are prepared per call.
/// </summary>
internal static class SqliteErasure
{
    /// <summary>Loads the scope, plans, and applies the change set; returns both, for the result and the change feed.</summary>
    public static (ErasureScope Scope, ErasureChangeSet Changes) Execute(
        SqliteConnection connection,
        ContactIdentifiers identifiers,
        long? personId,
        Func<ErasureScope, ErasureChangeSet> plan)
    {
        var scope = Load(connection, identifiers, personId);
        var changes = plan(scope);
        if (!changes.IsEmpty)
        {
            Apply(connection, changes);
        }

        return (scope, changes);
    }

    private static ErasureScope Load(SqliteConnection connection, ContactIdentifiers identifiers, long? personId)
    {
        var emails = new SortedSet<string>(StringComparer.Ordinal);
        var phones = new SortedSet<string>(StringComparer.Ordinal);
        var roots = new SortedSet<long>();
        long? personRoot = null;
        if (personId is { } id)
        {
            personRoot = Scalar(connection, SqliteErasureSql.PersonRoot, id);
            if (personRoot is null)
            {
                return ErasureScope.Empty;
            }

            roots.Add(personRoot.Value);
            foreach (var contact in Cluster(connection, personRoot.Value))
            {
                Add(emails, contact.Email);
                Add(phones, contact.PhoneNumber);
            }
        }
        else
        {
            Add(emails, identifiers.Email);
            Add(phones, identifiers.PhoneNumber);
        }

        foreach (var email in emails)
        {
            roots.UnionWith(Longs(connection, SqliteErasureSql.RootsByEmail, email));
        }

        foreach (var phone in phones)
        {
            roots.UnionWith(Longs(connection, SqliteErasureSql.RootsByPhoneNumber, phone));
        }

        var contacts = new SortedDictionary<long, Contact>();
        foreach (var root in roots)
        {
            foreach (var contact in Cluster(connection, root))
            {
                contacts.TryAdd(contact.Id, contact);
            }
        }

        var deleted = new SortedDictionary<long, Contact>();
        foreach (var email in emails)
        {
            AddContacts(deleted, connection, SqliteErasureSql.DeletedByEmail, email);
        }

        foreach (var phone in phones)
        {
            AddContacts(deleted, connection, SqliteErasureSql.DeletedByPhoneNumber, phone);
        }

        if (personRoot is { } person)
        {
            var ids = contacts.Values.Where(c => c.RootId == person).Select(static c => c.Id).Append(person).Distinct();
            foreach (var contactId in ids)
            {
                AddContacts(deleted, connection, SqliteErasureSql.DeletedById, contactId);
                AddContacts(deleted, connection, SqliteErasureSql.DeletedByLinkedId, contactId);
            }
        }

        var linkEmails = new SortedSet<string>(emails, StringComparer.Ordinal);
        var linkPhones = new SortedSet<string>(phones, StringComparer.Ordinal);
        foreach (var contact in contacts.Values)
        {
            Add(linkEmails, contact.Email);
            Add(linkPhones, contact.PhoneNumber);
        }

        var links = new Dictionary<(string, string), ContactLink>();
        foreach (var email in linkEmails)
        {
            AddLinks(links, connection, SqliteErasureSql.LinksByEmail, email);
        }

        foreach (var phone in linkPhones)
        {
            AddLinks(links, connection, SqliteErasureSql.LinksByPhoneNumber, phone);
        }

        return new ErasureScope(
            [.. emails],
            [.. phones],
            personRoot,
            [.. contacts.Values],
            [.. deleted.Values],
            [.. links.Values.OrderBy(static l => l.Email, StringComparer.Ordinal).ThenBy(static l => l.PhoneNumber, StringComparer.Ordinal)]);
    }

    private static void Apply(SqliteConnection connection, ErasureChangeSet changes)
    {
        if (changes.DeletedLinks.Count > 0)
        {
            using var command = Command(connection, SqliteErasureSql.DeleteLink, ("@Email", SqliteType.Text), ("@PhoneNumber", SqliteType.Text));
            foreach (var link in changes.DeletedLinks)
            {
                command.Parameters[0].Value = link.Email;
                command.Parameters[1].Value = link.PhoneNumber;
                command.ExecuteNonQuery();
            }
        }

        if (changes.DeletedContactIds.Count > 0)
        {
            using var command = Command(connection, SqliteErasureSql.DeleteContact, ("@Id", SqliteType.Integer));
            foreach (var id in changes.DeletedContactIds)
            {
                command.Parameters[0].Value = id;
                command.ExecuteNonQuery();
            }
        }

        if (changes.RemovedValues.Count > 0)
        {
            using var command = Command(
                connection,
                SqliteErasureSql.RemoveValues,
                ("@Email", SqliteType.Integer),
                ("@PhoneNumber", SqliteType.Integer),
                ("@UpdatedAt", SqliteType.Text),
                ("@Id", SqliteType.Integer));
            foreach (var removal in changes.RemovedValues)
            {
                command.Parameters[0].Value = removal.Email;
                command.Parameters[1].Value = removal.PhoneNumber;
                command.Parameters[2].Value = SqliteSql.FormatTimestamp(removal.UpdatedAt);
                command.Parameters[3].Value = removal.Id;
                command.ExecuteNonQuery();
            }
        }

        if (changes.Updates.Count > 0)
        {
            using var command = Command(
                connection,
                SqliteSql.Update,
                ("@LinkedId", SqliteType.Integer),
                ("@LinkPrecedence", SqliteType.Text),
                ("@UpdatedAt", SqliteType.Text),
                ("@Id", SqliteType.Integer));
            foreach (var update in changes.Updates)
            {
                SqliteSql.Bind(command.Parameters[0], update.LinkedId);
                command.Parameters[1].Value = SqliteSql.ToText(update.LinkPrecedence);
                command.Parameters[2].Value = SqliteSql.FormatTimestamp(update.UpdatedAt);
                command.Parameters[3].Value = update.Id;
                if (command.ExecuteNonQuery() != 1)
                {
                    throw new InvalidOperationException($"Contact {update.Id} was not found for update under the store's own write lock.");
                }
            }
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }

        return command;
    }

    private static long? Scalar(SqliteConnection connection, string sql, object value)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@Value", value);
        return command.ExecuteScalar() is long result ? result : null;
    }

    private static List<long> Longs(SqliteConnection connection, string sql, object value)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@Value", value);
        using var reader = command.ExecuteReader();
        var values = new List<long>();
        while (reader.Read())
        {
            values.Add(reader.GetInt64(0));
        }

        return values;
    }

    private static List<Contact> Cluster(SqliteConnection connection, long root)
    {
        using var command = connection.CreateCommand();
        command.CommandText = SqliteSql.Cluster;
        command.Parameters.AddWithValue("@Root", root);
        using var reader = command.ExecuteReader();
        var contacts = new List<Contact>();
        while (reader.Read())
        {
            contacts.Add(ReadContact(reader, withDeletedAt: false));
        }

        return contacts;
    }

    private static void AddContacts(SortedDictionary<long, Contact> contacts, SqliteConnection connection, string sql, object value)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@Value", value);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var contact = ReadContact(reader, withDeletedAt: true);
            contacts.TryAdd(contact.Id, contact);
        }
    }

    private static void AddLinks(Dictionary<(string, string), ContactLink> links, SqliteConnection connection, string sql, string value)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@Value", value);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var link = new ContactLink(reader.GetString(0), reader.GetString(1), SqliteSql.ParseTimestamp(reader.GetString(2)));
            links.TryAdd((link.Email, link.PhoneNumber), link);
        }
    }

    private static Contact ReadContact(SqliteDataReader reader, bool withDeletedAt) => new(
        reader.GetInt64(0),
        reader.IsDBNull(1) ? null : reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetString(2),
        reader.IsDBNull(3) ? null : reader.GetInt64(3),
        reader.GetInt64(4) != 0 ? LinkPrecedence.Primary : LinkPrecedence.Secondary,
        SqliteSql.ParseTimestamp(reader.GetString(5)),
        SqliteSql.ParseTimestamp(reader.GetString(6)),
        withDeletedAt && !reader.IsDBNull(7) ? SqliteSql.ParseTimestamp(reader.GetString(7)) : null);

    private static void Add(SortedSet<string> values, string? value)
    {
        if (value is not null)
        {
            values.Add(value);
        }
    }
}
