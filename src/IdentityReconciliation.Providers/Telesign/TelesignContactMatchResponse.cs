namespace IdentityReconciliation.Providers.Telesign;

/// <summary>Telesign's answer to a Contact Match request, with the Telesign-only details.</summary>
public sealed record TelesignContactMatchResponse
{
    /// <summary>Telesign's transaction reference (<c>reference_id</c>).</summary>
    public string? ReferenceId { get; init; }

    /// <summary>The phone type Telesign reports (<c>phone_type</c> description, e.g. <c>MOBILE</c>), if any.</summary>
    public string? PhoneType { get; init; }

    /// <summary>
    /// The Contact Match status code: 2800 success, 2803 out of coverage, 2804 not applicable, 2805 no
    /// information; the other codes are exceptions.
    /// </summary>
    public required int StatusCode { get; init; }

    /// <summary>Telesign's description of <see cref="StatusCode"/>.</summary>
    public string? StatusDescription { get; init; }

    /// <summary>The outcome that <see cref="StatusCode"/> stands for.</summary>
    public required IdentityMatchOutcome Outcome { get; init; }

    /// <summary>The first-name score, 0–100, or <see langword="null"/> when not available (-1, null, "None" or missing).</summary>
    public int? FirstNameScore { get; init; }

    /// <summary>The last-name score, 0–100, or <see langword="null"/> when not available.</summary>
    public int? LastNameScore { get; init; }

    /// <summary>The address score, 0–100, or <see langword="null"/> when not available.</summary>
    public int? AddressScore { get; init; }

    /// <summary>The date-of-birth score, 0–100, or <see langword="null"/> when not available.</summary>
    public int? DateOfBirthScore { get; init; }
}
