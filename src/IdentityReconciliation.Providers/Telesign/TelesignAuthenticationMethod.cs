namespace IdentityReconciliation.Providers.Telesign;

/// <summary>How requests to Telesign are authenticated.</summary>
public enum TelesignAuthenticationMethod
{
    /// <summary>
    /// Telesign's HMAC-SHA256 digest (<c>Authorization: TSA {customerId}:{signature}</c>), as Telesign's official SDKs
    /// sign. The API key never travels; each attempt carries a fresh date and nonce. The default.
    /// </summary>
    Hmac = 0,

    /// <summary>HTTP Basic (<c>customerId:apiKey</c>). The API key travels with every request (over TLS).</summary>
    Basic = 1,
}
