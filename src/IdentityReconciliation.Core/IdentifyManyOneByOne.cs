using System.Runtime.CompilerServices;

namespace IdentityReconciliation;

/// <summary>
/// The default implementation of <see cref="IIdentityReconciler.IdentifyManyAsync(IAsyncEnumerable{IdentifyRequest}, CancellationToken)"/>
/// for reconcilers other than <see cref="IdentityReconciler"/>: one <see cref="IIdentityReconciler.IdentifyDetailedAsync"/> per
/// request; and the adapter of a synchronous sequence.
/// </summary>
internal static class IdentifyManyOneByOne
{
    public static IAsyncEnumerable<IdentifyManyResult> RunAsync(IIdentityReconciler reconciler, IAsyncEnumerable<IdentifyRequest> requests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        return Iterate(reconciler, requests, cancellationToken);

        static async IAsyncEnumerable<IdentifyManyResult> Iterate(
            IIdentityReconciler reconciler,
            IAsyncEnumerable<IdentifyRequest> requests,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            long index = 0;
            await foreach (var request in requests.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                IdentifyManyResult result;
                if (request is null)
                {
                    result = IdentifyManyResult.Failure(index, NullRequest());
                }
                else
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    try
                    {
                        result = IdentifyManyResult.Success(index, await reconciler.IdentifyDetailedAsync(request, cancellationToken).ConfigureAwait(false));
                    }
                    catch (InvalidIdentifyRequestException ex)
                    {
                        result = IdentifyManyResult.Failure(index, ex);
                    }
                }

                index++;
                yield return result;
            }
        }
    }

    /// <summary>The error of a <see langword="null"/> element of the sequence.</summary>
    public static ArgumentNullException NullRequest() => new("request", "The request is null.");

    /// <summary>A synchronous sequence as an asynchronous one, read on the caller's thread.</summary>
    public static IAsyncEnumerable<T> ToAsync<T>(IEnumerable<T> source) => new SyncSequence<T>(source);

    private sealed class SyncSequence<T>(IEnumerable<T> source) : IAsyncEnumerable<T>
    {
        public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) => new Enumerator(source.GetEnumerator(), cancellationToken);

        private sealed class Enumerator(IEnumerator<T> inner, CancellationToken cancellationToken) : IAsyncEnumerator<T>
        {
            public T Current => inner.Current;

            public ValueTask<bool> MoveNextAsync()
            {
                cancellationToken.ThrowIfCancellationRequested();
                return ValueTask.FromResult(inner.MoveNext());
            }

            public ValueTask DisposeAsync()
            {
                inner.Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
