using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace IdentityReconciliation.Providers.Telesign;

/// <summary>
/// Signs every attempt, inside the resilience handler: Basic, or the HMAC digest over the exact method, content type,
/// body and path that are sent, with a fresh <c>Date</c> and <c>x-ts-nonce</c> each time.
/// </summary>
internal sealed class TelesignSigningHandler : DelegatingHandler
{
    private readonly TelesignContactMatchOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Func<string> _nonceFactory;

    public TelesignSigningHandler(TelesignContactMatchOptions options, TimeProvider timeProvider, Func<string>? nonceFactory = null)
    {
        _options = options;
        _timeProvider = timeProvider;
        _nonceFactory = nonceFactory ?? (static () => Guid.NewGuid().ToString());
    }

    /// <summary>The values that must never appear in provider text we repeat: the key and the credentials in their sent forms.</summary>
    public static IReadOnlyList<string?> Secrets(TelesignContactMatchOptions options) =>
        [options.ApiKey, options.CustomerId, BasicCredentials(options)];

    internal async ValueTask SignAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        foreach (var header in (string[])["Date", "x-ts-auth-method", "x-ts-nonce", "Authorization"])
        {
            request.Headers.Remove(header);
        }

        if (_options.AuthenticationMethod == TelesignAuthenticationMethod.Basic)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", BasicCredentials(_options));
            return;
        }

        var date = _timeProvider.GetUtcNow().ToString("r", CultureInfo.InvariantCulture);
        var nonce = _nonceFactory();
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var signature = TelesignSignature.Compute(
            Convert.FromBase64String(_options.ApiKey.Trim()),
            request.Method.Method,
            request.Content?.Headers.ContentType?.ToString() ?? string.Empty,
            date,
            nonce,
            body,
            request.RequestUri!.AbsolutePath);
        request.Headers.TryAddWithoutValidation("Date", date);
        request.Headers.TryAddWithoutValidation("x-ts-auth-method", TelesignSignature.AuthMethod);
        request.Headers.TryAddWithoutValidation("x-ts-nonce", nonce);
        request.Headers.TryAddWithoutValidation("Authorization", $"TSA {_options.CustomerId}:{signature}");
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await SignAsync(request, cancellationToken).ConfigureAwait(false);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private static string BasicCredentials(TelesignContactMatchOptions options) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.CustomerId}:{options.ApiKey}"));
}
