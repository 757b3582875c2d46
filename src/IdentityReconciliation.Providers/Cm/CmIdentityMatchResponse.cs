namespace IdentityReconciliation.Providers.Cm;

/// <summary>CM.com's answer to an Identity Match request, with the CM-only details.</summary>
/// <remarks>
/// In <see cref="CmServiceType.Match"/> mode the <c>…Match</c> properties are set; in
/// <see cref="CmServiceType.Score"/> mode the <c>…Score</c> properties are. <see langword="null"/> means CM.com had
/// nothing to compare (<c>null</c>, <c>-1</c> or missing).
/// </remarks>
public sealed record CmIdentityMatchResponse
{
    /// <summary>The service type that was asked for.</summary>
    public required CmServiceType ServiceType { get; init; }

    /// <summary>CM.com's <c>state</c>, e.g. <c>success</c>, if it sent one.</summary>
    public string? State { get; init; }

    /// <summary>CM.com's reference for the call (a request-id header of the answer), when it sent one.</summary>
    public string? ReferenceId { get; init; }

    /// <summary>The outcome that <see cref="State"/> and the fields stand for.</summary>
    public required IdentityMatchOutcome Outcome { get; init; }

    /// <summary>Whether the first name matched (<c>match</c> mode).</summary>
    public bool? FirstNameMatch { get; init; }

    /// <summary>Whether the last name matched (<c>match</c> mode).</summary>
    public bool? LastNameMatch { get; init; }

    /// <summary>Whether the full name matched (<c>match</c> mode).</summary>
    public bool? NameMatch { get; init; }

    /// <summary>Whether the address matched (<c>match</c> mode).</summary>
    public bool? AddressMatch { get; init; }

    /// <summary>Whether the postal code matched (<c>match</c> mode).</summary>
    public bool? PostalCodeMatch { get; init; }

    /// <summary>Whether the date of birth matched (<c>match</c> mode).</summary>
    public bool? DateOfBirthMatch { get; init; }

    /// <summary>The first-name score, 0–100 (<c>score</c> mode).</summary>
    public int? FirstNameScore { get; init; }

    /// <summary>The last-name score, 0–100 (<c>score</c> mode).</summary>
    public int? LastNameScore { get; init; }

    /// <summary>The full-name score, 0–100 (<c>score</c> mode).</summary>
    public int? NameScore { get; init; }

    /// <summary>The address score, 0–100 (<c>score</c> mode).</summary>
    public int? AddressScore { get; init; }

    /// <summary>The postal-code score, 0–100 (<c>score</c> mode).</summary>
    public int? PostalCodeScore { get; init; }

    /// <summary>The date-of-birth score, 0–100 (<c>score</c> mode).</summary>
    public int? DateOfBirthScore { get; init; }
}
