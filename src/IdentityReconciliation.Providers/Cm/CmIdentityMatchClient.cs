using System.Text.Json;
using IdentityReconciliation.Providers.Internal;

namespace IdentityReconciliation.Providers.Cm;

/// <summary>
/// A client for CM.com Mobile Identity — Identity Match: <c>POST {BaseAddress}/identity-match</c>. Register it with
/// <c>services.AddCmIdentityMatch(...)</c> and resolve it, or <see cref="IIdentityMatchProvider"/>, from DI (keyed by
/// name for a named registration).
/// </summary>
/// <remarks>
/// Every attempt waits its turn under the rate limit (<see cref="CmIdentityMatchOptions.MinimumRequestInterval"/> or
/// the host's <see cref="CmIdentityMatchOptions.RateLimiter"/>), carries a current bearer token, and runs through the
/// resilience pipeline of <see cref="CmIdentityMatchOptions.Resilience"/>. Thread-safe.
/// </remarks>
public sealed class CmIdentityMatchClient : IIdentityMatchProvider
{
    /// <summary>The provider name in results, exceptions, logs and metrics.</summary>
    public const string ProviderName = "CM.com";

    private readonly ProviderClient _client;
    private readonly CmIdentityMatchOptions _options;

    internal CmIdentityMatchClient(ProviderClient client, CmIdentityMatchOptions options)
    {
        _client = client;
        _options = options;
    }

    /// <inheritdoc />
    public string Name => ProviderName;

    /// <summary>
    /// Asks CM.com Identity Match about <paramref name="query"/> with the configured
    /// <see cref="CmIdentityMatchOptions.ServiceType"/>.
    /// </summary>
    /// <param name="query">
    /// The phone number (E.164 with <c>+</c>, checked before sending) and the fields to compare: first and last name,
    /// address lines 1–3, postal code and date of birth. City, state and country are not sent.
    /// </param>
    /// <param name="cancellationToken">Cancels the call, including a wait in the rate-limit queue.</param>
    /// <returns>CM.com's answer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The phone number is not E.164 with <c>+</c>, or there is no field to compare.</exception>
    /// <exception cref="IdentityMatchConfigurationException">HTTP 401, 402 or 403, or an empty token from the callback.</exception>
    /// <exception cref="IdentityMatchInvalidQueryException">HTTP 400, 404 or 422.</exception>
    /// <exception cref="IdentityMatchProviderUnavailableException">A failure that is not retried, retries used up, the circuit is open, or the host's rate limiter refused.</exception>
    /// <exception cref="IdentityMatchInvalidResponseException">The answer could not be read, or its state is unknown.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<CmIdentityMatchResponse> IdentityMatchAsync(IdentityMatchQuery query, CancellationToken cancellationToken = default) =>
        IdentityMatchAsync(query, _options.ServiceType, cancellationToken);

    /// <summary>Asks CM.com Identity Match about <paramref name="query"/> with <paramref name="serviceType"/>.</summary>
    /// <param name="query">The phone number (E.164 with <c>+</c>) and the fields to compare.</param>
    /// <param name="serviceType">Whether to ask for <c>match</c> (true/false) or <c>score</c> (0–100).</param>
    /// <param name="cancellationToken">Cancels the call, including a wait in the rate-limit queue.</param>
    /// <returns>CM.com's answer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="serviceType"/> is not defined.</exception>
    /// <exception cref="ArgumentException">The phone number is not E.164 with <c>+</c>, or there is no field to compare.</exception>
    /// <exception cref="IdentityMatchConfigurationException">HTTP 401, 402 or 403, or an empty token from the callback.</exception>
    /// <exception cref="IdentityMatchInvalidQueryException">HTTP 400, 404 or 422.</exception>
    /// <exception cref="IdentityMatchProviderUnavailableException">A failure that is not retried, retries used up, the circuit is open, or the host's rate limiter refused.</exception>
    /// <exception cref="IdentityMatchInvalidResponseException">The answer could not be read, or its state is unknown.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<CmIdentityMatchResponse> IdentityMatchAsync(IdentityMatchQuery query, CmServiceType serviceType, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (!Enum.IsDefined(serviceType))
        {
            throw new ArgumentOutOfRangeException(nameof(serviceType), serviceType, "Unknown CM.com service type.");
        }

