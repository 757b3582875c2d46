using System.Security.Cryptography;
using System.Text;

namespace IdentityReconciliation.Providers.Telesign;

/// <summary>
/// Telesign's HMAC-SHA256 request signature, as Telesign's official SDKs compute it: the base64 HMAC-SHA256, keyed
/// with the base64-decoded API key, of
/// <c>METHOD\nContent-Type\nDate\nx-ts-auth-method:HMAC-SHA256\nx-ts-nonce:NONCE[\nBODY]\n/resource/path</c>,
/// where the body line is present only when both the content type and the body are non-empty.
/// </summary>
internal static class TelesignSignature
{
    public const string AuthMethod = "HMAC-SHA256";

    public static string Compute(
        ReadOnlySpan<byte> key,
        string method,
        string contentType,
        string date,
        string nonce,
        ReadOnlySpan<byte> body,
        string resource)
    {
        var head = Encoding.UTF8.GetBytes(
            $"{method}\n{contentType}\n{date}\nx-ts-auth-method:{AuthMethod}\nx-ts-nonce:{nonce}");
        var includeBody = contentType.Length > 0 && !body.IsEmpty;
        var tail = Encoding.UTF8.GetBytes("\n" + resource);

        var message = new byte[head.Length + (includeBody ? 1 + body.Length : 0) + tail.Length];
        head.CopyTo(message, 0);
        var offset = head.Length;
        if (includeBody)
        {
            message[offset++] = (byte)'\n';
            body.CopyTo(message.AsSpan(offset));
            offset += body.Length;
        }

        tail.CopyTo(message, offset);
        return Convert.ToBase64String(HMACSHA256.HashData(key, message));
    }
}
