using System.Diagnostics;
using System.Runtime.CompilerServices;
using IdentityReconciliation.Diagnostics;

namespace IdentityReconciliation;

// Bulk back-fill: IdentifyManyAsync. Each request goes through the same steps as IdentifyCoreAsync, shared with it:
// Prepare (normalise, validate, blocked values), ContactGuards.Plan inside the store's atomic unit, then the same view,
// telemetry, logs and IdentifyResult (Record, Describe). What differs: no read-only fast path (inside the atomic unit the
// plan of a request that changes nothing is empty, and the store writes nothing, so the outcome is the same), and the
// requests reach the store in chunks through IContactStore.ReconcileManyAsync, which plans each one from the state after
// the previous ones.
public sealed partial class IdentityReconciler
{
    /// <inheritdoc />
    public IAsyncEnumerable<IdentifyManyResult> IdentifyManyAsync(IAsyncEnumerable<IdentifyRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        return IdentifyManyCoreAsync(requests, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<IdentifyManyResult> IdentifyManyAsync(IEnumerable<IdentifyRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        return IdentifyManyCoreAsync(IdentifyManyOneByOne.ToAsync(requests), cancellationToken);
    }

    private async IAsyncEnumerable<IdentifyManyResult> IdentifyManyCoreAsync(
        IAsyncEnumerable<IdentifyRequest> requests,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var chunk = new Chunk(_chunkSize);
        long index = 0;
        await foreach (var request in requests.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var row = PrepareRow(index++, request);
            if (row.Error is not null && chunk.Identifiers.Count == 0)
            {
                yield return IdentifyManyResult.Failure(row.Index, row.Error); // nothing before it waits for a commit
                continue;
            }

            chunk.Add(row);
            if (chunk.Rows.Count >= _chunkSize)
            {
                await foreach (var result in ApplyChunkAsync(chunk, cancellationToken).ConfigureAwait(false))
                {
                    yield return result;
                }

                chunk.Clear();
            }
        }

        await foreach (var result in ApplyChunkAsync(chunk, cancellationToken).ConfigureAwait(false))
        {
            yield return result;
        }
    }

    /// <summary>Prepares one request as <see cref="IdentifyCoreAsync"/> does; a bad row becomes its error.</summary>
    private Row PrepareRow(long index, IdentifyRequest? request)
    {
        if (request is null)
        {
            return new Row(index, default, null, IdentifyManyOneByOne.NullRequest());
        }

        try
        {
            var identifiers = Prepare(request, out var blocked);
            return new Row(index, identifiers, blocked, null);
        }
        catch (InvalidIdentifyRequestException ex)
        {
            return new Row(index, default, null, ex);
        }
    }

    /// <summary>Applies the chunk's good rows with the store and streams every row's result in order.</summary>
    private async IAsyncEnumerable<IdentifyManyResult> ApplyChunkAsync(Chunk chunk, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var rows = chunk.Rows;
        var next = 0;
        if (chunk.Identifiers.Count > 0)
        {
            using var activity = IdentityReconciliationTelemetry.ActivitySource.StartActivity("IdentityReconciliation.IdentifyMany");
            activity?.SetTag("identity_reconciliation.requests", chunk.Identifiers.Count);
            var identifiers = chunk.Identifiers;
            var applied = new GuardedPlan[identifiers.Count];

            // The store calls the plan inside its atomic unit, perhaps more than once per request: the last call is the one it applied.
            var results = _store.ReconcileManyAsync(
                identifiers,
                (i, touched) => (applied[i] = _guards.Plan(identifiers[i], touched, _timeProvider.GetUtcNow())).Changes,
                cancellationToken);
            var enumerator = results.GetAsyncEnumerator(cancellationToken);
            try
            {
                for (var item = 0; ; item++)
                {
                    if (!await MoveNextObservedAsync(enumerator).ConfigureAwait(false))
                    {
                        if (item != identifiers.Count)
                        {
                            throw new InvalidOperationException($"The contact store {_store.GetType().Name} returned {item} results for {identifiers.Count} requests.");
                        }

                        break;
                    }

                    if (item == identifiers.Count)
                    {
                        throw new InvalidOperationException($"The contact store {_store.GetType().Name} returned more results than the {identifiers.Count} requests it was given.");
                    }

                    if (item == 0)
                    {
                        BusyTracker?.ReportWriteSucceeded();
                    }

                    while (rows[next].Error is { } error)
                    {
                        yield return IdentifyManyResult.Failure(rows[next++].Index, error);
                    }

                    var row = rows[next++];
                    yield return IdentifyManyResult.Success(row.Index, Describe(Conclude(enumerator.Current, applied[item], row.Blocked, activity: null)));
                }
            }
            finally
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }
        }

        for (; next < rows.Count; next++)
        {
            yield return IdentifyManyResult.Failure(rows[next].Index, rows[next].Error!);
        }
    }

    /// <summary>Turns what the store returned for one request into its outcome, as <see cref="IdentifyCoreAsync"/> does.</summary>
    private Identified Conclude(IReadOnlyList<Contact> result, GuardedPlan applied, SetAsideIdentifier? blocked, Activity? activity)
    {
        // When an identifier was set aside, the store's answer also holds the clusters only that identifier touched.
        var person = applied.SetAside is null ? result : ContactGuards.TouchedBy(applied.Identifiers, result);
        var cluster = ContactPlanner.Consolidate(person)
            ?? throw new InvalidOperationException($"The contact store {_store.GetType().Name} returned no contact for a request it reconciled.");
        activity?.SetTag("identity_reconciliation.written", applied.Changes is { IsEmpty: false });
        return Record(new Identified(cluster, applied, blocked), activity);
    }

    private async ValueTask<bool> MoveNextObservedAsync(IAsyncEnumerator<IReadOnlyList<Contact>> enumerator)
    {
        try
        {
            return await enumerator.MoveNextAsync().ConfigureAwait(false);
        }
        catch (ContactStoreBusyException)
        {
            BusyTracker?.ReportBusy();
            throw;
        }
    }

    /// <summary>One request of the sequence: its prepared identifiers, or the error that makes it a bad row.</summary>
    private readonly record struct Row(long Index, ContactIdentifiers Identifiers, SetAsideIdentifier? Blocked, ArgumentException? Error);

    /// <summary>The rows gathered for one call of the store, and the identifiers of the good ones.</summary>
    private sealed class Chunk(int capacity)
    {
        public List<Row> Rows { get; } = new(capacity);

        public List<ContactIdentifiers> Identifiers { get; } = new(capacity);

        public void Add(Row row)
        {
            Rows.Add(row);
            if (row.Error is null)
            {
                Identifiers.Add(row.Identifiers);
            }
        }

        public void Clear()
        {
            Rows.Clear();
            Identifiers.Clear();
        }
    }
}
