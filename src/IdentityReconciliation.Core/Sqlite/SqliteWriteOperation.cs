namespace IdentityReconciliation.Sqlite;

/// <summary>
/// One request to the store's writer: an identify (<see cref="Plan"/>), a chunk of identifies applied in order
/// (<see cref="Chunk"/>), an erasure (<see cref="ErasurePlan"/>) or a pruning of the change feed (<see cref="Pruning"/>);
/// its task completes after the commit that holds it.
/// </summary>
internal sealed class SqliteWriteOperation : TaskCompletionSource<IReadOnlyList<Contact>>
{
    public SqliteWriteOperation(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        Identifiers = identifiers;
        Plan = plan;
        CancellationToken = cancellationToken;
    }

    public SqliteWriteOperation(ContactIdentifiers identifiers, long? personId, Func<ErasureScope, ErasureChangeSet> erasurePlan, CancellationToken cancellationToken)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        Identifiers = identifiers;
        PersonId = personId;
        ErasurePlan = erasurePlan;
        CancellationToken = cancellationToken;
    }

    public SqliteWriteOperation(IReadOnlyList<ContactIdentifiers> chunk, Func<int, IReadOnlyList<Contact>, ContactChangeSet> chunkPlan, CancellationToken cancellationToken)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        Chunk = chunk;
        ChunkPlan = chunkPlan;
        CancellationToken = cancellationToken;
    }

    public SqliteWriteOperation(ChangeFeedPruning pruning, CancellationToken cancellationToken)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        Pruning = pruning;
        CancellationToken = cancellationToken;
    }

    public ContactIdentifiers Identifiers { get; }

    public Func<IReadOnlyList<Contact>, ContactChangeSet>? Plan { get; }

    /// <summary>Set for an erasure: of <see cref="Identifiers"/>, or of the person of <see cref="PersonId"/>.</summary>
    public Func<ErasureScope, ErasureChangeSet>? ErasurePlan { get; }

    public long? PersonId { get; }

    /// <summary>Set for a chunk (<see cref="IContactStore.ReconcileManyAsync"/>): its requests, applied in order, all or none.</summary>
    public IReadOnlyList<ContactIdentifiers>? Chunk { get; }

    /// <summary>The plan of a chunk's requests, given each request's position in <see cref="Chunk"/>.</summary>
    public Func<int, IReadOnlyList<Contact>, ContactChangeSet>? ChunkPlan { get; }

    /// <summary>A chunk's results, one per request in order; set when the chunk was applied (the task's result is then empty).</summary>
    public IReadOnlyList<Contact>[]? ChunkResults { get; set; }

    /// <summary>
    /// True when applying the operation may hold the writer long (a chunk): it then always runs on the writer's thread,
    /// never inline on the caller's thread-pool thread.
    /// </summary>
    public bool IsLong => Chunk is not null;

    /// <summary>Set for a pruning of the change feed; its result is <see cref="Pruned"/>.</summary>
    public ChangeFeedPruning? Pruning { get; }

    public long Pruned { get; set; }

    public CancellationToken CancellationToken { get; }

    public IReadOnlyList<Contact>? Result { get; set; }

    public Exception? Error { get; set; }

    public void Complete()
    {
        if (Error is not null)
        {
            TrySetException(Error);
        }
        else
        {
            TrySetResult(Result!);
        }
    }

    public void Fail(Exception exception) => TrySetException(exception);

    public void Cancel() => TrySetCanceled(CancellationToken);

    /// <summary>
    /// What one write transaction of a pruning deletes (see <see cref="IContactStore.PruneChangesAsync"/>): with
    /// <see cref="KeepNewest"/>, every entry beyond the newest that many; otherwise the entries with sequence numbers from
    /// <see cref="From"/> up to (not including) <see cref="Until"/>, only those older than <see cref="OlderThan"/> when it
    /// is set. Never the newest entry.
    /// </summary>
    public sealed record ChangeFeedPruning(DateTimeOffset? OlderThan, long From, long Until, long? KeepNewest);
}
