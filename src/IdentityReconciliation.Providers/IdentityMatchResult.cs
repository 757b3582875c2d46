namespace IdentityReconciliation.Providers;

/// <summary>What a provider could say about a query.</summary>
public enum IdentityMatchOutcome
{
    /// <summary>The provider compared the query with the operator's data: see the per-field scores.</summary>
    Compared = 0,

    /// <summary>The operator has no information about this phone number (Telesign 2805; CM.com without any field).</summary>
    NoData = 1,

    /// <summary>The phone number's operator or country is not covered by the provider (Telesign 2803).</summary>
    OutOfCoverage = 2,

    /// <summary>The check does not apply to this phone number, e.g. a landline or a prepaid line (Telesign 2804).</summary>
    NotApplicable = 3,
}

/// <summary>A field that a provider can compare.</summary>
public enum IdentityMatchField
{
    /// <summary>The first (given) name.</summary>
    FirstName = 0,

    /// <summary>The last (family) name.</summary>
    LastName = 1,

    /// <summary>The full name as a whole (CM.com <c>nameMatch</c> / <c>nameScore</c>).</summary>
    FullName = 2,

    /// <summary>The address.</summary>
    Address = 3,

    /// <summary>The postal code (CM.com).</summary>
    PostalCode = 4,

    /// <summary>The date of birth.</summary>
    DateOfBirth = 5,
}

/// <summary>A provider's verdict on one field.</summary>
/// <param name="Score">
/// How well the field matched, from 0 (not at all) to 100 (exactly), or <see langword="null"/> when the provider had
/// nothing to compare. For CM.com <c>match</c> mode, <c>true</c> is 100 and <c>false</c> is 0.
/// </param>
/// <param name="Passed">
/// Whether <paramref name="Score"/> reached the configured threshold, or <see langword="null"/> when there is no score.
/// </param>
public sealed record IdentityMatchFieldScore(int? Score, bool? Passed)
{
    internal static IdentityMatchFieldScore Create(int? score, int threshold) =>
        new(score, score is { } value ? value >= threshold : null);
}

/// <summary>The answer of an <see cref="IIdentityMatchProvider"/> to an <see cref="IdentityMatchQuery"/>.</summary>
public sealed record IdentityMatchResult
{
    /// <summary>The provider that answered, e.g. <c>Telesign</c> or <c>CM.com</c>.</summary>
    public required string Provider { get; init; }

    /// <summary>Whether the provider compared the data, and if not, why.</summary>
    public required IdentityMatchOutcome Outcome { get; init; }

    /// <summary>The score (0–100) at or above which a field passes; from the provider's options.</summary>
    public required int Threshold { get; init; }

    /// <summary>
    /// The fields the provider reported on, each with its score and pass/fail. Empty unless
    /// <see cref="Outcome"/> is <see cref="IdentityMatchOutcome.Compared"/>.
    /// </summary>
    public IReadOnlyDictionary<IdentityMatchField, IdentityMatchFieldScore> Fields { get; init; } =
        new Dictionary<IdentityMatchField, IdentityMatchFieldScore>();

    /// <summary>The provider's own status, e.g. Telesign <c>2800</c> or CM.com <c>success</c>, for diagnostics.</summary>
    public string? ProviderStatus { get; init; }

    /// <summary>
    /// The provider's reference for this call, when it returns one (Telesign <c>reference_id</c>, a CM.com request-id
    /// header): quote it in a support ticket.
    /// </summary>
    public string? ReferenceId { get; init; }

    /// <summary>The score of <paramref name="field"/>, or <see langword="null"/> when the provider gave none.</summary>
    /// <param name="field">The field.</param>
    /// <returns>A score from 0 to 100, or <see langword="null"/>.</returns>
    public int? GetScore(IdentityMatchField field) => Fields.TryGetValue(field, out var score) ? score.Score : null;

    /// <summary>Whether <paramref name="field"/> reached <see cref="Threshold"/>.</summary>
    /// <param name="field">The field.</param>
    /// <returns><see langword="null"/> when the provider gave no score for the field.</returns>
    public bool? Passed(IdentityMatchField field) => Fields.TryGetValue(field, out var score) ? score.Passed : null;
}
