using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using IdentityReconciliation.Providers.Diagnostics;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>A provider's answer, read in full.</summary>
internal sealed record ProviderAnswer(HttpStatusCode StatusCode, byte[] Body, string? ReferenceId, int Attempts)
{
    public IdentityMatchFailureDetails Details(string? providerStatus = null, string? referenceId = null) =>
        new(StatusCode, providerStatus, referenceId ?? ReferenceId, Attempts);
}

/// <summary>What a client needs from its registration, and what it tells the user when the credentials are refused.</summary>
internal sealed record ProviderSettings(
    string Provider, IdentityMatchResilienceOptions Resilience, string CredentialsHint, IReadOnlyList<string?> Secrets,
    TimeProvider TimeProvider, ILogger Logger, ProvidersTelemetry Telemetry);

/// <summary>
/// Sends one provider call: posts the JSON body through the registration's handlers, turns transport failures and
/// HTTP error statuses into typed exceptions (with provider text redacted), and traces, counts and logs the call.
/// </summary>
internal sealed class ProviderClient(HttpClient httpClient, ProviderSettings settings)
{
    private const string BilledHint =
        " The request may have been processed (and billed), so it is retried only with Resilience.RetryWhenPossiblyBilled.";

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    /// <summary>Response headers that may carry the provider's reference for a call, in order of preference.</summary>
    private static readonly string[] ReferenceHeaders = ["X-Request-Id", "X-Correlation-Id", "Request-Id"];

    public async Task<T> PostJsonAsync<T>(
        string path, byte[] body, IdentityMatchQuery query, Func<ProviderAnswer, T> parse, Func<T, IdentityMatchResult> describe, CancellationToken cancellationToken)
    {
        var started = settings.TimeProvider.GetTimestamp();
        using var activity = ProvidersTelemetry.CallStarting(settings.Provider, settings.Logger);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative));
        request.Content = new ByteArrayContent(body) { Headers = { ContentType = JsonContentType } };
        request.Options.Set(ResilienceHandler.ContextKey, context);
        try
        {
            var result = await SendAsync(request, context, query, parse, cancellationToken).ConfigureAwait(false);
            settings.Telemetry.CallCompleted(
                activity, settings.Logger, describe(result), context.Properties.GetValue(ResilienceHandler.AttemptsKey, 0), settings.TimeProvider.GetElapsedTime(started));
            return result;
        }
        catch (Exception exception)
        {
            settings.Telemetry.CallFailed(activity, settings.Logger, settings.Provider, exception, context.Properties.GetValue(ResilienceHandler.AttemptsKey, 0));
            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task<T> SendAsync<T>(
        HttpRequestMessage request, ResilienceContext context, IdentityMatchQuery query, Func<ProviderAnswer, T> parse, CancellationToken cancellationToken)
    {
        var provider = settings.Provider;
        IdentityMatchFailureDetails Details() => new(
            context.Properties.GetValue(ResilienceHandler.LastStatusKey, null), Attempts: context.Properties.GetValue(ResilienceHandler.AttemptsKey, 0));
        ProviderAnswer answer;
        try
        {
            using var response = await httpClient.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var reference = ReferenceHeaders.Select(name => response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null)
                .FirstOrDefault(value => !string.IsNullOrWhiteSpace(value));
            answer = new ProviderAnswer(response.StatusCode, body, reference, context.Properties.GetValue(ResilienceHandler.AttemptsKey, 0));
            if ((int)response.StatusCode is < 200 or >= 300)
            {
                throw ErrorFor(answer, ResiliencePipelines.GetRetryAfter(response, settings.TimeProvider), Secrets(request, query));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (BrokenCircuitException exception)
        {
            throw new IdentityMatchProviderUnavailableException(
                provider,
                $"{provider} is failing: its circuit breaker is open after repeated failures, so calls fail fast until it lets a trial call through.",
                Details(), exception, exception.RetryAfter);
        }
        catch (TimeoutRejectedException exception)
        {
            throw new IdentityMatchProviderUnavailableException(
                provider,
                string.Create(CultureInfo.InvariantCulture, $"{provider} did not answer in time (attempt timeout {settings.Resilience.AttemptTimeout}, total timeout {settings.Resilience.TotalTimeout}) after {Details().Attempts} attempt(s).{BilledHint}"),
                Details(), exception);
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or OperationCanceledException)
        {
            var neverSent = ResiliencePipelines.NeverSent(exception);
            throw new IdentityMatchProviderUnavailableException(
                provider,
                string.Create(CultureInfo.InvariantCulture, $"{provider} {(neverSent ? "could not be reached" : "dropped the connection before answering")} ({exception.GetType().Name}) after {Details().Attempts} attempt(s).{(neverSent ? string.Empty : BilledHint)}"),
                Details(), exception);
        }

        return parse(answer);
    }

    /// <summary>The secrets and personal fields that provider text must not repeat, including this call's Authorization header.</summary>
    private IEnumerable<string?> Secrets(HttpRequestMessage request, IdentityMatchQuery query) =>
        settings.Secrets.Concat(Redactor.ValuesOf(query)).Concat([request.Headers.Authorization?.ToString(), request.Headers.Authorization?.Parameter]);

    private IdentityMatchException ErrorFor(ProviderAnswer answer, TimeSpan? retryAfter, IEnumerable<string?> secrets)
    {
        var provider = settings.Provider;
        var (read, bodyReference) = ErrorBody.Read(answer.Body);
        var errors = read.Select(error => new IdentityMatchProviderError(Redactor.Redact(error.Code, secrets), Redactor.Redact(error.Description, secrets))).ToList();
        var details = new IdentityMatchFailureDetails(answer.StatusCode, errors.FirstOrDefault()?.Code, answer.ReferenceId ?? bodyReference, answer.Attempts, errors);
        var code = (int)answer.StatusCode;
        var said = errors.Count == 0 ? string.Empty : ": " + string.Join("; ", errors);
        return answer.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new IdentityMatchConfigurationException(
                provider, $"{provider} rejected the credentials (HTTP {code}){said}. {settings.CredentialsHint}", details),
            HttpStatusCode.PaymentRequired => new IdentityMatchConfigurationException(
                provider, $"{provider} refused the call because of the account's balance or plan (HTTP {code}){said}. Check the account with {provider}.", details),
            HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.UnprocessableEntity => new IdentityMatchInvalidQueryException(
                provider, $"{provider} rejected the query (HTTP {code}){said}.", details),
            _ when code >= 500 || answer.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests => new IdentityMatchProviderUnavailableException(
                provider,
                string.Create(CultureInfo.InvariantCulture, $"{provider} answered HTTP {code} after {answer.Attempts} attempt(s){(retryAfter is { } wait ? $", asking to retry after {wait.TotalSeconds:0.###} s" : string.Empty)}{said}.{(answer.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout ? BilledHint : string.Empty)}"),
                details, null, retryAfter),
            _ => new IdentityMatchInvalidResponseException(provider, $"{provider} answered with the unexpected HTTP status {code}{said}.", details),
        };
    }
}
