using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using IdentityReconciliation.Providers.Internal;

namespace IdentityReconciliation.Providers.Telesign;

/// <summary>
/// A typed client for Telesign Phone ID with the Contact Match add-on:
/// <c>POST {BaseAddress}/v1/phoneid/{phone}</c>. Register it with
/// <c>services.AddTelesignContactMatch(...)</c> and resolve it, or <see cref="IIdentityMatchProvider"/>, from DI.
/// </summary>
/// <remarks>
/// Every call runs through the resilience pipeline of <see cref="TelesignOptions.Resilience"/>, and every attempt is
/// signed afresh. Thread-safe.
/// </remarks>
public sealed class TelesignContactMatchClient : IIdentityMatchProvider
{
    /// <summary>The provider name in results, exceptions, logs and metrics.</summary>
    public const string ProviderName = "Telesign";

    private const string CredentialsHint =
        "Check TelesignOptions.CustomerId and TelesignOptions.ApiKey, that AuthenticationMethod matches what the account allows, " +
        "that Phone ID Contact Match is enabled for the customer ID, and (for HMAC) that this machine's clock is correct.";

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    private readonly HttpClient _httpClient;
    private readonly ProviderRuntime<TelesignContactMatchClient> _runtime;

    internal TelesignContactMatchClient(HttpClient httpClient, ProviderRuntime<TelesignContactMatchClient> runtime)
    {
        _httpClient = httpClient;
        _runtime = runtime;
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
    /// <exception cref="IdentityMatchConfigurationException">
    /// HTTP 401/402/403, or status 2806 (Contact Match not enabled for the customer ID).
    /// </exception>
    /// <exception cref="IdentityMatchInvalidQueryException">HTTP 400, 404 or 422.</exception>
    /// <exception cref="IdentityMatchProviderUnavailableException">
    /// Failures outlasted the resilience policy, the circuit is open, or status 2802/2811 (temporarily unavailable).
    /// </exception>
    /// <exception cref="IdentityMatchInvalidResponseException">The answer could not be read.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<TelesignContactMatchResponse> ContactMatchAsync(IdentityMatchQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var phoneDigits = PhoneNumbers.ToE164Digits(query.PhoneNumber, requirePlus: false, nameof(query));
        var body = BuildBody(query);

        using var scope = ProviderCallScope.Start(_runtime);
        var tracker = new AttemptTracker();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("v1/phoneid/" + phoneDigits, UriKind.Relative));
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = JsonContentType;
            request.Options.Set(AttemptTracker.Key, tracker);

            var response = await ProviderHttp.SendAsync(_httpClient, request, tracker, _runtime, cancellationToken).ConfigureAwait(false);
            if (ProviderHttp.ErrorFor(ProviderName, response, tracker.Attempts, CredentialsHint) is { } error)
            {
                throw error;
            }

