using System.Buffers;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace IdentityReconciliation.Sqlite;

/// <summary>
/// One open connection of the store and every statement prepared on it: the transaction and savepoint statements, the
/// touched-clusters load, the writes and the change-feed append, the checkpoints. The read pool, the writer and the
/// checkpointer each hold sessions; this is the only file that calls SQLitePCLRaw.
/// </summary>
/// <remarks>
/// The statements are prepared once (<c>SQLITE_PREPARE_PERSISTENT</c>), the first time they are used, and run through
/// SQLitePCLRaw directly: binding and reading need no allocation beyond the contacts themselves. Microsoft.Data.Sqlite
/// re-binds parameters by name and copies every blob on each execution, and a command-per-call mapper re-prepares too;
/// either costs more than the lookup itself and allocates several kilobytes per request (docs/benchmarks.md). The reads
/// that are not on the identify path (<see cref="Feed"/>, <see cref="PruneWindow"/>, <see cref="PruneBeyondNewest"/>, erasure through <see cref="Connection"/>)
/// use Microsoft.Data.Sqlite commands. Not thread-safe: one user at a time.
/// </remarks>
internal sealed class SqliteSession : IDisposable
{
    private const uint PreparePersistent = 0x01;
    private const int StackLimit = 512;

    private readonly sqlite3 _db;
    private sqlite3_stmt? _begin;
    private sqlite3_stmt? _beginImmediate;
    private sqlite3_stmt? _commit;
    private sqlite3_stmt? _rollback;
    private sqlite3_stmt? _savepoint;
    private sqlite3_stmt? _release;
    private sqlite3_stmt? _rollbackToSavepoint;
    private sqlite3_stmt? _roots;
    private sqlite3_stmt? _cluster;
    private sqlite3_stmt? _insert;
    private sqlite3_stmt? _update;
    private sqlite3_stmt? _insertLink;
    private sqlite3_stmt? _appendChange;
    private SqliteChangeFeedQuery? _feed;

    public SqliteSession(SqliteConnection connection)
    {
        Connection = connection;
        _db = connection.Handle!;
    }

    /// <summary>The connection, for the statements that run through Microsoft.Data.Sqlite (schema, erasure).</summary>
    public SqliteConnection Connection { get; }

    /// <summary>The change-feed, history and person reads, prepared on first use: most sessions only ever serve lookups.</summary>
    public SqliteChangeFeedQuery Feed => _feed ??= new(Connection);

    /// <summary>Whether a transaction is open (SQLite rolls one back by itself on some errors, such as a full disk).</summary>
    public bool InTransaction => raw.sqlite3_get_autocommit(_db) == 0;

    /// <summary><c>BEGIN IMMEDIATE</c>: takes the file's write lock, waiting up to the busy timeout.</summary>
    public void BeginImmediate() => Step(_beginImmediate ??= Prepare("BEGIN IMMEDIATE"));

    public void Commit() => Step(_commit ??= Prepare("COMMIT"));

    public void Rollback() => Step(_rollback ??= Prepare("ROLLBACK"));

    public void Savepoint() => Step(_savepoint ??= Prepare("SAVEPOINT identify"));

    public void Release() => Step(_release ??= Prepare("RELEASE identify"));

    public void RollbackToSavepoint() => Step(_rollbackToSavepoint ??= Prepare("ROLLBACK TO identify"));

    /// <summary>
    /// The live contacts of the clusters the identifiers touch, in ascending id order, from one snapshot: the caller's
    /// transaction when <paramref name="inTransaction"/> is set, else a read transaction of its own.
    /// </summary>
    public List<Contact> LoadTouched(ContactIdentifiers identifiers, bool inTransaction)
    {
        var roots = _roots ??= Prepare(SqliteSql.TouchedRoots);
        if (!inTransaction)
        {
            Step(_begin ??= Prepare("BEGIN"));
        }

        try
        {
            // Distinct roots: usually one, two when the request bridges clusters.
            Span<long> found = stackalloc long[8];
            List<long>? more = null;
            var count = 0;
            try
            {
                BindText(roots, 1, identifiers.Email);
                BindText(roots, 2, identifiers.PhoneNumber);
                while (Next(roots))
                {
                    var root = raw.sqlite3_column_int64(roots, 0);
                    if (found[..Math.Min(count, found.Length)].IndexOf(root) >= 0 || (more?.Contains(root) ?? false))
                    {
                        continue;
                    }

                    if (count < found.Length)
                    {
                        found[count] = root;
                    }
                    else
                    {
                        (more ??= []).Add(root);
                    }

                    count++;
                }
            }
            finally
            {
                raw.sqlite3_reset(roots);
            }

            var contacts = new List<Contact>(count == 0 ? 0 : 4);
            for (var i = 0; i < count; i++)
            {
                ReadCluster(i < found.Length ? found[i] : more![i - found.Length], contacts);
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
                Step(_commit ??= Prepare("COMMIT"));
            }
        }
    }

