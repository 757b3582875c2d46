using Microsoft.Data.Sqlite;

namespace IdentityReconciliation.Sqlite;

// The change feed, history and person loading. The writer appends the entries in the savepoint of the request (or erasure)
// that made them (SqliteWriter, SqliteSession.AppendChange); the reads run on the idle read sessions, like FindClustersAsync
// (SqliteSession.Feed, a SqliteChangeFeedQuery); the SQL is in SqliteChangeFeedSql.
public sealed partial class SqliteContactStore
{
    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxCount"/> is less than 1.</exception>
    /// <exception cref="ContactStoreBusyException">The database stayed locked beyond <see cref="SqliteContactStoreOptions.BusyTimeout"/>.</exception>
    /// <remarks>
    /// Sequence numbers are the rowids of table <c>ContactChange</c>, given under the file's write lock: they increase with
    /// commit order across every process that shares the file. A database upgraded from schema version 1 or 2 has no entry
    /// for what was written before the upgrade.
    /// </remarks>
    public Task<IReadOnlyList<ContactChange>> GetChangesAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        return ReadAsync<IReadOnlyList<ContactChange>>(
            (feed, token) => feed.Changes(afterSequence, maxCount, token),
            cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ContactStoreBusyException">The database stayed locked beyond <see cref="SqliteContactStoreOptions.BusyTimeout"/>.</exception>
    public Task<IReadOnlyList<ContactChange>> GetHistoryAsync(long contactId, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<ContactChange>>((feed, token) => feed.History(contactId, token), cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ContactStoreBusyException">The database stayed locked beyond <see cref="SqliteContactStoreOptions.BusyTimeout"/>.</exception>
    public Task<PersonGraph?> LoadPersonAsync(long contactId, CancellationToken cancellationToken = default) =>
        ReadAsync((feed, token) => feed.Person(contactId, token), cancellationToken);

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keepNewest"/> is less than 1.</exception>
    /// <exception cref="ContactStoreBusyException">Another process held the write lock beyond <see cref="SqliteContactStoreOptions.BusyTimeout"/>; the write transaction that waited deleted nothing (those before it stay done).</exception>
    /// <remarks>
    /// Pruning by age reads the whole feed (there is no index on the time, which every write would pay for), 10,000
    /// sequence numbers per write transaction of the store's writer, so that other writes go through between them: each
    /// holds the write lock for about a millisecond, or about 12 ms when all of its entries are old. It covers the feed as
    /// it was when it began; an entry written later with an older time (another process's clock behind this one's) waits
    /// for the next pruning. Pruning by count deletes the entries beyond the newest ones to keep the same way, window by
    /// window, then those that writes meanwhile pushed beyond them in one last write transaction. A cancelled pruning may
    /// have deleted some of the entries: pruning is idempotent, the next one deletes the rest.
    /// </remarks>
    public async Task<long> PruneChangesAsync(DateTimeOffset? olderThan, long? keepNewest, CancellationToken cancellationToken = default)
    {
        if (keepNewest is { } keep)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1, nameof(keepNewest));
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (olderThan is null && keepNewest is null)
        {
            return 0;
        }

        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        long deleted = 0;
        try
        {
            if (olderThan is { } before
                && await ReadAsync((feed, _) => feed.SequenceBounds(), cancellationToken).ConfigureAwait(false) is var (lowest, newest))
            {
                deleted += await PruneWindowsAsync(lowest, newest, before, cancellationToken).ConfigureAwait(false);
            }

            if (keepNewest is { } count)
            {
                // The entries beyond the newest `count` now stay beyond them: window by window first, then, in one
                // statement, those that writes pushed beyond them meanwhile.
                var bounds = await ReadAsync((feed, _) => (Bounds: feed.SequenceBounds(), Kept: feed.NewestKept(count)), cancellationToken).ConfigureAwait(false);
                if (bounds is ((var first, _), { } kept))
                {
                    deleted += await PruneWindowsAsync(first, kept, null, cancellationToken).ConfigureAwait(false);
                }

                deleted += await GetWriter().EnqueuePruneAsync(new SqliteWriteOperation.ChangeFeedPruning(null, 0, 0, count), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (SqliteException ex) when (IsBusy(ex))
        {
            throw Busy(ex);
        }

        return deleted;
    }

    /// <summary>Deletes the entries from <paramref name="from"/> up to (not including) <paramref name="until"/>, older than <paramref name="olderThan"/> when it is set, <see cref="PruneBatchSize"/> sequence numbers per write transaction.</summary>
    private async Task<long> PruneWindowsAsync(long from, long until, DateTimeOffset? olderThan, CancellationToken cancellationToken)
    {
        long deleted = 0;
        var start = from;
        while (start < until)
        {
            var end = Math.Min(start + PruneBatchSize, until);
            var pruning = new SqliteWriteOperation.ChangeFeedPruning(olderThan, start, end, null);
            deleted += await GetWriter().EnqueuePruneAsync(pruning, cancellationToken).ConfigureAwait(false);
            if (PruneBatchDeleted is { } hook)
            {
                await hook().ConfigureAwait(false);
            }

            // The next window starts at the next entry: sequence numbers may have long gaps (entries pruned earlier).
            start = end < until ? await ReadAsync((feed, _) => feed.NextSequence(end), cancellationToken).ConfigureAwait(false) ?? until : until;
        }

        return deleted;
    }

    /// <summary>How many sequence numbers one write transaction of a pruning covers.</summary>
    internal int PruneBatchSize { get; set; } = 10_000;

    /// <summary>For tests: runs after each window of a pruning, before the next one is queued.</summary>
    internal Func<Task>? PruneBatchDeleted { get; set; }

    /// <summary>Runs a read on an idle read session, translating a busy database as <see cref="FindClustersAsync"/> does.</summary>
    private async Task<T> ReadAsync<T>(Func<SqliteChangeFeedQuery, CancellationToken, T> read, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        var session = RentReader();
        try
        {
            var result = read(session.Feed, cancellationToken);
            ReturnReader(session);
            return result;
        }
        catch (SqliteException ex) when (IsBusy(ex))
        {
            session.Dispose();
            throw Busy(ex);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }
}
