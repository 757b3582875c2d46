using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace IdentityReconciliation.Sqlite;

/// <summary>
/// Loads the touched clusters of a request through statements prepared once on one connection and run through
/// SQLitePCLRaw directly: binding and reading need no allocation beyond the contacts themselves (Microsoft.Data.Sqlite
/// re-binds parameters by name and copies every blob on each execution, which costs more than the lookup).
/// Not thread-safe: one per connection.
/// </summary>
internal sealed class SqliteTouchedQuery : IDisposable
{
    private const uint PreparePersistent = 0x01;
    private const int StackLimit = 512;

    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _roots;
    private readonly sqlite3_stmt _cluster;
    private readonly sqlite3_stmt _begin;
    private readonly sqlite3_stmt _commit;
    private readonly int _emailIndex;
    private readonly int _phoneIndex;

    public SqliteTouchedQuery(SqliteConnection connection)
    {
        _connection = connection;
        _roots = Prepare(SqliteSql.TouchedRoots);
        _cluster = Prepare(SqliteSql.Cluster);
        _begin = Prepare("BEGIN");
        _commit = Prepare("COMMIT");
        _emailIndex = raw.sqlite3_bind_parameter_index(_roots, "@Email");
        _phoneIndex = raw.sqlite3_bind_parameter_index(_roots, "@PhoneNumber");
    }

    /// <summary>
    /// The live contacts of the clusters the identifiers touch, in ascending id order, from one snapshot: the caller's
    /// transaction when <paramref name="inTransaction"/> is set, else a read transaction of its own.
    /// </summary>
    public List<Contact> Execute(ContactIdentifiers identifiers, bool inTransaction)
    {
        if (!inTransaction)
        {
            Step(_begin);
        }

        try
        {
            // Distinct roots: usually one, two when the request bridges clusters.
            Span<long> roots = stackalloc long[8];
            List<long>? moreRoots = null;
            var count = 0;
            try
            {
                Bind(_roots, _emailIndex, identifiers.Email);
                Bind(_roots, _phoneIndex, identifiers.PhoneNumber);
                while (Next(_roots))
                {
                    var root = raw.sqlite3_column_int64(_roots, 0);
                    if (roots[..Math.Min(count, roots.Length)].IndexOf(root) >= 0 || (moreRoots?.Contains(root) ?? false))
                    {
                        continue;
                    }

                    if (count < roots.Length)
                    {
                        roots[count] = root;
                    }
                    else
                    {
                        (moreRoots ??= []).Add(root);
                    }

                    count++;
                }
            }
            finally
            {
                raw.sqlite3_reset(_roots);
            }

            var contacts = new List<Contact>(count == 0 ? 0 : 4);
            for (var i = 0; i < count; i++)
            {
                ReadCluster(i < roots.Length ? roots[i] : moreRoots![i - roots.Length], contacts);
            }

            if (count > 1)
            {
                SortAndDeduplicate(contacts);
            }

            return contacts;
        }
        finally
        {
            if (!inTransaction)
            {
                // Ends the read snapshot, so that it never holds back a WAL checkpoint.
                Step(_commit);
            }
        }
    }

    public void Dispose()
    {
        _roots.Dispose();
        _cluster.Dispose();
        _begin.Dispose();
        _commit.Dispose();
    }

    private static void SortAndDeduplicate(List<Contact> contacts)
    {
        contacts.Sort(static (a, b) => a.Id.CompareTo(b.Id));

        // Clusters of distinct roots are disjoint in a consistent graph; a chain written by others could list a row twice.
        for (var i = contacts.Count - 1; i > 0; i--)
        {
            if (contacts[i].Id == contacts[i - 1].Id)
            {
                contacts.RemoveAt(i);
            }
        }
    }

    private void ReadCluster(long root, List<Contact> contacts)
    {
        try
        {
            var rc = raw.sqlite3_bind_int64(_cluster, 1, root);
            SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
            var start = contacts.Count;
            var sorted = true;
            while (Next(_cluster))
            {
                var contact = new Contact(
                    raw.sqlite3_column_int64(_cluster, 0),
                    Text(1),
                    Text(2),
                    raw.sqlite3_column_type(_cluster, 3) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(_cluster, 3),
                    raw.sqlite3_column_int64(_cluster, 4) != 0 ? LinkPrecedence.Primary : LinkPrecedence.Secondary,
                    Timestamp(5),
                    Timestamp(6));
                sorted &= contacts.Count == start || contacts[^1].Id < contact.Id;
                contacts.Add(contact);
            }

            if (!sorted)
            {
                contacts.Sort(start, contacts.Count - start, ContactIdComparer.Instance);
            }
        }
        finally
        {
            raw.sqlite3_reset(_cluster);
        }
    }

    private sqlite3_stmt Prepare(string sql)
    {
        var rc = raw.sqlite3_prepare_v3(_connection.Handle, sql, PreparePersistent, out var statement);
        SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
        return statement;
    }

    private bool Next(sqlite3_stmt statement)
    {
        var rc = raw.sqlite3_step(statement);
        if (rc == raw.SQLITE_ROW)
        {
            return true;
        }

        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
        }

        return false;
    }

    private void Step(sqlite3_stmt statement)
    {
        try
        {
            Next(statement);
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    private void Bind(sqlite3_stmt statement, int index, string? value)
    {
        int rc;
        if (value is null)
        {
            rc = raw.sqlite3_bind_null(statement, index);
        }
        else
        {
            var maxBytes = Encoding.UTF8.GetMaxByteCount(value.Length);
            byte[]? rented = null;
            var buffer = maxBytes <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
            try
            {
                var length = Encoding.UTF8.GetBytes(value, buffer);
                rc = raw.sqlite3_bind_text(statement, index, buffer[..length]); // SQLite copies the text
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }
        }

        SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
    }

    private string? Text(int column) =>
        raw.sqlite3_column_type(_cluster, column) == raw.SQLITE_NULL ? null : raw.sqlite3_column_text(_cluster, column).utf8_to_string();

    private DateTimeOffset Timestamp(int column)
    {
        // The library writes fixed-width ISO-8601 UTC (the 'O' format): parse the UTF-8 bytes without making a string.
        var utf8 = raw.sqlite3_column_blob(_cluster, column);
        if (Utf8Parser.TryParse(utf8, out DateTimeOffset value, out var consumed, 'O') && consumed == utf8.Length)
        {
            return value.ToUniversalTime();
        }

        return SqliteSql.ParseTimestamp(raw.sqlite3_column_text(_cluster, column).utf8_to_string());
    }

    private sealed class ContactIdComparer : IComparer<Contact>
    {
        public static readonly ContactIdComparer Instance = new();

        public int Compare(Contact? x, Contact? y) => x!.Id.CompareTo(y!.Id);
    }
}