    /// <summary>Inserts a contact; returns its id.</summary>
    public long Insert(NewContact contact)
    {
        var statement = _insert ??= Prepare(SqliteSql.Insert);
        try
        {
            BindText(statement, 1, contact.PhoneNumber);
            BindText(statement, 2, contact.Email);
            BindInt64(statement, 3, contact.LinkedId);
            BindText(statement, 4, SqliteSql.ToText(contact.LinkPrecedence));
            BindText(statement, 5, SqliteSql.FormatTimestamp(contact.CreatedAt));
            if (!Next(statement))
            {
                throw new InvalidOperationException("The insert returned no id.");
            }

            var id = raw.sqlite3_column_int64(statement, 0);
            while (Next(statement))
            {
            }

            return id;
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    /// <summary>Re-points a live contact; returns whether it was found.</summary>
    public bool Update(ContactUpdate update)
    {
        var statement = _update ??= Prepare(SqliteSql.Update);
        BindInt64(statement, 1, update.LinkedId);
        BindText(statement, 2, SqliteSql.ToText(update.LinkPrecedence));
        BindText(statement, 3, SqliteSql.FormatTimestamp(update.UpdatedAt));
        BindInt64(statement, 4, update.Id);
        Step(statement);
        return raw.sqlite3_changes(_db) == 1;
    }

    /// <summary>Records the evidence of a merge (ignored when the pair is already recorded).</summary>
    public void InsertLink(ContactLink link)
    {
        var statement = _insertLink ??= Prepare(SqliteErasureSql.InsertLink);
        BindText(statement, 1, link.Email);
        BindText(statement, 2, link.PhoneNumber);
        BindText(statement, 3, SqliteSql.FormatTimestamp(link.CreatedAt));
        Step(statement);
    }

    /// <summary>Appends one change-feed entry in the current transaction (and savepoint); SQLite gives it its rowid.</summary>
    public void AppendChange(ContactChange entry)
    {
        var statement = _appendChange ??= Prepare(SqliteChangeFeedSql.Append);
        BindText(statement, 1, SqliteSql.FormatTimestamp(entry.OccurredAt));
        BindInt64(statement, 2, (long)entry.Kind);
        BindInt64(statement, 3, entry.ContactId);
        BindInt64(statement, 4, entry.PrimaryContactId);
        BindText(statement, 5, SqliteChangeFeedSql.FormatRelated(entry.RelatedContactIds));
        Step(statement);
    }

    /// <summary>
    /// Deletes the change-feed entries with sequence numbers from <paramref name="from"/> up to (not including)
    /// <paramref name="until"/>, only those older than <paramref name="olderThan"/> when it is set; never the newest entry.
    /// </summary>
    public long PruneWindow(long from, long until, DateTimeOffset? olderThan)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = olderThan is null ? SqliteChangeFeedSql.PruneBetween : SqliteChangeFeedSql.PruneOlderThanBetween;
        command.Parameters.AddWithValue("@From", from);
        command.Parameters.AddWithValue("@Until", until);
        if (olderThan is { } before)
        {
            command.Parameters.AddWithValue("@OlderThan", SqliteSql.FormatTimestamp(before));
        }

        return command.ExecuteNonQuery();
    }

    /// <summary>Deletes the change-feed entries beyond the newest <paramref name="keepNewest"/>; never the newest entry.</summary>
    public long PruneBeyondNewest(long keepNewest)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = SqliteChangeFeedSql.PruneBeyondNewest;
        command.Parameters.AddWithValue("@Skip", Math.Max(keepNewest, 1) - 1);
        return command.ExecuteNonQuery();
    }

