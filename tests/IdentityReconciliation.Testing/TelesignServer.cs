using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace IdentityReconciliation.Testing;

/// <summary>
/// What a fake Telesign checks: the HMAC-SHA256 digest (recomputed here from the request as received, independently
/// of the library's signer), a fresh nonce, a recent date, or Basic credentials.
/// </summary>
public static class TelesignServer
{
    public const string CustomerId = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890";

    // 32 bytes "identity-reconciliation-test-key" in base64 (python3 -c "import base64;print(base64.b64encode(b'identity-reconciliation-test-key').decode())").
    public const string ApiKey = "aWRlbnRpdHktcmVjb25jaWxpYXRpb24tdGVzdC1rZXk=";

    public const string Phone = "+1 555-555-1212";

    public const string SuccessJson = """
        {"reference_id":"0123456789ABCDEF0123456789ABCDEF","phone_type":{"code":"2","description":"MOBILE"},
         "status":{"code":300,"description":"Transaction successfully completed"},
         "contact_match":{"first_name_score":100,"last_name_score":"85","address_score":-1,"date_of_birth_score":null,
                          "status":{"code":2800,"description":"Request successfully completed"}}}
        """;

    public static Func<HttpContext, Task> Success => context => Respond.Json(context, 200, SuccessJson);

    public static string StatusJson(int code) =>
        "{\"reference_id\":\"R" + code + "\",\"contact_match\":{\"first_name_score\":-1,\"status\":{\"code\":" + code +
        ",\"description\":\"status " + code + "\"}}}";

    public static Func<RecordedRequest, string?> Hmac(string customerId = CustomerId, string apiKey = ApiKey)
    {
        var key = Convert.FromBase64String(apiKey);
        var seenNonces = new ConcurrentDictionary<string, bool>();
        return request =>
        {
            var authorization = request.Header("Authorization") ?? string.Empty;
            var prefix = $"TSA {customerId}:";
            if (!authorization.StartsWith(prefix, StringComparison.Ordinal))
            {
                return "missing or wrong TSA customer id";
            }

            if (request.Header("x-ts-auth-method") != "HMAC-SHA256")
            {
                return "x-ts-auth-method must be HMAC-SHA256";
            }

            var nonce = request.Header("x-ts-nonce");
            if (string.IsNullOrEmpty(nonce) || !seenNonces.TryAdd(nonce, true))
            {
                return "missing or replayed nonce";
            }

            var date = request.Header("Date");
            if (date is null ||
                !DateTimeOffset.TryParseExact(date, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var sent) ||
                (sent - DateTimeOffset.UtcNow).Duration() > TimeSpan.FromMinutes(15))
            {
                return "missing or stale Date";
            }

            var contentType = request.Header("Content-Type") ?? string.Empty;
            var text = new StringBuilder()
                .Append(request.Method).Append('\n')
                .Append(contentType).Append('\n')
                .Append(date).Append('\n')
                .Append("x-ts-auth-method:HMAC-SHA256").Append('\n')
                .Append("x-ts-nonce:").Append(nonce);
            if (contentType.Length > 0 && request.Body.Length > 0)
            {
                text.Append('\n').Append(Encoding.UTF8.GetString(request.Body));
            }

            text.Append('\n').Append(request.Path);
            var expected = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(text.ToString())));
            return authorization[prefix.Length..] == expected ? null : "signature mismatch";
        };
    }

    public static Func<RecordedRequest, string?> Basic(string customerId = CustomerId, string apiKey = ApiKey)
    {
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{customerId}:{apiKey}"));
        return request => request.Header("Authorization") == expected ? null : "wrong basic credentials";
    }
}
