namespace IdentityReconciliation.Providers.Cm;

/// <summary>Which answer CM.com Identity Match gives (<c>serviceType</c>).</summary>
public enum CmServiceType
{
    /// <summary>A score from 0 to 100 per field (<c>score</c>). The default.</summary>
    Score = 0,

    /// <summary><c>true</c> or <c>false</c> per field (<c>match</c>); the common result maps them to 100 and 0.</summary>
    Match = 1,
}
