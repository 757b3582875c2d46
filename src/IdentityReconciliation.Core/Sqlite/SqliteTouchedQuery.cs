using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace IdentityReconciliation.Sqlite;

/// <summary>
/// The touched-clusters statement, prepared once on one connection and run through SQLitePCLRaw directly: binding and
/// reading need no allocation beyond the contacts themselves (Microsoft.Data.Sqlite re-binds parameters by name and
/// copies every blob on each execution, which costs more than the lookup). Not thread-safe: one per connection.
/// </summary>
internal sealed class SqliteTouchedQuery : IDisposable
{
    private const uint PreparePersistent = 0x01;
    private const int StackLimit = 512;

    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;
    private readonly int _emailIndex;
    private readonly int _phoneIndex;

    public SqliteTouchedQuery(SqliteConnection connection)
    {
        _connection = connection;
        var rc = raw.sqlite3_prepare_v3(connection.Handle, SqliteSql.TouchedClusters, PreparePersistent, out _statement);
        SqliteException.ThrowExceptionForRC(rc, connection.Handle);
        _emailIndex = raw.sqlite3_bind_parameter_index(_statement, "@Email");
        _phoneIndex = raw.sqlite3_bind_parameter_index(_statement, "@PhoneNumber");
    }

    /// <summary>The live contacts of the clusters the identifiers touch, in ascending id order.</summary>
    public List<Contact> Execute(ContactIdentifiers identifiers)
    {
        try
        {
            Bind(_emailIndex, identifiers.Email);
            Bind(_phoneIndex, identifiers.PhoneNumber);
            var contacts = new List<Contact>(4);
            var sorted = true;
            while (true)
            {
                var rc = raw.sqlite3_step(_statement);
                if (rc == raw.SQLITE_DONE)
                {
                    break;
                }

                if (rc != raw.SQLITE_ROW)
                {
                    SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
                }

                var contact = new Contact(
                    raw.sqlite3_column_int64(_statement, 0),
                    Text(1),
                    Text(2),
                    raw.sqlite3_column_type(_statement, 3) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(_statement, 3),
                    raw.sqlite3_column_int64(_statement, 4) != 0 ? LinkPrecedence.Primary : LinkPrecedence.Secondary,
                    Timestamp(5),
                    Timestamp(6));
                sorted &= contacts.Count == 0 || contacts[^1].Id < contact.Id;
                contacts.Add(contact);
            }

            if (!sorted)
            {
                contacts.Sort(static (a, b) => a.Id.CompareTo(b.Id));
            }

            return contacts;
        }
        finally
        {
            // Ends the statement's read snapshot, so that it never holds back a WAL checkpoint.
            raw.sqlite3_reset(_statement);
        }
    }

    public void Dispose() => _statement.Dispose();

    private void Bind(int index, string? value)
    {
        int rc;
        if (value is null)
        {
            rc = raw.sqlite3_bind_null(_statement, index);
        }
        else
        {
            var maxBytes = Encoding.UTF8.GetMaxByteCount(value.Length);
            byte[]? rented = null;
            var buffer = maxBytes <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
            try
            {
                var length = Encoding.UTF8.GetBytes(value, buffer);
                rc = raw.sqlite3_bind_text(_statement, index, buffer[..length]); // SQLite copies the text
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
        raw.sqlite3_column_type(_statement, column) == raw.SQLITE_NULL ? null : raw.sqlite3_column_text(_statement, column).utf8_to_string();

    private DateTimeOffset Timestamp(int column)
    {
        // The library writes fixed-width ISO-8601 UTC (the 'O' format): parse the UTF-8 bytes without making a string.
        var utf8 = raw.sqlite3_column_blob(_statement, column);
        if (Utf8Parser.TryParse(utf8, out DateTimeOffset value, out var consumed, 'O') && consumed == utf8.Length)
        {
            return value.ToUniversalTime();
        }

        return SqliteSql.ParseTimestamp(raw.sqlite3_column_text(_statement, column).utf8_to_string());
    }
}
