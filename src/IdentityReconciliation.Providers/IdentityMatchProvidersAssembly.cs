namespace IdentityReconciliation.Providers;

/// <summary>
/// Marker for the IdentityReconciliation.Providers assembly. The provider clients arrive in a later version.
/// </summary>
public static class IdentityMatchProvidersAssembly
{
    /// <summary>The name of this package, used for its logging category, activity source and meter.</summary>
    public const string Name = "IdentityReconciliation.Providers";
}
