using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using IdentityReconciliation.Providers.Internal;

namespace IdentityReconciliation.Providers.Telesign;

/// <summary>
/// Authenticates one attempt: Basic, or the HMAC digest over the exact method, content type, body and path that are
/// sent, with a fresh <c>Date</c> and <c>x-ts-nonce</c> on every attempt.
/// </summary>
internal sealed class TelesignRequestAuthenticator : IRequestAuthenticator
{
    private readonly TelesignAuthenticationMethod _method;
    private readonly string _customerId;
    private readonly byte[] _hmacKey = [];
    private readonly string _basicCredentials = string.Empty;
    private readonly TimeProvider _timeProvider;
    private readonly Func<string> _nonceFactory;

    public TelesignRequestAuthenticator(TelesignOptions options, TimeProvider timeProvider, Func<string>? nonceFactory = null)
    {
        _method = options.AuthenticationMethod;
        _customerId = options.CustomerId;
        _timeProvider = timeProvider;
        _nonceFactory = nonceFactory ?? (static () => Guid.NewGuid().ToString());
        if (_method == TelesignAuthenticationMethod.Hmac)
        {
            _hmacKey = Convert.FromBase64String(options.ApiKey.Trim());
        }
        else
        {
            _basicCredentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.CustomerId}:{options.ApiKey}"));
        }
    }

    public async ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = null;
        if (_method == TelesignAuthenticationMethod.Basic)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", _basicCredentials);
            return;
        }

        var date = _timeProvider.GetUtcNow().ToString("r", CultureInfo.InvariantCulture);
        var nonce = _nonceFactory();
        var contentType = request.Content?.Headers.ContentType?.ToString() ?? string.Empty;
        var body = request.Content is null
            ? []
            : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var resource = request.RequestUri?.IsAbsoluteUri == true
            ? request.RequestUri.AbsolutePath
            : throw new InvalidOperationException("The Telesign request URI must be absolute before it is signed.");

        var signature = TelesignSignature.Compute(_hmacKey, request.Method.Method, contentType, date, nonce, body, resource);

        request.Headers.Remove("Date");
        request.Headers.Remove("x-ts-auth-method");
        request.Headers.Remove("x-ts-nonce");
        request.Headers.TryAddWithoutValidation("Date", date);
        request.Headers.TryAddWithoutValidation("x-ts-auth-method", TelesignSignature.AuthMethod);
        request.Headers.TryAddWithoutValidation("x-ts-nonce", nonce);
        request.Headers.TryAddWithoutValidation("Authorization", $"TSA {_customerId}:{signature}");
    }
}
