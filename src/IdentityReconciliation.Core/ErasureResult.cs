namespace IdentityReconciliation;

/// <summary>
/// What an erasure did (<see cref="IIdentityReconciler.EraseAsync"/>, <see cref="IIdentityReconciler.ErasePersonAsync"/>):
/// the contacts it deleted, the contacts it changed, and the consolidated view of every person that remains of the
/// persons it touched. It never contains an erased value.
/// </summary>
/// <param name="ErasedContactIds">The contacts deleted, live or soft-deleted, ascending.</param>
/// <param name="ChangedContactIds">
/// The contacts kept but changed, ascending: an erased value removed from them, or a new link (to a new primary, or
/// promoted to primary) after re-resolution.
/// </param>
/// <param name="Persons">
/// The consolidated view of every person that remains of the affected persons, by ascending primary identifier; empty when
/// nothing remains or no live contact held a value.
/// </param>
public sealed record ErasureResult(
    IReadOnlyList<long> ErasedContactIds,
    IReadOnlyList<long> ChangedContactIds,
    IReadOnlyList<ContactCluster> Persons)
{
    /// <summary>The result of an erasure that found nothing to erase.</summary>
    public static ErasureResult Nothing { get; } = new([], [], []);
}
