using System.Net.Http.Headers;
using System.Text.Json;
using IdentityReconciliation.Providers.Diagnostics;
using IdentityReconciliation.Providers.Internal;

namespace IdentityReconciliation.Providers.Cm;

/// <summary>
/// A typed client for CM.com Mobile Identity — Identity Match:
/// <c>POST {BaseAddress}/mobile-identity/v1/identity-match</c>. Register it with
/// <c>services.AddCmIdentityMatch(...)</c> and resolve it, or <see cref="IIdentityMatchProvider"/>, from DI.
/// </summary>
/// <remarks>
/// Every attempt waits its turn under the per-credential rate limit
/// (<see cref="CmIdentityMatchOptions.MinimumRequestInterval"/>), carries a current bearer token, and runs through the
/// resilience pipeline of <see cref="CmIdentityMatchOptions.Resilience"/>. Thread-safe.
/// </remarks>
public sealed class CmIdentityMatchClient : IIdentityMatchProvider
{
    /// <summary>The provider name in results, exceptions, logs and metrics.</summary>
    public const string ProviderName = "CM.com";

    private const string CredentialsHint =
        "Check CmIdentityMatchOptions.KeyId and Secret (or Token/TokenProvider), that Identity Match is enabled for these credentials, " +
        "and (for minted JWTs) that this machine's clock is correct.";

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    private readonly HttpClient _httpClient;
    private readonly ProviderRuntime<CmIdentityMatchClient> _runtime;
    private readonly CmServiceType _defaultServiceType;

    internal CmIdentityMatchClient(HttpClient httpClient, ProviderRuntime<CmIdentityMatchClient> runtime, CmServiceType defaultServiceType)
    {
        _httpClient = httpClient;
        _runtime = runtime;
        _defaultServiceType = defaultServiceType;
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
    /// <exception cref="IdentityMatchProviderUnavailableException">Failures outlasted the resilience policy, or the circuit is open.</exception>
    /// <exception cref="IdentityMatchInvalidResponseException">The answer could not be read.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<CmIdentityMatchResponse> IdentityMatchAsync(IdentityMatchQuery query, CancellationToken cancellationToken = default) =>
        IdentityMatchAsync(query, _defaultServiceType, cancellationToken);

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
    /// <exception cref="IdentityMatchProviderUnavailableException">Failures outlasted the resilience policy, or the circuit is open.</exception>
    /// <exception cref="IdentityMatchInvalidResponseException">The answer could not be read.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<CmIdentityMatchResponse> IdentityMatchAsync(
        IdentityMatchQuery query, CmServiceType serviceType, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (!Enum.IsDefined(serviceType))
        {
            throw new ArgumentOutOfRangeException(nameof(serviceType), serviceType, "Unknown CM.com service type.");
        }

        var body = BuildBody(query, serviceType);

        using var scope = ProviderCallScope.Start(_runtime);
        var tracker = new AttemptTracker();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("mobile-identity/v1/identity-match", UriKind.Relative));
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = JsonContentType;
            request.Options.Set(AttemptTracker.Key, tracker);

            var response = await ProviderHttp.SendAsync(_httpClient, request, tracker, _runtime, cancellationToken).ConfigureAwait(false);
            if (ProviderHttp.ErrorFor(ProviderName, response, tracker.Attempts, CredentialsHint) is { } error)
            {
                throw error;
            }

