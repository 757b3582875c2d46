using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Sqlite;

// Erasure goes through the writer queue like every identify request: it serialises with them in this process, and with
// other processes through BEGIN IMMEDIATE. The work itself (scope, plan, change set) is in SqliteErasure.
public sealed partial class SqliteContactStore
{
    /// <inheritdoc />
    /// <remarks>
    /// <para>
    /// Rows are deleted, never soft-deleted, and with <c>secure_delete</c> on SQLite zeroes the freed bytes in the pages it
    /// writes. In WAL mode those pages first go to the WAL, and older frames in the WAL may still hold the value: so after
    /// the transaction holding the erasure commits, the writer runs <c>PRAGMA wal_checkpoint(TRUNCATE)</c>, which copies the
    /// WAL into the database file and cuts the WAL to zero bytes, before the returned task completes. When the task
    /// completes, neither the database file nor the WAL holds the value.
    /// </para>
    /// <para>
    /// Exception: when another connection (usually another process) keeps a read transaction open on an older snapshot
    /// for longer than <see cref="SqliteContactStoreOptions.BusyTimeout"/>, the checkpoint cannot finish. The erasure
    /// stays committed and the call succeeds; a warning is logged (event 12, with no value in it), and the checkpoint is
    /// tried again, without waiting, after every later write of this store until it completes. What the file system keeps in blocks it freed
    /// (and backups, copies of the file) is outside SQLite's reach.
    /// </para>
    /// </remarks>
    public async Task<IReadOnlyList<Contact>> EraseAsync(
        ContactIdentifiers identifiers,
        Func<ErasureScope, ErasureChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await GetWriter().EnqueueErasureAsync(identifiers, null, plan, cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (IsBusy(ex))
        {
            throw Busy(ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>The erased values leave the database file and the WAL as described on <see cref="EraseAsync"/>.</remarks>
    public async Task<IReadOnlyList<Contact>> ErasePersonAsync(
        long contactId,
        Func<ErasureScope, ErasureChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await GetWriter().EnqueueErasureAsync(default, contactId, plan, cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (IsBusy(ex))
        {
            throw Busy(ex);
        }
    }
}
