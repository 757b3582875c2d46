using System.Globalization;
using System.Text.Json;
using IdentityReconciliation.Providers.Internal;

namespace IdentityReconciliation.Providers.Telesign;

/// <summary>
/// A client for Telesign Phone ID with the Contact Match add-on: <c>POST {BaseAddress}/v1/phoneid/{phone}</c>. Register
/// it with <c>services.AddTelesignContactMatch(...)</c> and resolve it, or <see cref="IIdentityMatchProvider"/>, from DI
/// (keyed by name for a named registration).
/// </summary>
/// <remarks>
/// Every call runs through the resilience pipeline of <see cref="TelesignContactMatchOptions.Resilience"/>, and every
/// attempt is signed afresh. Thread-safe.
/// </remarks>
public sealed class TelesignContactMatchClient : IIdentityMatchProvider
{
    /// <summary>The provider name in results, exceptions, logs and metrics.</summary>
    public const string ProviderName = "Telesign";

    private readonly ProviderClient _client;
    private readonly int _threshold;

    internal TelesignContactMatchClient(ProviderClient client, int threshold)
    {
        _client = client;
        _threshold = threshold;
    }

    /// <inheritdoc />
    public string Name => ProviderName;

    /// <summary>Asks Telesign Contact Match about <paramref name="query"/> and returns Telesign's answer in full.</summary>
    /// <param name="query">
    /// The phone number (with or without <c>+</c>; sent as digits) and the fields to compare: first and last name,
    /// address (the address lines joined), city, state, postal code, country and date of birth.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The scores and status; statuses 2803, 2804 and 2805 are outcomes, not exceptions.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The phone number is not E.164, or the query has no field to compare.</exception>
    /// <exception cref="IdentityMatchConfigurationException">HTTP 401/402/403, or status 2806 (not enabled) or 2812 (transaction cap).</exception>
    /// <exception cref="IdentityMatchInvalidQueryException">HTTP 400, 404 or 422, or status 2801, 2807 or 2808.</exception>
    /// <exception cref="IdentityMatchProviderUnavailableException">
    /// A failure that is not retried, retries used up, the circuit is open, or status 2802, 2810 or 2811.
    /// </exception>
    /// <exception cref="IdentityMatchInvalidResponseException">The answer could not be read, or its status is unknown.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<TelesignContactMatchResponse> ContactMatchAsync(IdentityMatchQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var phoneDigits = query.PhoneDigits(requirePlus: false, nameof(query));
        return _client.PostJsonAsync("v1/phoneid/" + phoneDigits, BuildBody(query), query, Parse, response => ToResult(response, _threshold), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IdentityMatchResult> MatchAsync(IdentityMatchQuery query, CancellationToken cancellationToken = default) =>
        ToResult(await ContactMatchAsync(query, cancellationToken).ConfigureAwait(false), _threshold);

    internal static IdentityMatchResult ToResult(TelesignContactMatchResponse response, int threshold) => new()
    {
        Provider = ProviderName,
        Outcome = response.Outcome,
        Threshold = threshold,
        Fields = response.Outcome != IdentityMatchOutcome.Compared ? new Dictionary<IdentityMatchField, IdentityMatchFieldScore>() : new Dictionary<IdentityMatchField, IdentityMatchFieldScore>
        {
            [IdentityMatchField.FirstName] = IdentityMatchFieldScore.Create(response.FirstNameScore, threshold),
            [IdentityMatchField.LastName] = IdentityMatchFieldScore.Create(response.LastNameScore, threshold),
            [IdentityMatchField.Address] = IdentityMatchFieldScore.Create(response.AddressScore, threshold),
            [IdentityMatchField.DateOfBirth] = IdentityMatchFieldScore.Create(response.DateOfBirthScore, threshold),
        },
        ProviderStatus = response.StatusCode.ToString(CultureInfo.InvariantCulture),
        ReferenceId = response.ReferenceId,
    };

    /// <summary>The JSON body with only the fields given, e.g. <c>{"addons":{"contact_match":{"first_name":"J"}}}</c>.</summary>
    /// <exception cref="ArgumentException">No field to compare.</exception>
    internal static byte[] BuildBody(IdentityMatchQuery query)
    {
        var address = string.Join(", ", new[] { query.Address, query.Address2, query.Address3 }.Select(IdentityMatchQuery.Clean).OfType<string>());
        var fields = new TelesignContactMatchFields(
            IdentityMatchQuery.Clean(query.FirstName),
            IdentityMatchQuery.Clean(query.LastName),
            address.Length == 0 ? null : address,
            IdentityMatchQuery.Clean(query.City),
            IdentityMatchQuery.Clean(query.PostalCode),
            IdentityMatchQuery.Clean(query.State),
            IdentityMatchQuery.Clean(query.Country),
            query.DateOfBirth is { } dateOfBirth ? IdentityMatchQuery.Format(dateOfBirth) : null);
        if (fields == new TelesignContactMatchFields(null, null, null, null, null, null, null, null))
        {
            throw new ArgumentException(
                "The query has no field to compare: set at least one of FirstName, LastName, Address, City, State, PostalCode, Country or DateOfBirth.",
                nameof(query));
        }

        return JsonSerializer.SerializeToUtf8Bytes(new TelesignRequest(new TelesignAddons(fields)), ProviderJson.Relaxed.TelesignRequest);
    }

    /// <summary>
    /// Reads Telesign's answer and classifies its Contact Match status, per Telesign's published status codes: 2800
    /// compared; 2803, 2804, 2805 outcomes; 2801, 2807, 2808 invalid query; 2806 not enabled and 2812 transaction cap
    /// (configuration); 2802, 2810, 2811 unavailable (not retried: Telesign processed the request); anything else an
    /// invalid response.
    /// </summary>
    internal static TelesignContactMatchResponse Parse(ProviderAnswer answer)
    {
        TelesignAnswer? body;
        try
        {
            body = JsonSerializer.Deserialize(answer.Body, ProviderJson.Relaxed.TelesignAnswer);
        }
        catch (JsonException exception)
        {
            throw new IdentityMatchInvalidResponseException(ProviderName, "Telesign's answer is not the expected JSON.", answer.Details(), exception);
        }

        var reference = body?.ReferenceId ?? answer.ReferenceId;
        if (body?.ContactMatch is not { } contactMatch)
        {
            throw new IdentityMatchInvalidResponseException(
                ProviderName, "Telesign's answer has no contact_match block: check that the Contact Match add-on is enabled for the customer ID.", answer.Details(null, reference));
        }

        if (!int.TryParse(contactMatch.Status?.Code, NumberStyles.Integer, CultureInfo.InvariantCulture, out var status))
        {
            throw new IdentityMatchInvalidResponseException(ProviderName, "Telesign's contact_match block has no status code.", answer.Details(null, reference));
        }

        var details = answer.Details(status.ToString(CultureInfo.InvariantCulture), reference);
        var outcome = status switch
        {
            2800 => IdentityMatchOutcome.Compared,
            2803 => IdentityMatchOutcome.OutOfCoverage,
            2804 => IdentityMatchOutcome.NotApplicable,
            2805 => IdentityMatchOutcome.NoData,
            2801 or 2807 or 2808 => throw new IdentityMatchInvalidQueryException(
                ProviderName, $"Telesign rejected the Contact Match parameters (status {status}: {Describe(status)}).", details),
            2806 => throw new IdentityMatchConfigurationException(
                ProviderName, "Telesign Contact Match is not enabled for this customer ID (status 2806): ask Telesign to enable the Contact Match add-on, or remove the Telesign provider.", details),
            2812 => throw new IdentityMatchConfigurationException(
                ProviderName, "The account's Telesign transaction cap is exceeded (status 2812): raise the cap with Telesign, or wait until it resets.", details),
            2802 or 2810 or 2811 => throw new IdentityMatchProviderUnavailableException(
                ProviderName, $"Telesign Contact Match could not answer (status {status}: {Describe(status)}). Telesign processed the request, so it is not retried automatically.", details),
            _ => throw new IdentityMatchInvalidResponseException(ProviderName, $"Telesign returned the unrecognised Contact Match status {status}.", details),
        };

        return new TelesignContactMatchResponse
        {
            ReferenceId = reference,
            PhoneType = body.PhoneType?.Description ?? body.PhoneType?.Code,
            StatusCode = status,
            StatusDescription = contactMatch.Status?.Description,
            Outcome = outcome,
            FirstNameScore = contactMatch.FirstNameScore,
            LastNameScore = contactMatch.LastNameScore,
            AddressScore = contactMatch.AddressScore,
            DateOfBirthScore = contactMatch.DateOfBirthScore,
        };
    }

    private static string Describe(int status) => status switch
    {
        2801 => "invalid add-ons parameter",
        2802 => "add-on temporarily unavailable",
        2807 => "invalid parameters",
        2808 => "missing parameter",
        2810 => "data collection failed",
        _ => "temporarily unavailable",
    };
}
