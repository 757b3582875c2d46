using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Sqlite;

/// <summary>
/// The change-feed, history and person reads of one read session (<see cref="SqliteSession.Feed"/>), each a
/// Microsoft.Data.Sqlite command prepared on first use and kept with the connection: these reads are not on the identify
/// path, so they are not hand-bound like the session's own statements. Not thread-safe: one per connection.
/// </summary>
internal sealed class SqliteChangeFeedQuery(SqliteConnection connection) : IDisposable
{
    private const int CancellationCheckInterval = 256;

    private SqliteCommand? _changes;
    private SqliteCommand? _history;
    private SqliteCommand? _personContacts;
    private SqliteCommand? _personLinks;

    /// <summary>Up to <paramref name="maxCount"/> entries after <paramref name="afterSequence"/>, ascending; one statement, one snapshot.</summary>
    public List<ContactChange> Changes(long afterSequence, int maxCount, CancellationToken cancellationToken)
    {
        var command = _changes ??= Command(SqliteChangeFeedSql.Changes, ("@After", SqliteType.Integer), ("@Max", SqliteType.Integer));
        command.Parameters[0].Value = afterSequence;
        command.Parameters[1].Value = maxCount;
        return ReadChanges(command, Math.Min(maxCount, 1024), cancellationToken);
    }

    /// <summary>The entries of the person of <paramref name="contactId"/>, ascending; one statement, one snapshot.</summary>
    public List<ContactChange> History(long contactId, CancellationToken cancellationToken)
    {
        var command = _history ??= Command(SqliteChangeFeedSql.History, ("@ContactId", SqliteType.Integer));
        command.Parameters[0].Value = contactId;
        return ReadChanges(command, 16, cancellationToken);
    }

    /// <summary>The lowest and the newest sequence numbers of the feed; <see langword="null"/> when it is empty.</summary>
    public (long Lowest, long Newest)? SequenceBounds()
    {
        using var command = Command(SqliteChangeFeedSql.SequenceBounds);
        using var reader = command.ExecuteReader();
        reader.Read();
        return reader.IsDBNull(1) ? null : (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>The lowest sequence number from <paramref name="from"/> on; <see langword="null"/> when there is none.</summary>
    public long? NextSequence(long from)
    {
        using var command = Command(SqliteChangeFeedSql.NextSequence, ("@From", SqliteType.Integer));
        command.Parameters[0].Value = from;
        using var reader = command.ExecuteReader();
        return reader.Read() && !reader.IsDBNull(0) ? reader.GetInt64(0) : null;
    }

    /// <summary>The sequence number of the <paramref name="keepNewest"/>th newest entry; <see langword="null"/> when the feed holds fewer.</summary>
    public long? NewestKept(long keepNewest)
    {
        using var command = Command(SqliteChangeFeedSql.NewestKept, ("@Skip", SqliteType.Integer));
        command.Parameters[0].Value = keepNewest - 1;
        using var reader = command.ExecuteReader();
        return reader.Read() ? reader.GetInt64(0) : null;
    }

    /// <summary>The person of <paramref name="contactId"/> and its links, from one read transaction; null when the contact is not live.</summary>
    public PersonGraph? Person(long contactId, CancellationToken cancellationToken)
    {
        var contactsCommand = _personContacts ??= Command(SqliteChangeFeedSql.PersonContacts, ("@ContactId", SqliteType.Integer));
        var linksCommand = _personLinks ??= Command(SqliteChangeFeedSql.PersonLinks, ("@ContactId", SqliteType.Integer));
        using var transaction = connection.BeginTransaction(deferred: true);
        contactsCommand.Transaction = transaction;
        linksCommand.Transaction = transaction;
        try
        {
            contactsCommand.Parameters[0].Value = contactId;
            var contacts = new List<Contact>();
            using (var reader = contactsCommand.ExecuteReader())
            {
                while (reader.Read())
                {
                    CheckCancellation(contacts.Count, cancellationToken);
                    contacts.Add(SqliteChangeFeedSql.ReadContact(reader));
                }
            }

            if (contacts.Count == 0)
            {
                return null;
            }

            linksCommand.Parameters[0].Value = contactId;
            var links = new List<ContactLink>();
            using (var reader = linksCommand.ExecuteReader())
            {
                while (reader.Read())
                {
                    CheckCancellation(links.Count, cancellationToken);
                    links.Add(new ContactLink(reader.GetString(0), reader.GetString(1), SqliteSql.ParseTimestamp(reader.GetString(2))));
                }
            }

            transaction.Commit(); // ends the snapshot, so that it never holds back a WAL checkpoint
            return new PersonGraph(contacts, links);
        }
        finally
        {
            contactsCommand.Transaction = null;
            linksCommand.Transaction = null;
        }
    }

    public void Dispose()
    {
        _changes?.Dispose();
        _history?.Dispose();
        _personContacts?.Dispose();
        _personLinks?.Dispose();
    }

    private static List<ContactChange> ReadChanges(SqliteCommand command, int capacity, CancellationToken cancellationToken)
    {
        var changes = new List<ContactChange>(capacity);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            CheckCancellation(changes.Count, cancellationToken);
            changes.Add(SqliteChangeFeedSql.ReadChange(reader));
        }

        return changes;
    }

    private static void CheckCancellation(int read, CancellationToken cancellationToken)
    {
        if (read % CancellationCheckInterval == CancellationCheckInterval - 1)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private SqliteCommand Command(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }

        return command;
    }
}