            var result = Parse(response, serviceType, _runtime.Logger);
            scope.Completed(result.Outcome, result.State, tracker.Attempts);
            return result;
        }
        catch (Exception exception) when (scope.Failed(exception, tracker))
        {
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<IdentityMatchResult> MatchAsync(IdentityMatchQuery query, CancellationToken cancellationToken = default)
    {
        var response = await IdentityMatchAsync(query, cancellationToken).ConfigureAwait(false);
        return ToResult(response, _runtime.MatchThreshold);
    }

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
        };

        void Add(IdentityMatchField field, int? score) => fields[field] = IdentityMatchFieldScore.Create(score, threshold);

        static int? FromBool(bool? matched) => matched switch
        {
            true => 100,
            false => 0,
            null => null,
        };
    }

    /// <exception cref="ArgumentException">The phone number is not E.164 with <c>+</c>, or no field to compare.</exception>
    internal static byte[] BuildBody(IdentityMatchQuery query, CmServiceType serviceType)
    {
        var phone = "+" + PhoneNumbers.ToE164Digits(query.PhoneNumber, requirePlus: true, nameof(query));
        var fields = new (string Name, string? Value)[]
        {
            ("firstName", IdentityMatchQuery.Clean(query.FirstName)),
            ("lastName", IdentityMatchQuery.Clean(query.LastName)),
            ("address", IdentityMatchQuery.Clean(query.Address)),
            ("address2", IdentityMatchQuery.Clean(query.Address2)),
            ("address3", IdentityMatchQuery.Clean(query.Address3)),
            ("postalCode", IdentityMatchQuery.Clean(query.PostalCode)),
            ("dateOfBirth", query.DateOfBirth is { } dateOfBirth ? IdentityMatchQuery.Format(dateOfBirth) : null),
        };

        if (fields.All(field => field.Value is null))
        {
            throw new ArgumentException(
                "The query has no field CM.com can compare: set at least one of FirstName, LastName, Address, Address2, Address3, PostalCode or DateOfBirth.",
                nameof(query));
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, ProviderJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("phoneNumber", phone);
            writer.WriteString("serviceType", serviceType == CmServiceType.Match ? "match" : "score");
            foreach (var (name, value) in fields)
            {
                if (value is not null)
                {
                    writer.WriteString(name, value);
                }
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    internal static CmIdentityMatchResponse Parse(ProviderHttpResponse response, CmServiceType serviceType, Microsoft.Extensions.Logging.ILogger logger)
    {
        try
        {
            using var document = JsonDocument.Parse(response.Body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new IdentityMatchInvalidResponseException(
                    ProviderName, "CM.com's answer is not a JSON object.", response.StatusCode, null);
            }

            var state = ProviderJson.Text(ProviderJson.Property(root, "state"));
            var parsed = new CmIdentityMatchResponse
            {
                ServiceType = serviceType,
                State = state,
                Outcome = IdentityMatchOutcome.Compared,
                FirstNameMatch = ProviderJson.Boolean(ProviderJson.Property(root, "firstNameMatch")),
                LastNameMatch = ProviderJson.Boolean(ProviderJson.Property(root, "lastNameMatch")),
                NameMatch = ProviderJson.Boolean(ProviderJson.Property(root, "nameMatch")),
                AddressMatch = ProviderJson.Boolean(ProviderJson.Property(root, "addressMatch")),
                PostalCodeMatch = ProviderJson.Boolean(ProviderJson.Property(root, "postalCodeMatch")),
                DateOfBirthMatch = ProviderJson.Boolean(ProviderJson.Property(root, "dateOfBirthMatch")),
                FirstNameScore = ProviderJson.Score(ProviderJson.Property(root, "firstNameScore")),
                LastNameScore = ProviderJson.Score(ProviderJson.Property(root, "lastNameScore")),
                NameScore = ProviderJson.Score(ProviderJson.Property(root, "nameScore")),
                AddressScore = ProviderJson.Score(ProviderJson.Property(root, "addressScore")),
                PostalCodeScore = ProviderJson.Score(ProviderJson.Property(root, "postalCodeScore")),
                DateOfBirthScore = ProviderJson.Score(ProviderJson.Property(root, "dateOfBirthScore")),
            };

            return parsed with { Outcome = OutcomeOf(parsed, logger) };
        }
        catch (Exception exception) when (exception is JsonException or FormatException)
        {
            throw new IdentityMatchInvalidResponseException(
                ProviderName, "CM.com's answer is not the expected JSON.", response.StatusCode, exception);
        }
    }

    private static IdentityMatchOutcome OutcomeOf(CmIdentityMatchResponse response, Microsoft.Extensions.Logging.ILogger logger)
    {
        var state = new string((response.State ?? "success").Where(char.IsLetter).Select(char.ToLowerInvariant).ToArray());
        switch (state)
        {
            case "success" or "ok" or "completed":
                var anyField = response.ServiceType == CmServiceType.Match
                    ? new[] { response.FirstNameMatch, response.LastNameMatch, response.NameMatch, response.AddressMatch, response.PostalCodeMatch, response.DateOfBirthMatch }
                        .Any(value => value is not null)
                    : new[] { response.FirstNameScore, response.LastNameScore, response.NameScore, response.AddressScore, response.PostalCodeScore, response.DateOfBirthScore }
                        .Any(value => value is not null);
                return anyField ? IdentityMatchOutcome.Compared : IdentityMatchOutcome.NoData;
            case "nodata" or "notfound" or "noinformation" or "unknownsubscriber":
                return IdentityMatchOutcome.NoData;
            case "outofcoverage" or "notcovered" or "notsupported" or "unsupported" or "unsupportedoperator":
                return IdentityMatchOutcome.OutOfCoverage;
            case "notapplicable":
                return IdentityMatchOutcome.NotApplicable;
            default:
                Log.UnknownCmState(logger, response.State!);
                return IdentityMatchOutcome.NoData;
        }
    }
}