    /// <summary>The pages this connection wrote to the WAL since the last call (<c>SQLITE_DBSTATUS_CACHE_WRITE</c>, reset).</summary>
    public int TakePagesWritten() =>
        raw.sqlite3_db_status(_db, raw.SQLITE_DBSTATUS_CACHE_WRITE, out var pages, out _, 1) == raw.SQLITE_OK ? pages : 0;

    /// <summary>Sets how long a statement waits for a lock before it fails with <c>SQLITE_BUSY</c>.</summary>
    public void SetBusyTimeout(TimeSpan timeout) =>
        SqliteException.ThrowExceptionForRC(raw.sqlite3_busy_timeout(_db, (int)timeout.TotalMilliseconds), _db);

    /// <summary>
    /// Runs a WAL checkpoint. Returns <see langword="false"/> when it could not run or finish because another connection
    /// is checkpointing, holds the write lock, or reads frames it would need (<c>SQLITE_BUSY</c>), with the WAL's frames.
    /// </summary>
    public bool Checkpoint(SqliteCheckpointMode mode, out int frames) => Checkpoint(mode, out frames, out _);

    /// <summary>
    /// Runs a WAL checkpoint, as <see cref="Checkpoint(SqliteCheckpointMode, out int)"/>, and also gives the frames now
    /// copied into the database (the WAL's frames less those written after the checkpoint began, or still read).
    /// </summary>
    public bool Checkpoint(SqliteCheckpointMode mode, out int frames, out int copied)
    {
        var rc = raw.sqlite3_wal_checkpoint_v2(_db, null, (int)mode, out frames, out copied);
        if (rc == raw.SQLITE_BUSY)
        {
            return false;
        }

        SqliteException.ThrowExceptionForRC(rc, _db);
        return true;
    }

    /// <summary>Whether <see cref="SyncDatabaseFile"/> can work in this process (SQLitePCLRaw's native library is e_sqlite3).</summary>
    public static bool CanSyncDatabaseFile => NativeFile.IsAvailable;

    /// <summary>
    /// Flushes the database file to disk (<c>fsync</c>) through this connection's own open file, as the last step of a
    /// checkpoint that copied every frame would (see <see cref="NativeFile"/>). False when it cannot (another native SQLite
    /// library than e_sqlite3, no such export, or the file is not open).
    /// </summary>
    public bool SyncDatabaseFile() => NativeFile.TrySync(_db);

    public void Dispose()
    {
        foreach (var statement in new[] { _begin, _beginImmediate, _commit, _rollback, _savepoint, _release, _rollbackToSavepoint, _roots, _cluster, _insert, _update, _insertLink, _appendChange })
        {
            statement?.Dispose();
        }

        _feed?.Dispose();
        Connection.Dispose();
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
        var cluster = _cluster ??= Prepare(SqliteSql.Cluster);
        try
        {
            SqliteException.ThrowExceptionForRC(raw.sqlite3_bind_int64(cluster, 1, root), _db);
            var start = contacts.Count;
            var sorted = true;
            while (Next(cluster))
            {
                var contact = new Contact(
                    raw.sqlite3_column_int64(cluster, 0),
                    Text(cluster, 1),
                    Text(cluster, 2),
                    raw.sqlite3_column_type(cluster, 3) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(cluster, 3),
                    raw.sqlite3_column_int64(cluster, 4) != 0 ? LinkPrecedence.Primary : LinkPrecedence.Secondary,
                    Timestamp(cluster, 5),
                    Timestamp(cluster, 6));
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
            raw.sqlite3_reset(cluster);
        }
    }

    private sqlite3_stmt Prepare(string sql)
    {
        var rc = raw.sqlite3_prepare_v3(_db, sql, PreparePersistent, out var statement);
        SqliteException.ThrowExceptionForRC(rc, _db);
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
            SqliteException.ThrowExceptionForRC(rc, _db);
        }

        return false;
    }

    /// <summary>Runs a statement that returns no rows, and resets it (also when it fails).</summary>
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

    private void BindInt64(sqlite3_stmt statement, int index, long? value) =>
        SqliteException.ThrowExceptionForRC(value is { } v ? raw.sqlite3_bind_int64(statement, index, v) : raw.sqlite3_bind_null(statement, index), _db);

    private void BindText(sqlite3_stmt statement, int index, string? value)
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