        var path = _options.BaseAddress.AbsolutePath.Trim('/').Length == 0 ? "mobile-identity/v1/identity-match" : "identity-match";
        return _client.PostJsonAsync(
            path, BuildBody(query, serviceType), query, answer => Parse(answer, serviceType), response => ToResult(response, _options.MatchThreshold), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IdentityMatchResult> MatchAsync(IdentityMatchQuery query, CancellationToken cancellationToken = default) =>
        ToResult(await IdentityMatchAsync(query, cancellationToken).ConfigureAwait(false), _options.MatchThreshold);

    internal static IdentityMatchResult ToResult(CmIdentityMatchResponse response, int threshold)
    {
        var fields = new Dictionary<IdentityMatchField, IdentityMatchFieldScore>();
        if (response.Outcome == IdentityMatchOutcome.Compared)
        {
            var match = response.ServiceType == CmServiceType.Match;
            Add(IdentityMatchField.FirstName, match ? FromBool(response.FirstNameMatch) : response.FirstNameScore);
            Add(IdentityMatchField.LastName, match ? FromBool(response.LastNameMatch) : response.LastNameScore);
            Add(IdentityMatchField.FullName, match ? FromBool(response.NameMatch) : response.NameScore);
            Add(IdentityMatchField.Address, match ? FromBool(response.AddressMatch) : response.AddressScore);
            Add(IdentityMatchField.PostalCode, match ? FromBool(response.PostalCodeMatch) : response.PostalCodeScore);
            Add(IdentityMatchField.DateOfBirth, match ? FromBool(response.DateOfBirthMatch) : response.DateOfBirthScore);
        }

        return new IdentityMatchResult
        {
            Provider = ProviderName,
            Outcome = response.Outcome,
            Threshold = threshold,
            Fields = fields,
            ProviderStatus = response.State,
            ReferenceId = response.ReferenceId,
        };

        void Add(IdentityMatchField field, int? score) => fields[field] = IdentityMatchFieldScore.Create(score, threshold);

        static int? FromBool(bool? matched) => matched is { } value ? (value ? 100 : 0) : null;
    }

    /// <exception cref="ArgumentException">The phone number is not E.164 with <c>+</c>, or no field to compare.</exception>
    internal static byte[] BuildBody(IdentityMatchQuery query, CmServiceType serviceType)
    {
        var phone = "+" + query.PhoneDigits(requirePlus: true, nameof(query));
        var request = new CmRequest(
            phone,
            serviceType == CmServiceType.Match ? "match" : "score",
            IdentityMatchQuery.Clean(query.FirstName),
            IdentityMatchQuery.Clean(query.LastName),
            IdentityMatchQuery.Clean(query.Address),
            IdentityMatchQuery.Clean(query.Address2),
            IdentityMatchQuery.Clean(query.Address3),
            IdentityMatchQuery.Clean(query.PostalCode),
            query.DateOfBirth is { } dateOfBirth ? IdentityMatchQuery.Format(dateOfBirth) : null);
        if (request == new CmRequest(phone, request.ServiceType, null, null, null, null, null, null, null))
        {
            throw new ArgumentException(
                "The query has no field CM.com can compare: set at least one of FirstName, LastName, Address, Address2, Address3, PostalCode or DateOfBirth.",
                nameof(query));
        }

        return JsonSerializer.SerializeToUtf8Bytes(request, ProviderJson.Relaxed.CmRequest);
    }

    /// <summary>
    /// Reads CM.com's answer. <c>success</c> (the state CM.com documents) is compared, or no data when no field came
    /// back; the no-data, out-of-coverage and not-applicable spellings below are outcomes too; any other state is an
    /// invalid response, never a silent "no data".
    /// </summary>
    internal static CmIdentityMatchResponse Parse(ProviderAnswer answer, CmServiceType serviceType)
    {
        CmAnswer body;
        try
        {
            body = JsonSerializer.Deserialize(answer.Body, ProviderJson.Relaxed.CmAnswer)
                ?? throw new JsonException("CM.com's answer is not a JSON object.");
        }
        catch (JsonException exception)
        {
            throw new IdentityMatchInvalidResponseException(ProviderName, "CM.com's answer is not the expected JSON.", answer.Details(), exception);
        }

        var response = new CmIdentityMatchResponse
        {
            ServiceType = serviceType,
            State = body.State,
            ReferenceId = answer.ReferenceId,
            Outcome = IdentityMatchOutcome.Compared,
            FirstNameMatch = body.FirstNameMatch,
            LastNameMatch = body.LastNameMatch,
            NameMatch = body.NameMatch,
            AddressMatch = body.AddressMatch,
            PostalCodeMatch = body.PostalCodeMatch,
            DateOfBirthMatch = body.DateOfBirthMatch,
            FirstNameScore = body.FirstNameScore,
            LastNameScore = body.LastNameScore,
            NameScore = body.NameScore,
            AddressScore = body.AddressScore,
            PostalCodeScore = body.PostalCodeScore,
            DateOfBirthScore = body.DateOfBirthScore,
        };
        bool?[] values = serviceType == CmServiceType.Match
            ? [body.FirstNameMatch, body.LastNameMatch, body.NameMatch, body.AddressMatch, body.PostalCodeMatch, body.DateOfBirthMatch]
            : [body.FirstNameScore is not null, body.LastNameScore is not null, body.NameScore is not null, body.AddressScore is not null, body.PostalCodeScore is not null, body.DateOfBirthScore is not null];
        var anyField = serviceType == CmServiceType.Match ? values.Any(value => value is not null) : values.Any(value => value == true);
        var outcome = new string((body.State ?? "success").Where(char.IsLetter).Select(char.ToLowerInvariant).ToArray()) switch
        {
            "success" or "ok" or "completed" => anyField ? IdentityMatchOutcome.Compared : IdentityMatchOutcome.NoData,
            "nodata" or "notfound" or "noinformation" or "unknownsubscriber" => IdentityMatchOutcome.NoData,
            "outofcoverage" or "notcovered" or "notsupported" or "unsupported" or "unsupportedoperator" => IdentityMatchOutcome.OutOfCoverage,
            "notapplicable" => IdentityMatchOutcome.NotApplicable,
            _ => throw new IdentityMatchInvalidResponseException(
                ProviderName, "CM.com answered with a state this client does not know; the answer was not read as a match.", answer.Details(body.State)),
        };
        return response with { Outcome = outcome };
    }
}
