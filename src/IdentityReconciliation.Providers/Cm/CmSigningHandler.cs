using System.Net.Http.Headers;
using IdentityReconciliation.Providers.Internal;
using Polly;

namespace IdentityReconciliation.Providers.Cm;

/// <summary>
/// Sets <c>Authorization: Bearer …</c> on every attempt from the configured token source, inside the resilience
/// handler, then marks the rate-limit turn started: the last step before the attempt is handed to the transport.
/// </summary>
internal sealed class CmSigningHandler(Func<CancellationToken, ValueTask<string>> tokenSource) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await tokenSource(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(token))
        {
            throw new IdentityMatchConfigurationException(
                CmIdentityMatchClient.ProviderName, "CmIdentityMatchOptions.TokenProvider returned an empty token.", null);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
        if (request.Options.TryGetValue(ResilienceHandler.ContextKey, out var context) &&
            context.Properties.TryGetValue(CmRateLimit.TurnKey, out var turn))
        {
            turn?.MarkStarted();
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
