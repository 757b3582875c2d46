using System.Globalization;
using System.Net;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>A provider's HTTP answer, read in full.</summary>
internal sealed record ProviderHttpResponse(HttpStatusCode StatusCode, byte[] Body, TimeSpan? RetryAfter);

/// <summary>Sends a provider request and turns transport failures and HTTP error statuses into typed exceptions.</summary>
internal static class ProviderHttp
{
    public static async Task<ProviderHttpResponse> SendAsync<TClient>(
        HttpClient httpClient,
        HttpRequestMessage request,
        AttemptTracker tracker,
        ProviderRuntime<TClient> runtime,
        CancellationToken cancellationToken)
        where TClient : class
    {
        var provider = runtime.Provider;
        try
        {
            using var response = await httpClient.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken)
                .ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return new ProviderHttpResponse(
                response.StatusCode, body, IdentityMatchPipelineFactory.GetRetryAfter(response, runtime.TimeProvider));
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
                exception,
                tracker.LastStatusCode,
                null,
                tracker.Attempts,
                exception.RetryAfter);
        }
        catch (TimeoutRejectedException exception)
        {
            throw new IdentityMatchProviderUnavailableException(
                provider,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"{provider} did not answer in time (attempt timeout {runtime.Resilience.AttemptTimeout}, total timeout {runtime.Resilience.TotalTimeout}) after {tracker.Attempts} attempt(s)."),
                exception,
                tracker.LastStatusCode,
                null,
                tracker.Attempts);
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or OperationCanceledException)
        {
            throw new IdentityMatchProviderUnavailableException(
                provider,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"{provider} could not be reached or dropped the connection ({exception.GetType().Name}) after {tracker.Attempts} attempt(s)."),
                exception,
                tracker.LastStatusCode,
                null,
                tracker.Attempts);
        }
    }

    /// <summary>
    /// The exception for an HTTP error status, or <see langword="null"/> for a success status.
    /// </summary>
    /// <param name="provider">The provider's name.</param>
    /// <param name="response">The provider's answer.</param>
    /// <param name="attempts">How many HTTP requests were sent.</param>
    /// <param name="credentialsHint">What to check when the provider rejects the credentials.</param>
    public static IdentityMatchException? ErrorFor(string provider, ProviderHttpResponse response, int attempts, string credentialsHint)
    {
        var status = response.StatusCode;
        var code = (int)status;
        if (code is >= 200 and < 300)
        {
            return null;
        }

        var errors = ProviderJson.Errors(response.Body);
        var detail = errors.Count == 0 ? string.Empty : ": " + string.Join("; ", errors);

        return status switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new IdentityMatchConfigurationException(
                provider,
                string.Create(CultureInfo.InvariantCulture, $"{provider} rejected the credentials (HTTP {code}){detail}. {credentialsHint}"),
                status,
                errors.FirstOrDefault()?.Code,
                errors),
            HttpStatusCode.PaymentRequired => new IdentityMatchConfigurationException(
                provider,
                string.Create(CultureInfo.InvariantCulture, $"{provider} refused the call because of the account's balance or plan (HTTP {code}){detail}. Check the account with {provider}."),
                status,
                errors.FirstOrDefault()?.Code,
                errors),
            HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.UnprocessableEntity => new IdentityMatchInvalidQueryException(
                provider,
                string.Create(CultureInfo.InvariantCulture, $"{provider} rejected the query (HTTP {code}){detail}."),
                status,
                errors),
            _ when code >= 500 || IdentityMatchPipelineFactory.IsRetryableStatus(status) => new IdentityMatchProviderUnavailableException(
                provider,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"{provider} answered HTTP {code} after {attempts} attempt(s){RetryAfterText(response.RetryAfter)}{detail}."),
                null,
                status,
                errors.FirstOrDefault()?.Code,
                attempts,
                response.RetryAfter),
            _ => new IdentityMatchInvalidResponseException(
                provider,
                string.Create(CultureInfo.InvariantCulture, $"{provider} answered with the unexpected HTTP status {code}{detail}."),
                status,
                null),
        };
    }

    private static string RetryAfterText(TimeSpan? retryAfter) =>
        retryAfter is { } wait
            ? string.Create(CultureInfo.InvariantCulture, $", asking to retry after {wait.TotalSeconds:0.###} s")
            : string.Empty;
}
