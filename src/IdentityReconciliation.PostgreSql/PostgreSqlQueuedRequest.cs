namespace IdentityReconciliation.PostgreSql;

/// <summary>
/// A request waiting in one of the store's queues (group commit, lookup batching), then for the batch it was taken into:
/// its completion, and its cancellation, which counts only while it waits. Once taken into a batch, it completes.
/// </summary>
internal abstract class PostgreSqlQueuedRequest<TResult>(CancellationToken cancellationToken)
{
    private const int Queued = 0, Taken = 1, Cancelled = 2;

    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _state;
    private CancellationTokenRegistration _registration;

    /// <summary>The caller's token.</summary>
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Completes with the result; cancelled when the caller's token fires while the request is still queued.</summary>
    public Task<TResult> Completion => _completion.Task;

    /// <summary>Starts listening to the caller's token; call it before the request is queued (and could be taken).</summary>
    public void ListenForCancellation()
    {
        if (CancellationToken.CanBeCanceled)
        {
            _registration = CancellationToken.UnsafeRegister(static state => ((PostgreSqlQueuedRequest<TResult>)state!).TryCancel(), this);
        }
    }

    /// <summary>Takes the request into a batch, unless it was cancelled first.</summary>
    public bool TryTake()
    {
        if (Interlocked.CompareExchange(ref _state, Taken, Queued) != Queued)
        {
            return false;
        }

        _registration.Dispose();
        return true;
    }

    public virtual void Complete(TResult result) => _completion.TrySetResult(result);

    public void Fail(Exception exception) => _completion.TrySetException(exception);

    private void TryCancel()
    {
        if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
        {
            _completion.TrySetCanceled(CancellationToken);
        }
    }
}