            var result = Parse(response, tracker.Attempts);
            scope.Completed(result.Outcome, result.StatusCode.ToString(CultureInfo.InvariantCulture), tracker.Attempts);
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
        var response = await ContactMatchAsync(query, cancellationToken).ConfigureAwait(false);
        return ToResult(response, _runtime.MatchThreshold);
    }

    internal static IdentityMatchResult ToResult(TelesignContactMatchResponse response, int threshold)
    {
        var fields = new Dictionary<IdentityMatchField, IdentityMatchFieldScore>();
        if (response.Outcome == IdentityMatchOutcome.Compared)
        {
            fields[IdentityMatchField.FirstName] = IdentityMatchFieldScore.Create(response.FirstNameScore, threshold);
            fields[IdentityMatchField.LastName] = IdentityMatchFieldScore.Create(response.LastNameScore, threshold);
            fields[IdentityMatchField.Address] = IdentityMatchFieldScore.Create(response.AddressScore, threshold);
            fields[IdentityMatchField.DateOfBirth] = IdentityMatchFieldScore.Create(response.DateOfBirthScore, threshold);
        }

        return new IdentityMatchResult
        {
            Provider = ProviderName,
            Outcome = response.Outcome,
            Threshold = threshold,
            Fields = fields,
            ProviderStatus = response.StatusCode.ToString(CultureInfo.InvariantCulture),
            ReferenceId = response.ReferenceId,
        };
    }

    /// <summary>The JSON body with only the fields given, e.g. <c>{"addons":{"contact_match":{"first_name":"J"}}}</c>.</summary>
    /// <exception cref="ArgumentException">No field to compare.</exception>
    internal static byte[] BuildBody(IdentityMatchQuery query)
    {
        var address = string.Join(", ", new[] { query.Address, query.Address2, query.Address3 }
            .Select(IdentityMatchQuery.Clean)
            .Where(line => line is not null));
        var fields = new (string Name, string? Value)[]
        {
            ("first_name", IdentityMatchQuery.Clean(query.FirstName)),
            ("last_name", IdentityMatchQuery.Clean(query.LastName)),
            ("address", address.Length == 0 ? null : address),
            ("city", IdentityMatchQuery.Clean(query.City)),
            ("postal_code", IdentityMatchQuery.Clean(query.PostalCode)),
            ("state", IdentityMatchQuery.Clean(query.State)),
            ("country", IdentityMatchQuery.Clean(query.Country)),
            ("date_of_birth", query.DateOfBirth is { } dateOfBirth ? IdentityMatchQuery.Format(dateOfBirth) : null),
        };

        if (fields.All(field => field.Value is null))
        {
            throw new ArgumentException(
                "The query has no field to compare: set at least one of FirstName, LastName, Address, City, State, PostalCode, Country or DateOfBirth.",
                nameof(query));
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, ProviderJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("addons");
            writer.WriteStartObject("contact_match");
            foreach (var (name, value) in fields)
            {
                if (value is not null)
                {
                    writer.WriteString(name, value);
                }
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    internal static TelesignContactMatchResponse Parse(ProviderHttpResponse response, int attempts)
    {
        try
        {
            using var document = JsonDocument.Parse(response.Body);
            var root = document.RootElement;
            if (ProviderJson.Property(root, "contact_match") is not { ValueKind: JsonValueKind.Object } contactMatch)
            {
                throw new IdentityMatchInvalidResponseException(
                    ProviderName,
                    "Telesign's answer has no contact_match block: check that the Contact Match add-on is enabled for the customer ID.",
                    response.StatusCode,
                    null);
            }

            var status = ProviderJson.Property(contactMatch, "status");
            var statusCode = ProviderJson.Number(status is { } s ? ProviderJson.Property(s, "code") : null) is { } number
                ? (int)number
                : throw new IdentityMatchInvalidResponseException(
                    ProviderName, "Telesign's contact_match block has no status code.", response.StatusCode, null);
            var statusDescription = status is { } st ? ProviderJson.Text(ProviderJson.Property(st, "description")) : null;
            var phoneType = ProviderJson.Property(root, "phone_type") switch
            {
                { ValueKind: JsonValueKind.Object } type => ProviderJson.Text(ProviderJson.Property(type, "description")) ??
                    ProviderJson.Text(ProviderJson.Property(type, "code")),
                var type => ProviderJson.Text(type),
            };

            var outcome = statusCode switch
            {
                2800 => IdentityMatchOutcome.Compared,
                2803 => IdentityMatchOutcome.OutOfCoverage,
                2804 => IdentityMatchOutcome.NotApplicable,
                2805 => IdentityMatchOutcome.NoData,
                2806 => throw new IdentityMatchConfigurationException(
                    ProviderName,
                    "Telesign Contact Match is not enabled for this customer ID (status 2806): ask Telesign to enable the Contact Match add-on, or remove the Telesign provider.",
                    response.StatusCode,
                    "2806"),
                2802 or 2811 => throw new IdentityMatchProviderUnavailableException(
                    ProviderName,
                    string.Create(
                        CultureInfo.InvariantCulture,
                        $"Telesign Contact Match is temporarily unavailable (status {statusCode}). The request was processed by Telesign, so it is not retried automatically."),
                    null,
                    response.StatusCode,
                    statusCode.ToString(CultureInfo.InvariantCulture),
                    attempts),
                _ => throw new IdentityMatchInvalidResponseException(
                    ProviderName,
                    string.Create(CultureInfo.InvariantCulture, $"Telesign returned the unrecognised Contact Match status {statusCode}."),
                    response.StatusCode,
                    null),
            };

            return new TelesignContactMatchResponse
            {
                ReferenceId = ProviderJson.Text(ProviderJson.Property(root, "reference_id")),
                PhoneType = phoneType,
                StatusCode = statusCode,
                StatusDescription = statusDescription,
                Outcome = outcome,
                FirstNameScore = ProviderJson.Score(ProviderJson.Property(contactMatch, "first_name_score")),
                LastNameScore = ProviderJson.Score(ProviderJson.Property(contactMatch, "last_name_score")),
                AddressScore = ProviderJson.Score(ProviderJson.Property(contactMatch, "address_score")),
                DateOfBirthScore = ProviderJson.Score(ProviderJson.Property(contactMatch, "date_of_birth_score")),
            };
        }
        catch (Exception exception) when (exception is JsonException or FormatException)
        {
            throw new IdentityMatchInvalidResponseException(
                ProviderName, "Telesign's answer is not the expected JSON.", response.StatusCode, exception);
        }
    }
}
