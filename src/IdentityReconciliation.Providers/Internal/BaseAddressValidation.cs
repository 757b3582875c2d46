using System.ComponentModel.DataAnnotations;

namespace IdentityReconciliation.Providers.Internal;

internal static class BaseAddressValidation
{
    /// <summary>An absolute <c>https</c> address, or <c>http</c> for a loopback host only.</summary>
    public static ValidationResult? Check(Uri? address, string memberName)
    {
        if (address is null)
        {
            return null; // [Required] reports it.
        }

        if (!address.IsAbsoluteUri)
        {
            return new ValidationResult($"{memberName} must be an absolute URI such as https://host/.", [memberName]);
        }

        if (address.Scheme == Uri.UriSchemeHttps)
        {
            return null;
        }

        if (address.Scheme == Uri.UriSchemeHttp && address.IsLoopback)
        {
            return null;
        }

        return new ValidationResult(
            $"{memberName} must use https; plain http is accepted only for a loopback host (localhost, 127.0.0.1, [::1]).",
            [memberName]);
    }

    /// <summary>The address with a trailing slash, so that relative request paths append to it.</summary>
    public static Uri WithTrailingSlash(Uri address) =>
        address.AbsoluteUri.EndsWith('/') ? address : new Uri(address.AbsoluteUri + "/");
}
