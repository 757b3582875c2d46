namespace IdentityReconciliation.PostgreSql;

// The change feed, history and person loading (issue 11): to be implemented.
public sealed partial class PostgreSqlContactStore
{
    /// <inheritdoc />
    public Task<IReadOnlyList<ContactChange>> GetChangesAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();

    /// <inheritdoc />
    public Task<IReadOnlyList<ContactChange>> GetHistoryAsync(long contactId, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();

    /// <inheritdoc />
    public Task<PersonGraph?> LoadPersonAsync(long contactId, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();

    /// <inheritdoc />
    public Task<long> PruneChangesAsync(DateTimeOffset? olderThan, long? keepNewest, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();
}
