namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Returned by <see cref="IdentityReconciliationServiceCollectionExtensions.AddIdentityReconciliation(IServiceCollection)"/>
/// to choose the contact store: <c>.UseSqlite(...)</c>, <c>.UseContactStore&lt;TStore&gt;()</c>, or a store package's own extension.
/// </summary>
public interface IIdentityReconciliationBuilder
{
    /// <summary>The service collection the services are registered in.</summary>
    IServiceCollection Services { get; }
}

internal sealed class IdentityReconciliationBuilder(IServiceCollection services) : IIdentityReconciliationBuilder
{
    public IServiceCollection Services { get; } = services;
}