        SqliteException.ThrowExceptionForRC(rc, _db);
    }

    private static string? Text(sqlite3_stmt statement, int column) =>
        raw.sqlite3_column_type(statement, column) == raw.SQLITE_NULL ? null : raw.sqlite3_column_text(statement, column).utf8_to_string();

    private static DateTimeOffset Timestamp(sqlite3_stmt statement, int column)
    {
        // The library writes fixed-width ISO-8601 UTC (the 'O' format): parse the UTF-8 bytes without making a string.
        var utf8 = raw.sqlite3_column_blob(statement, column);
        if (Utf8Parser.TryParse(utf8, out DateTimeOffset value, out var consumed, 'O') && consumed == utf8.Length)
        {
            return value.ToUniversalTime();
        }

        return SqliteSql.ParseTimestamp(raw.sqlite3_column_text(statement, column).utf8_to_string());
    }

    private sealed class ContactIdComparer : IComparer<Contact>
    {
        public static readonly ContactIdComparer Instance = new();

        public int Compare(Contact? x, Contact? y) => x!.Id.CompareTo(y!.Id);
    }

    /// <summary>
    /// Reaches a connection's open database file through SQLite's own file object (<c>SQLITE_FCNTL_FILE_POINTER</c>) and
    /// calls its <c>xSync</c>, so that a checkpointer can flush the pages its passive checkpoints copied without opening the
    /// file itself: a second descriptor on the file would, when closed, release every POSIX lock this process holds on it,
    /// SQLite's included. SQLitePCLRaw has no binding for <c>sqlite3_file_control</c>, so it is called from the e_sqlite3
    /// library that SQLitePCLRaw itself loaded; with any other provider nothing is called.
    /// </summary>
    private static unsafe class NativeFile
    {
        private const int FileControlFilePointer = 7; // SQLITE_FCNTL_FILE_POINTER
        private const int SyncNormal = 0x2; // SQLITE_SYNC_NORMAL, what a checkpoint passes under synchronous = FULL
        private const int SyncMethodIndex = 5; // sqlite3_io_methods: iVersion, xClose, xRead, xWrite, xTruncate, xSync

        private static readonly delegate* unmanaged[Cdecl]<nint, byte*, int, nint, int> FileControl = Resolve();

        /// <summary>Whether <see cref="TrySync"/> can work in this process.</summary>
        public static bool IsAvailable => FileControl != null;

        public static bool TrySync(sqlite3 db)
        {
            if (FileControl == null)
            {
                return false;
            }

            var added = false;
            try
            {
                db.DangerousAddRef(ref added);
                nint file = 0;
                var main = "main"u8;
                int rc;
                fixed (byte* name = main)
                {
                    rc = FileControl(db.DangerousGetHandle(), name, FileControlFilePointer, (nint)(&file));
                }

                if (rc != raw.SQLITE_OK || file == 0)
                {
                    return false;
                }

                var methods = *(nint*)file;
                if (methods == 0)
                {
                    return false; // the file is not open
                }

                var sync = (delegate* unmanaged[Cdecl]<nint, int, int>)((nint*)methods)[SyncMethodIndex];
                return sync(file, SyncNormal) == raw.SQLITE_OK;
            }
            finally
            {
                if (added)
                {
                    db.DangerousRelease();
                }
            }
        }

        private static delegate* unmanaged[Cdecl]<nint, byte*, int, nint, int> Resolve()
        {
            try
            {
                if (raw.GetNativeLibraryName() != "e_sqlite3"
                    || !NativeLibrary.TryLoad("e_sqlite3", typeof(raw).Assembly, null, out var library)
                    || !NativeLibrary.TryGetExport(library, "sqlite3_file_control", out var export))
                {
                    return null;
                }

                return (delegate* unmanaged[Cdecl]<nint, byte*, int, nint, int>)export;
            }
            catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException or InvalidOperationException)
            {
                return null;
            }
        }
    }
}

/// <summary>The WAL checkpoint modes the store uses (the values of <c>SQLITE_CHECKPOINT_*</c>).</summary>
internal enum SqliteCheckpointMode
{
    /// <summary>Copies what no reader needs, taking no lock anyone waits for.</summary>
    Passive = 0,

    /// <summary>
    /// Takes the write lock, copies everything and waits for readers of old frames, so that the next write starts the WAL
    /// over from its first frame (the file keeps its size and its blocks).
    /// </summary>
    Restart = 2,

    /// <summary>Takes the write lock, waits for readers of old frames, copies everything and cuts the WAL to zero bytes.</summary>
    Truncate = 3,
}
