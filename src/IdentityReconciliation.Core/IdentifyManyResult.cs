using System.Diagnostics.CodeAnalysis;

namespace IdentityReconciliation;

/// <summary>
/// What <see cref="IIdentityReconciler.IdentifyManyAsync(IAsyncEnumerable{IdentifyRequest}, CancellationToken)"/> did with one
/// request of the sequence: its <see cref="Result"/>, or the <see cref="Error"/> that made it a bad row.
/// </summary>
/// <remarks>Exactly one of <see cref="Result"/> and <see cref="Error"/> is set; <see cref="Succeeded"/> says which.</remarks>
public sealed record IdentifyManyResult
{
    private IdentifyManyResult(long index, IdentifyResult? result, ArgumentException? error)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Index = index;
        Result = result;
        Error = error;
    }

    /// <summary>The position of the request in the sequence, from 0. Results arrive in this order, one per request.</summary>
    public long Index { get; }

    /// <summary>
    /// What the request did, exactly as <see cref="IIdentityReconciler.IdentifyDetailedAsync"/> reports it; <see langword="null"/>
    /// when the request was a bad row.
    /// </summary>
    public IdentifyResult? Result { get; }

    /// <summary>
    /// Why the request was a bad row, which wrote nothing: an <see cref="InvalidIdentifyRequestException"/> (no identifier, a
    /// malformed one, or every identifier blocked), or an <see cref="ArgumentNullException"/> for a <see langword="null"/>
    /// request. <see langword="null"/> when the request was applied. The message never repeats a value.
    /// </summary>
    public ArgumentException? Error { get; }

    /// <summary>Whether the request was applied (<see cref="Result"/> is set) rather than rejected (<see cref="Error"/> is set).</summary>
    [MemberNotNullWhen(true, nameof(Result))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Succeeded => Error is null;

    /// <summary>The result of a request that was applied.</summary>
    /// <param name="index">The position of the request in the sequence, from 0.</param>
    /// <param name="result">What the request did.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="result"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public static IdentifyManyResult Success(long index, IdentifyResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new IdentifyManyResult(index, result, null);
    }

    /// <summary>The result of a bad row.</summary>
    /// <param name="index">The position of the request in the sequence, from 0.</param>
    /// <param name="error">Why it was rejected.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="error"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public static IdentifyManyResult Failure(long index, ArgumentException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new IdentifyManyResult(index, null, error);
    }
}
