using IdentityReconciliation.PostgreSql.Diagnostics;

namespace IdentityReconciliation.PostgreSql;

// Lookup batching: read-only lookups (FindClustersAsync, the reconciler's fast path before every request) that arrive
// while the store's lookup lanes are busy wait in a queue, and the next free lane sends all of them (up to
// LookupBatchMaxSize) as one statement in one round trip (PostgreSqlQueries.TouchedClustersMany). On a busy server most
// of a lookup's cost is the work around its statement (protocol messages, executor start-up, the round trip, waking both
// sides), not its index scans, so one statement for several lookups serves many more of them per second.
//
// The queue itself is PostgreSqlBatchingQueue's, shared with group commit: a lookup that finds a free lane and nobody
// waiting runs alone, as before, so one caller never waits for another. Lookups take no locks, so a lane never waits for
// another transaction and needs no stall watchdog.
//
// Each lookup keeps its own result and cancellation: a lookup cancelled while it waits leaves the queue at once; one taken
// into a batch completes. A batch that fails (after the executor's retries; a lookup is read-only, so a retry is safe)
// fails each of its lookups.
internal sealed class PostgreSqlLookupBatcher : PostgreSqlBatchingQueue<PostgreSqlLookupBatcher.Pending>
{
    private readonly Func<ContactIdentifiers, CancellationToken, Task<IReadOnlyList<Contact>>> _single;
    private readonly Func<IReadOnlyList<ContactIdentifiers>, Task<IReadOnlyList<Contact>[]>> _many;

    /// <param name="maxSize">The most lookups in one statement.</param>
    /// <param name="lanes">How many lookups, or batches of lookups, one store runs at once (each on its own pooled connection).</param>
    /// <param name="single">Runs one lookup.</param>
    /// <param name="many">Runs several lookups in one statement, returning each one's contacts in order (not cancellable).</param>
    public PostgreSqlLookupBatcher(
        int maxSize,
        int lanes,
        Func<ContactIdentifiers, CancellationToken, Task<IReadOnlyList<Contact>>> single,
        Func<IReadOnlyList<ContactIdentifiers>, Task<IReadOnlyList<Contact>[]>> many)
        : base(maxSize, lanes)
    {
        _single = single;
        _many = many;
    }

    /// <summary>The touched clusters of <paramref name="identifiers"/>, alone or in the next batch.</summary>
    public async Task<IReadOnlyList<Contact>> FindAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken)
    {
        if (!TryRunAlone())
        {
            return await EnqueueAsync(new Pending(identifiers, cancellationToken)).ConfigureAwait(false);
        }

        try
        {
            return await _single(identifiers, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            HandOver();
        }
    }

    protected override Task<IReadOnlyList<Contact>> RunAloneAsync(Pending request) => _single(request.Identifiers, request.CancellationToken);

    protected override Task<IReadOnlyList<Contact>[]> RunTogetherAsync(List<Pending> batch)
    {
        PostgreSqlStoreMetrics.LookupsBatched(batch.Count);
        return _many(batch.ConvertAll(static p => p.Identifiers));
    }

    /// <summary>A lookup waiting for a lane, then for its batch.</summary>
    internal sealed class Pending(ContactIdentifiers identifiers, CancellationToken cancellationToken)
        : PostgreSqlQueuedRequest<IReadOnlyList<Contact>>(cancellationToken)
    {
        public ContactIdentifiers Identifiers { get; } = identifiers;
    }
}
