using System.Net.Http.Headers;
using IdentityReconciliation.Providers.Internal;

namespace IdentityReconciliation.Providers.Cm;

/// <summary>Sets <c>Authorization: Bearer …</c> on every attempt from the configured token source.</summary>
internal sealed class CmRequestAuthenticator : IRequestAuthenticator
{
    private readonly Func<CancellationToken, ValueTask<string>> _tokenSource;

    public CmRequestAuthenticator(Func<CancellationToken, ValueTask<string>> tokenSource)
    {
        _tokenSource = tokenSource;
    }

    public async ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await _tokenSource(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(token))
        {
            throw new IdentityMatchConfigurationException(
                CmIdentityMatchClient.ProviderName,
                "CmIdentityMatchOptions.TokenProvider returned an empty token.",
                null,
                null);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
    }
}
