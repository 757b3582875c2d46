namespace IdentityReconciliation.Providers.Internal;

/// <summary>Adds credentials to one HTTP attempt. Runs inside the retry loop, so every attempt is signed afresh.</summary>
internal interface IRequestAuthenticator
{
    ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken);
}
