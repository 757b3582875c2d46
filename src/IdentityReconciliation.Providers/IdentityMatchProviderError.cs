namespace IdentityReconciliation.Providers;

/// <summary>One error that a provider reported in an error body.</summary>
/// <param name="Code">The provider's error code, e.g. Telesign <c>-10001</c>, when it gives one.</param>
/// <param name="Description">The provider's description of the error.</param>
public sealed record IdentityMatchProviderError(string? Code, string? Description)
{
    /// <summary>Formats the error as <c>[code] description</c>.</summary>
    /// <returns>The formatted error.</returns>
    public override string ToString() => Code is null ? Description ?? string.Empty : $"[{Code}] {Description}";
}
